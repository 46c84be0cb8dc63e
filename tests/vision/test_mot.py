"""MOT writer/reader and the evaluation helpers built on them."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from footfall.services.vision.evaluation import (
    CrossingRecord,
    crossings_from_mot,
    match_crossings,
    mot_scores,
    tracking_area,
)
from footfall.services.vision.lines import LineZone
from footfall.services.vision.mot import MotWriter, read_mot
from tests.vision.helpers import foot_track, require_data


def test_writer_uses_one_based_frames_and_xywh(tmp_path: Path) -> None:
    path = tmp_path / "out" / "tracks.txt"
    with MotWriter(path) as writer:
        writer.write(0, [foot_track(3, 50, 100, height=40, width=20, confidence=0.75)])
        writer.write_box(9, 4, (1.0, 2.0, 11.5, 22.0), 0.5)
    lines = path.read_text().splitlines()
    assert lines == [
        "1,3,40.00,60.00,20.00,40.00,0.7500,-1,-1,-1",
        "10,4,1.00,2.00,10.50,20.00,0.5000,-1,-1,-1",
    ]
    rows = read_mot(path)
    assert rows.shape == (2, 7)
    assert rows[1].tolist() == [10, 4, 1.0, 2.0, 10.5, 20.0, 0.5]


def test_writer_to_stream_and_empty_read() -> None:
    buf = io.StringIO()
    writer = MotWriter(buf)
    writer.write(4, [])
    writer.close()
    assert buf.getvalue() == "" and writer.rows == 0
    assert read_mot(io.StringIO("")).shape == (0, 7)


def _gt() -> np.ndarray:
    # Two people walking right for 20 frames, 10 px per frame, one at y=100 one at y=200.
    rows = []
    for f in range(1, 21):
        rows.append([f, 1, 10 * f, 50, 20, 50, 1])
        rows.append([f, 2, 10 * f, 150, 20, 50, 1])
    return np.array(rows, dtype=float)


def test_mot_scores_perfect_and_with_an_id_switch() -> None:
    gt = _gt()
    assert mot_scores(gt, gt).mota == pytest.approx(1.0)
    swapped = gt.copy()
    swapped[(swapped[:, 0] > 10) & (swapped[:, 1] == 1), 1] = 7  # new id half way
    scores = mot_scores(gt, swapped)
    assert scores.id_switches == 1
    assert scores.mota == pytest.approx(1 - 1 / 40)
    assert scores.idf1 < 1.0


def test_mot_scores_ignore_unmatched_boxes_outside_the_area() -> None:
    gt = _gt()
    extra = np.array([[f, 9, 400, 0, 10, 20, 1] for f in range(1, 21)], dtype=float)  # far away, feet at y=20
    hyp = np.vstack([gt, extra])
    assert mot_scores(gt, hyp).false_positives == 20
    area = tracking_area(gt)
    assert mot_scores(gt, hyp, area=area).false_positives == 0
    assert mot_scores(gt, hyp, area=area).mota == pytest.approx(1.0)


def test_crossings_from_mot_and_matching() -> None:
    gt = _gt()
    line = LineZone(
        "door", (105, 0), (105, 150)
    )  # only reaches person 1's feet (y=100), not person 2's (y=200)
    truth = crossings_from_mot(gt, line)
    assert [(t.track_id, t.direction) for t in truth] == [(1, "in")]
    assert truth[0].frame == 10  # foot x = 10 f + 10 passes 105 between frames 9 and 10

    predicted = [CrossingRecord(13, 5, "in"), CrossingRecord(40, 6, "in"), CrossingRecord(10, 7, "out")]
    result = match_crossings(truth, predicted, tolerance=10)
    assert result.summary() == {"matched": 1, "false": 2, "missed": 0}
    assert match_crossings(truth, [CrossingRecord(21, 5, "in")], tolerance=10).summary() == {
        "matched": 0,
        "false": 1,
        "missed": 1,
    }


def _motmetrics_oracle(readme: Path, sequence: str) -> dict[str, float]:
    """The py-motmetrics row for `sequence` in its README's MOTChallenge comparison table (the last table)."""
    header = "IDF1 IDP IDR Rcll Prcn GT MT PT ML FP FN IDs FM MOTA MOTP".split()
    rows = [line.split() for line in readme.read_text().splitlines() if line.startswith(sequence + " ")]
    values = rows[-1][1:]
    assert len(values) == len(header), rows[-1]
    return {name: float(v.rstrip("%")) / (100 if v.endswith("%") else 1) for name, v in zip(header, values)}


@pytest.mark.data
@pytest.mark.parametrize("sequence", ["TUD-Campus", "TUD-Stadtmitte"])
def test_mot_scores_match_py_motmetrics_on_the_tud_sequences(sequence: str) -> None:
    """Our IoU matrix, frame loop and score names against py-motmetrics' published results (CEM tracker
    on MOT15 training data, /work/shared/data/mot_metrics, MIT): a wrong IoU, threshold or metric mapping
    moves at least one of these."""
    data = require_data(f"mot_metrics/{sequence}/gt.txt", f"mot_metrics/{sequence}/test.txt") / "mot_metrics"
    oracle = _motmetrics_oracle(data / "EXPECTED_METRICS_from_Readme.md", sequence)
    scores = mot_scores(read_mot(data / sequence / "gt.txt"), read_mot(data / sequence / "test.txt"),
                        iou_threshold=0.5)
    assert scores.false_positives == oracle["FP"]
    assert scores.misses == oracle["FN"]
    assert scores.id_switches == oracle["IDs"]
    # The table rounds to 0.1 % (and MOTP, py-motmetrics' distance, to 0.001).
    assert scores.mota == pytest.approx(oracle["MOTA"], abs=5e-4)
    assert scores.idf1 == pytest.approx(oracle["IDF1"], abs=5e-4)
    assert scores.recall == pytest.approx(oracle["Rcll"], abs=5e-4)
    assert scores.precision == pytest.approx(oracle["Prcn"], abs=5e-4)
    assert 1.0 - scores.motp_iou == pytest.approx(oracle["MOTP"], abs=5e-4)
    assert scores.gt_boxes == oracle["FN"] + round(oracle["Rcll"] * scores.gt_boxes)
