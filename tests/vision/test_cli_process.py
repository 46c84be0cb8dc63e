"""``footfall process``: argument handling, human and JSON output, MOT file; ``process_video`` basics."""

from __future__ import annotations

import argparse
import io
import json
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import pytest

from footfall.services.vision import cli_process
from footfall.services.vision.offline import process_video
from footfall.services.vision.specs import parse_line_spec
from footfall.services.vision.zones import PolygonZone
from tests.vision.helpers import require_data


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli_process.add_arguments(parser)
    return parser.parse_args(argv)


def test_bad_line_spec_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert cli_process.run(parse([str(tmp_path / "v.mp4"), "--line", "door:1,2,3"])) == 2
    assert "4 comma-separated" in capsys.readouterr().err


def test_duplicate_line_names_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    args = parse(["v.mp4", "--line", "a:0,0,1,1", "--line", "a:0,0,2,2"])
    assert cli_process.run(args) == 2
    assert "unique" in capsys.readouterr().err


def test_bad_zones_file_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    zones = tmp_path / "z.json"
    zones.write_text('[{"name": "a"}]')
    assert cli_process.run(parse(["v.mp4", "--zones", str(zones)])) == 2
    assert "points" in capsys.readouterr().err


def test_missing_or_broken_video_exits_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert cli_process.run(parse([str(tmp_path / "missing.mp4"), "--no-progress"])) == 1
    assert "not found" in capsys.readouterr().err
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x01garbage" * 1000)
    assert cli_process.run(parse([str(broken), "--no-progress"])) == 1
    assert "cannot" in capsys.readouterr().err


def test_input_size_argument() -> None:
    assert parse(["v.mp4", "--input-size", "512x384"]).input_size == (512, 384)
    with pytest.raises(SystemExit):
        parse(["v.mp4", "--input-size", "big"])


class _Dets:
    def __init__(self, xyxy: np.ndarray, conf: np.ndarray) -> None:
        self.xyxy, self.confidence = xyxy, conf

    def __len__(self) -> int:
        return len(self.confidence)


class Walker:
    def detect(self, frame: np.ndarray) -> _Dets:
        i = int(frame[0, 0, 0])
        x = 20.0 + 12 * i
        return _Dets(np.array([[x, 100, x + 30, 180]], np.float32), np.array([0.9], np.float32))

    def detect_batch(self, frames: Sequence[np.ndarray]) -> list[_Dets]:
        return [self.detect(f) for f in frames]


@pytest.fixture()
def walker_video(tmp_path: Path) -> Path:
    path = tmp_path / "walk.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (480, 360))
    for i in range(36):
        frame = np.zeros((360, 480, 3), np.uint8)
        frame[:8, :8] = i  # MJPG keeps a flat 8x8 block exact enough
        writer.write(frame)
    writer.release()
    return path


def test_process_video_with_a_scripted_detector(walker_video: Path, tmp_path: Path) -> None:
    tracks = tmp_path / "tracks.txt"
    zone = PolygonZone("middle", ((200, 0), (300, 0), (300, 360), (200, 360)))
    summary = process_video(
        walker_video,
        [parse_line_spec("door:240,0,240,360")],
        [zone],
        progress=False,
        tracks_out=tracks,
        detector=Walker(),
    )
    assert summary.frames == 36 and summary.video_fps == pytest.approx(10.0)
    assert summary.lines == {"door": {"in": 1, "out": 0}}
    assert summary.journeys == 1 and summary.peak_occupancy == 1
    assert summary.zones["middle"].visits == 1
    assert summary.zones["middle"].mean_dwell_seconds == pytest.approx(0.8, abs=0.2)
    rows = [line.split(",") for line in tracks.read_text().splitlines()]
    assert rows[0][0] == "1" and all(len(r) == 10 and r[7:] == ["-1", "-1", "-1"] for r in rows)
    as_json = summary.to_dict(events=True)
    json.dumps(as_json)
    assert as_json["crossings"][0]["direction"] == "in"


@pytest.mark.data
def test_cli_on_a_real_clip_json_and_human(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("inference")
    data = require_data("video/pets2009_s2l1_480x360.avi")
    clip = tmp_path / "clip.avi"
    cap = cv2.VideoCapture(str(data / "video/pets2009_s2l1_480x360.avi"))
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (480, 360))
    for _ in range(40):
        ok, frame = cap.read()
        assert ok
        writer.write(frame)
    writer.release()
    cap.release()
    zones = tmp_path / "zones.json"
    zones.write_text(json.dumps([{"name": "right", "points": [[300, 0], [480, 0], [480, 360], [300, 360]]}]))
    tracks = tmp_path / "t.txt"

    out = io.StringIO()
    args = parse(
        [
            str(clip),
            "--line",
            "door:240,0,240,360",
            "--zones",
            str(zones),
            "--tracks-out",
            str(tracks),
            "--json",
            "--no-progress",
        ]
    )
    assert cli_process.run(args, out=out) == 0
    result = json.loads(out.getvalue())
    assert result["frames"] == 40
    assert set(result["lines"]["door"]) == {"in", "out"}
    assert result["zones"]["right"]["peak_occupancy"] >= 1
    assert result["peak_occupancy"] >= 3 and result["journeys"] >= 3
    assert tracks.read_text().startswith("1,")

    out = io.StringIO()
    assert cli_process.run(parse([str(clip), "--line", "door:240,0,240,360", "--no-progress"]), out=out) == 0
    text = out.getvalue()
    assert "line door:" in text and "peak occupancy" in text and "journeys" in text
