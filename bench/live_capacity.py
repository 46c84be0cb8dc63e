"""Live capacity: how many 10 fps cameras one vision process analyses in full, on this machine.

Every camera is a live source (``LiveSource``, latest frame only, wall-clock timestamps) whose
capture plays PETS 2009 S2.L1 in a loop at ``--fps`` frames per second of wall-clock time, each
camera from its own starting frame; all cameras share one ``AnalysisEngine`` (the platform's
engine: one detector, frames of all cameras batched), exactly as the vision service runs them.
For each camera count N the run lasts ``--seconds`` after a short warm-up, and reports the
analysed fps of the slowest and the mean camera, the frames dropped (a slow analysis skips
frames rather than queueing them), and the latency from capture to result at the start and the
end of the window (a growing latency would be a growing queue).

A camera count *holds* when every camera is analysed at >= ``--hold`` fps (95 % of ``--fps``)
with no growing latency. The detector configurations of ``--configs`` run side by side at each N,
alternately, so a busy machine slows them alike: ``gated`` (the default settings: motion gating and
the adaptive detection rate on), ``stride1`` (gating, every frame detected: ``detect_stride=1``)
and ``ungated`` (``motion_gating=False``, the pipeline before gating).

    python bench/live_capacity.py                          # N = 4 6 8 10 12, 12 s each
    python bench/live_capacity.py --cameras 8 10 --seconds 20 --json bench/results/live.json
    python bench/live_capacity.py --cameras 2 4 6 --configs gated stride1
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from footfall.services.vision.camera_lines import CameraLine, LineSet
from footfall.services.vision.camera_session import CameraSession
from footfall.services.vision.detection import DetectorSettings, load_detector
from footfall.services.vision.engine import AnalysisEngine
from footfall.services.vision.pipeline import FrameResult
from footfall.services.vision.sources import LiveSource
from footfall.services.vision.specs import parse_line_spec
from footfall.services.vision.stream_worker import StreamOptions, StreamWorker

DOOR = "door:240,0,240,360"


class PacedCapture:
    """An OpenCV-like capture playing a video file in a loop at ``fps`` frames per wall-clock second."""

    def __init__(self, path: Path, fps: float, start_frame: int) -> None:
        import cv2

        self._cv2 = cv2
        self._cap = cv2.VideoCapture(str(path))
        self._cap.set(cv2.CAP_PROP_POS_FRAMES, start_frame)
        self._period = 1.0 / fps
        self._next = time.monotonic()

    def isOpened(self) -> bool:
        return bool(self._cap.isOpened())

    def read(self) -> tuple[bool, Any]:
        delay = self._next - time.monotonic()
        if delay > 0:
            time.sleep(delay)  # a camera delivers its next frame when it is taken, not sooner
        self._next = max(self._next + self._period, time.monotonic() - self._period)
        ok, image = self._cap.read()
        if not ok:
            self._cap.set(self._cv2.CAP_PROP_POS_FRAMES, 0)
            ok, image = self._cap.read()
        return ok, image

    def get(self, prop_id: int) -> float:
        return float(self._cap.get(prop_id))

    def release(self) -> None:
        self._cap.release()


@dataclass
class CameraStats:
    results: list[tuple[float, float]] = field(default_factory=list)  # (wall time of result, capture time)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on_result(self, result: FrameResult, analysed: bool) -> None:
        if analysed:
            with self.lock:
                self.results.append((time.time(), result.timestamp))


async def run_cameras(detector: Any, video: Path, cameras: int, fps: float, warmup: float, seconds: float) -> dict[str, Any]:
    """``cameras`` live cameras on one engine for ``warmup + seconds``; stats over the last ``seconds``."""
    engine = AnalysisEngine(lambda: detector, workers=detector.settings.workers)
    door = parse_line_spec(DOOR)
    stats = [CameraStats() for _ in range(cameras)]
    workers: list[StreamWorker] = []
    sessions: list[CameraSession] = []
    for i in range(cameras):
        session = CameraSession(
            org="bench", camera_id=f"cam{i}", session_id=f"s{i}", source=f"pets#{i}", kind="url",
            lines=LineSet((CameraLine(door),)), zones=(), engine=engine, publisher=None,
            on_update=lambda _u: None, time_mode="wall", on_result=stats[i].on_result,
        )
        start = (i * 97) % 795

        def open_source(on_status: Any, start: int = start) -> LiveSource:
            return LiveSource(
                f"pets#{start}", on_status=on_status, opener=lambda _t, _s: PacedCapture(video, fps, start)
            )

        sessions.append(session)
        workers.append(StreamWorker(session, open_source, StreamOptions()))
    for w in workers:
        w.start()
    t0 = time.time()
    await asyncio.sleep(warmup + seconds)  # the cameras run on their own; nothing to wait for but the clock
    t_end = time.time()
    for w in workers:
        await w.stop("bench over")
    await engine.close()
    window = (t0 + warmup, t_end)
    per_camera = []
    for s, session in zip(stats, sessions):
        with s.lock:
            inside = [(done, ts) for done, ts in s.results if window[0] <= done <= window[1]]
        n = len(inside)
        third = max(1, n // 3)
        latency_start = statistics.mean(done - ts for done, ts in inside[:third]) if inside else float("nan")
        latency_end = statistics.mean(done - ts for done, ts in inside[-third:]) if inside else float("nan")
        per_camera.append({
            "fps": n / (window[1] - window[0]),
            "latency_start_s": latency_start,
            "latency_end_s": latency_end,
            "dropped": session.frames_skipped,
        })
    fpss = [c["fps"] for c in per_camera]
    return {
        "cameras": cameras,
        "min_fps": round(min(fpss), 2),
        "mean_fps": round(statistics.mean(fpss), 2),
        "total_fps": round(sum(fpss), 1),
        "latency_start_s": round(max(c["latency_start_s"] for c in per_camera), 3),
        "latency_end_s": round(max(c["latency_end_s"] for c in per_camera), 3),
        "dropped": sum(c["dropped"] for c in per_camera),
    }


CONFIGS = {
    "gated": DetectorSettings(),
    "stride1": DetectorSettings(detect_stride=1),
    "ungated": DetectorSettings(motion_gating=False),
}


def holds(r: dict[str, Any], hold: float) -> bool:
    # Latency that grows by half a second over the window is a queue building up.
    return r["min_fps"] >= hold and r["latency_end_s"] <= r["latency_start_s"] + 0.5


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--data", type=Path, default=Path(os.environ.get("FOOTFALL_TEST_DATA") or REPO_ROOT.parent / "shared" / "data")
    )
    parser.add_argument("--cameras", type=int, nargs="+", default=[4, 6, 8, 10, 12])
    parser.add_argument("--fps", type=float, default=10.0, help="frames per second each camera delivers")
    parser.add_argument("--hold", type=float, default=9.5, help="analysed fps every camera must keep")
    parser.add_argument("--seconds", type=float, default=12.0, help="measured window per camera count")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument("--configs", nargs="+", choices=sorted(CONFIGS), default=["gated", "ungated"])
    args = parser.parse_args(argv)

    video = args.data / "video" / "pets2009_s2l1_480x360.avi"
    if not video.is_file():
        print(f"PETS video not found under {args.data}", file=sys.stderr)
        return 2
    detectors = {name: load_detector(CONFIGS[name], frame_size=(480, 360)) for name in args.configs}
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in detectors}
    print(f"{'cameras':>8} {'config':>8} {'min fps':>8} {'mean':>6} {'total':>6} {'latency':>15} {'dropped':>8}  holds")
    for n in args.cameras:
        for name, detector in detectors.items():
            r = asyncio.run(run_cameras(detector, video, n, args.fps, args.warmup, args.seconds))
            r["holds"] = holds(r, args.hold)
            results[name].append(r)
            print(
                f"{n:>8} {name:>8} {r['min_fps']:>8} {r['mean_fps']:>6} {r['total_fps']:>6} "
                f"{r['latency_start_s']:>6.2f} -> {r['latency_end_s']:<6.2f} {r['dropped']:>8}  {r['holds']}",
                flush=True,
            )
    summary = {
        name: max((r["cameras"] for r in rs if r["holds"]), default=0) for name, rs in results.items()
    }
    print(f"largest camera count that holds {args.hold} fps: " + ", ".join(f"{k} {v}" for k, v in summary.items()))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"results": results, "holds": summary, "fps": args.fps}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
