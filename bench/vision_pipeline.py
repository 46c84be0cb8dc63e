"""Vision pipeline benchmark: the reference pipeline and ours, side by side, on PETS 2009 S2.L1.

Reference: NanoDet at 416x320 and confidence 0.5, ``trackers.ByteTrackTracker`` with its
defaults (at the video's frame rate), ``supervision.LineZone`` triggered by the foot point,
run frame by frame in one thread.
Ours: :func:`footfall.services.vision.offline.process_video` with its default settings (motion
gating and the adaptive detection rate on); ``--ungated`` adds a column, ours with
``motion_gating=False``, to show what gating itself brings, and ``--stride1`` one with gating but
``detect_stride=1`` (every frame detected), to show what the adaptive detection rate brings.
Besides wall-clock fps, each run reports the process CPU time per frame (all threads), which a
busy machine disturbs less than wall-clock time.

Both are timed on the same machine, alternately (``--repeats`` rounds, median fps), so a busy
machine slows both alike. Accuracy (counts, crossing events within +-10 frames of the
ground-truth csv, MOTA/IDF1 at IoU 0.5 via py-motmetrics, restricted to the ground truth's
labelled area) is computed once per pipeline, with extra lines whose true crossings are derived
from the ground-truth boxes.

    python bench/vision_pipeline.py                 # data from ../shared/data
    python bench/vision_pipeline.py --repeats 5 --json bench/results/vision.json

Needs ``supervision`` (dev dependency) and ``motmetrics``.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from footfall.services.vision.evaluation import (
    CrossingRecord,
    crossings_from_mot,
    match_crossings,
    mot_scores,
    read_crossings_csv,
    records_from_events,
    tracking_area,
)
from footfall.services.vision.lines import LineZone
from footfall.services.vision.mot import MotWriter, read_mot
from footfall.services.vision.specs import parse_line_spec

DOOR = "door:240,0,240,360"
OTHER_LINES = (
    "x150:150,0,150,360",
    "x330:330,0,330,360",
    "y180:0,180,480,180",
    "y250:0,250,480,250",
    "diagonal:0,0,480,360",
    "diagonal2:100,360,420,40",
)
REFERENCE_INPUT = (416, 320)
REFERENCE_CONFIDENCE = 0.5


@dataclass
class Run:
    frames: int
    seconds: float
    counts: dict[str, dict[str, int]]
    crossings: dict[str, list[CrossingRecord]]
    mot: np.ndarray
    cpu_seconds: float = 0.0

    @property
    def fps(self) -> float:
        return self.frames / self.seconds

    @property
    def cpu_ms_per_frame(self) -> float:
        return 1000.0 * self.cpu_seconds / max(1, self.frames)


def run_reference(video: Path, lines: list[LineZone], detector: Any) -> Run:
    """NanoDet + trackers.ByteTrackTracker + supervision.LineZone, sequential."""
    import cv2
    import supervision as sv
    from trackers import ByteTrackTracker

    cap = cv2.VideoCapture(str(video))
    fps = float(cap.get(cv2.CAP_PROP_FPS) or 25.0)
    tracker = ByteTrackTracker(frame_rate=fps)
    zones = {
        line.name: sv.LineZone(
            start=sv.Point(*line.start),
            end=sv.Point(*line.end),
            triggering_anchors=[sv.Position.BOTTOM_CENTER],
        )
        for line in lines
    }
    crossings: dict[str, list[CrossingRecord]] = {name: [] for name in zones}
    out = io.StringIO()
    writer = MotWriter(out)
    frames = 0
    start, cpu = time.perf_counter(), time.process_time()
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        det = detector.detect(frame)
        tracked = tracker.update(
            sv.Detections(xyxy=det.xyxy, confidence=det.confidence, class_id=det.class_id)
        )
        tracked = tracked[tracked.tracker_id >= 0]
        for name, zone in zones.items():
            crossed_in, crossed_out = zone.trigger(tracked)
            for i in np.flatnonzero(crossed_in):
                crossings[name].append(CrossingRecord(frames + 1, int(tracked.tracker_id[i]), "in"))
            for i in np.flatnonzero(crossed_out):
                crossings[name].append(CrossingRecord(frames + 1, int(tracked.tracker_id[i]), "out"))
        for box, tid, conf in zip(tracked.xyxy, tracked.tracker_id, tracked.confidence):
            writer.write_box(frames, int(tid) + 1, tuple(box), float(conf))
        frames += 1
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    cap.release()
    out.seek(0)
    counts = {name: {"in": z.in_count, "out": z.out_count} for name, z in zones.items()}
    return Run(frames, seconds, counts, crossings, read_mot(out), cpu)


def run_ours(video: Path, lines: list[LineZone], detector: Any) -> Run:
    from footfall.services.vision.offline import process_video

    out = io.StringIO()
    start, cpu = time.perf_counter(), time.process_time()
    summary = process_video(video, lines, progress=False, tracks_out=out, detector=detector)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    out.seek(0)
    crossings = {
        line.name: records_from_events([c for c in summary.crossings if c.line == line.name])
        for line in lines
    }
    return Run(summary.frames, seconds, summary.lines, crossings, read_mot(out), cpu)


def accuracy(
    run: Run, gt: np.ndarray, truth: dict[str, list[CrossingRecord]], area: np.ndarray
) -> dict[str, Any]:
    scores = mot_scores(gt, run.mot, area=area)
    lines = {}
    for name, true in truth.items():
        m = match_crossings(true, run.crossings.get(name, []), tolerance=10)
        lines[name] = {
            **run.counts[name],
            **m.summary(),
            "true_in": sum(t.direction == "in" for t in true),
            "true_out": sum(t.direction == "out" for t in true),
        }
    return {
        "mota": round(scores.mota, 4),
        "idf1": round(scores.idf1, 4),
        "id_switches": scores.id_switches,
        "false_positives": scores.false_positives,
        "misses": scores.misses,
        "lines": lines,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=Path(os.environ.get("FOOTFALL_TEST_DATA") or REPO_ROOT.parent / "shared" / "data"),
    )
    parser.add_argument("--repeats", type=int, default=3, help="timing rounds (median fps is reported)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument("--input-size", help="our detector input WxH (default: our default)")
    parser.add_argument("--skip-accuracy", action="store_true", help="timing only")
    parser.add_argument("--ungated", action="store_true", help="also run ours without motion gating")
    parser.add_argument("--stride1", action="store_true", help="also run ours detecting every frame (detect_stride=1)")
    args = parser.parse_args(argv)

    from footfall.inference import load_person_detector
    from footfall.services.vision.detection import DetectorSettings, load_detector

    video = args.data / "video" / "pets2009_s2l1_480x360.avi"
    pets = args.data / "pets2009_s2l1"
    if not video.is_file():
        print(f"PETS video not found under {args.data}", file=sys.stderr)
        return 2
    gt = read_mot(pets / "gt_mot_480x360.txt")
    area = tracking_area(gt)
    door = parse_line_spec(DOOR)
    others = [parse_line_spec(spec) for spec in OTHER_LINES]
    truth = {"door": read_crossings_csv(str(pets / "gt_line_x384_crossings.csv"))}
    truth.update({line.name: crossings_from_mot(gt, line, (480, 360)) for line in others})

    ref_detector = load_person_detector(input_size=REFERENCE_INPUT, confidence=REFERENCE_CONFIDENCE)
    settings = DetectorSettings()
    if args.input_size:
        w, h = (int(v) for v in args.input_size.lower().split("x"))
        settings = DetectorSettings(input_size=(w, h))
    our_detector = load_detector(settings, frame_size=(480, 360))
    pipelines: list[tuple[str, Any, Any]] = [
        ("reference", run_reference, ref_detector),
        ("ours", run_ours, our_detector),
    ]
    if args.ungated:
        ungated = load_detector(dataclasses.replace(settings, motion_gating=False), frame_size=(480, 360))
        pipelines.append(("ungated", run_ours, ungated))
    if args.stride1:
        every = load_detector(dataclasses.replace(settings, detect_stride=1), frame_size=(480, 360))
        pipelines.append(("stride1", run_ours, every))

    # Timing: door line only, alternating, median of the rounds.
    fps: dict[str, list[float]] = {name: [] for name, _, _ in pipelines}
    cpu: dict[str, list[float]] = {name: [] for name, _, _ in pipelines}
    timed: dict[str, Run] = {}
    for _ in range(max(1, args.repeats)):
        for name, runner, det in pipelines:
            timed[name] = runner(video, [door], det)
            fps[name].append(timed[name].fps)
            cpu[name].append(timed[name].cpu_ms_per_frame)
    # Accuracy: all lines (and the tracks of the timed, door-only, configuration).
    results: dict[str, Any] = {}
    for name, runner, det in pipelines:
        results[name] = {
            "fps_median": round(statistics.median(fps[name]), 1),
            "fps_runs": [round(f, 1) for f in fps[name]],
            "cpu_ms_per_frame": round(statistics.median(cpu[name]), 1),
        }
        if not args.skip_accuracy:
            results[name].update(accuracy(runner(video, [door, *others], det), gt, truth, area))
            door_only = mot_scores(gt, timed[name].mot, area=area)
            results[name]["timed_mota"], results[name]["timed_idf1"] = round(door_only.mota, 4), round(door_only.idf1, 4)
    # Each round ran both pipelines back to back, so a round's ratio compares like with like.
    round_ratios = [o / r for o, r in zip(fps["ours"], fps["reference"], strict=True)]
    ratio = statistics.median(round_ratios)
    if args.ungated:
        ungated_ratio = statistics.median(u / r for u, r in zip(fps["ungated"], fps["reference"], strict=True))
        results["ungated_ratio"] = round(ungated_ratio, 2)
    cpu_ratio = results["reference"]["cpu_ms_per_frame"] / max(1e-9, results["ours"]["cpu_ms_per_frame"])
    results["cpu_ratio"] = round(cpu_ratio, 2)
    if args.skip_accuracy:
        print(", ".join(f"fps {name} {results[name]['fps_runs']}" for name, _, _ in pipelines))
        print(", ".join(f"cpu ms/frame {name} {results[name]['cpu_ms_per_frame']}" for name, _, _ in pipelines)
              + f" (reference / ours {cpu_ratio:.2f}x)")
        print(f"ratio per round {[round(r, 2) for r in round_ratios]}, median {ratio:.2f}")
        if args.ungated:
            print(f"ungated ratio (median) {results['ungated_ratio']:.2f}")
        return 0
    results["ratio"] = round(ratio, 2)
    results["round_ratios"] = [round(r, 2) for r in round_ratios]
    results["settings"] = {
        "ours": {
            "detector": {
                "input_size": list(our_detector.view((480, 360)).input_size),
                "confidence": settings.confidence,
                "workers": settings.workers,
                "motion_gating": settings.motion_gating,
            }
        },
        "reference": {"input_size": REFERENCE_INPUT, "confidence": REFERENCE_CONFIDENCE},
    }

    names = [name for name, _, _ in pipelines]
    print(f"{'':12}" + "".join(f"{name:>12}" for name in names))
    print(
        f"{'fps':12}" + "".join(f"{results[name]['fps_median']:>12}" for name in names)
        + f"   ratio {ratio:.2f}x (median of the rounds' ratios {results['round_ratios']})"
        + (f", ungated {results['ungated_ratio']:.2f}x" if args.ungated else "")
    )
    print(f"{'cpu ms/frame':12}" + "".join(f"{results[name]['cpu_ms_per_frame']:>12}" for name in names)
          + f"   reference / ours {cpu_ratio:.2f}x")
    for key in ("mota", "idf1", "id_switches", "timed_mota", "timed_idf1"):
        print(f"{key:12}" + "".join(f"{results[name][key]:>12}" for name in names))
    for name in truth:
        r, o = results["reference"]["lines"][name], results["ours"]["lines"][name]
        true = f"truth {r['true_in']}/{r['true_out']}"
        print(
            f"{name:12}{r['in']:>5}/{r['out']:<3} m{r['matched']} f{r['false']} x{r['missed']}   "
            f"{o['in']:>3}/{o['out']:<3} m{o['matched']} f{o['false']} x{o['missed']}   {true}"
        )
    for extra in [n for n in names if n not in ("reference", "ours")]:
        for name in truth:
            u = results[extra]["lines"][name]
            print(f"{extra + ' ' + name:20}{u['in']:>3}/{u['out']:<3} m{u['matched']} f{u['false']} x{u['missed']}")
    print("(in/out counts; m matched, f false, x missed crossing events within +-10 frames)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
