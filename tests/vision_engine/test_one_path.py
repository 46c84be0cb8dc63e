"""One detection path: a live stream of the PETS 2009 video and ``footfall process`` on the same file give the
same tracks (ids and boxes at every frame) and the same line counts.

The stream runs on the real service stack (NATS JetStream, gRPC StartStream, ``VisionService`` and its
``StreamWorker`` on a file source read at full rate with back-pressure) with the detector the platform
builds from its settings; ``footfall process`` runs as a user runs it, in a subprocess.
"""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from footfall.v1 import common_pb2, events_pb2, vision_pb2
from footfall.services.core.config import Settings
from footfall.services.core.events import EventBus, unpack
from footfall.services.core.metrics import REGISTRY
from footfall.services.vision.detection import DetectorSettings, detector_loader
from footfall.services.vision.mot import MotWriter
from footfall.services.vision.camera_session import TrackUpdate
from tests.conftest import AuthKit
from tests.vision_service.conftest import new_camera, start_vision_stack, stop_vision_stack

pytestmark = pytest.mark.data

VIDEO = "video/pets2009_s2l1_480x360.avi"
FRAMES = 795
LINES = {  # name -> (x1, y1, x2, y2): the counting oracle's door and a diagonal across the scene
    "door": (240, 0, 240, 360),
    "diagonal": (0, 0, 480, 360),
}


@dataclass
class CliRun:
    summary: dict
    tracks: str


@pytest.fixture(scope="module")
def cli_run(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> CliRun:
    tracks = tmp_path_factory.mktemp("cli") / "tracks.txt"
    argv = [sys.executable, "-m", "footfall.deploy.cli", "process", str(shared_data / VIDEO), "--json", "--events",
            "--tracks-out", str(tracks)]
    for name, (x1, y1, x2, y2) in LINES.items():
        argv += ["--line", f"{name}:{x1},{y1},{x2},{y2}"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no progress bar without a terminal, no warnings
    return CliRun(json.loads(done.stdout), tracks.read_text())


def mot_text(updates: dict[int, TrackUpdate]) -> str:
    out = io.StringIO()
    writer = MotWriter(out)
    for index in sorted(updates):
        writer.write(index, updates[index].tracks)
    return out.getvalue()


async def test_a_live_stream_and_footfall_process_agree(
    cli_run: CliRun, event_bus: EventBus, auth: AuthKit, shared_data: Path
) -> None:
    settings = DetectorSettings.from_settings(Settings())  # what `footfall serve vision` runs
    v = await start_vision_stack(event_bus, None, load_detector=detector_loader(settings), auth=auth,
                                 detect_workers=settings.workers)
    try:
        camera = new_camera("ONE")
        lines = [
            vision_pb2.CountingLine(name=name, start=common_pb2.Point(x=x1, y=y1), end=common_pb2.Point(x=x2, y=y2))
            for name, (x1, y1, x2, y2) in LINES.items()
        ]
        await v.stub.StartStream(
            vision_pb2.StartStreamRequest(camera_id=camera, path=str(shared_data / VIDEO), lines=lines),
            metadata=v.md,
        )
        updates: dict[int, TrackUpdate] = {}  # the first update of each frame (the last one repeats when it closes)

        async def watch() -> None:
            async for update in v.service.watch_tracks(v.org, camera):
                updates.setdefault(update.frame_index, update)

        watcher = asyncio.create_task(watch())
        stream = await v.wait_finished(camera, timeout=900)
        assert stream.status == vision_pb2.STREAM_STATUS_STOPPED, stream.status_detail

        async def all_frames_seen() -> None:
            while len(updates) < FRAMES:
                await asyncio.sleep(0.05)

        await asyncio.wait_for(all_frames_seen(), 30)
        watcher.cancel()

        # Every frame of the file analysed, none dropped, in both paths.
        assert stream.frames == cli_run.summary["frames"] == FRAMES
        assert stream.frames_skipped == 0 and not cli_run.summary["truncated"]
        assert sorted(updates) == list(range(FRAMES))
        labels = {"org": v.org, "camera": camera}
        assert REGISTRY.get_sample_value("footfall_frames_analysed_total", labels) == FRAMES
        assert REGISTRY.get_sample_value("footfall_frames_dropped_total", labels) in (None, 0.0)
        assert REGISTRY.get_sample_value("footfall_detector_latency_seconds_count", {"backend": "onnx"}) >= FRAMES

        # The same tracks: ids and boxes at every frame, as MOT text (2 decimals).
        live_tracks = mot_text(updates)
        assert live_tracks.count("\n") > 3000  # ~8 people in view most of the time
        assert live_tracks == cli_run.tracks

        # The same counts, and the same crossings (frame, direction, track) on the bus as in the CLI's JSON.
        counts = {c.line_name: {"in": c.in_count, "out": c.out_count} for c in stream.line_counts}
        assert counts == cli_run.summary["lines"]
        assert sum(counts["door"].values()) >= 25  # ground truth: 14 in, 18 out
        await v.service.publisher.flush()
        total = sum(sum(c.values()) for c in counts.values())
        await v.events.wait_for(lambda e: len(e.of("crossing")) >= total, 30)
        on_bus = sorted(
            (c.line_name, c.frame_index + 1, common_pb2.CrossingDirection.Name(c.direction).rsplit("_", 1)[1].lower(),
             int(c.track_id.rsplit("-", 1)[1]))
            for c in (unpack(env, events_pb2.LineCrossed) for env in v.events.of("crossing"))
        )
        from_cli = sorted(
            (c["line"], c["frame_index"], c["direction"], c["track_id"]) for c in cli_run.summary["crossings"]
        )
        assert on_bus == from_cli
    finally:
        await stop_vision_stack(v)
