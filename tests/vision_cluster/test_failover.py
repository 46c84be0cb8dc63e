"""Two vision workers share four cameras; one dies; its cameras resume on the other within 15 s.

Workers A and B each run two cameras streaming the PETS video. Every camera's stream, tracks and live view
are reached through either worker's gRPC server. B is then killed (nothing more published, its leases left to
expire). A takes B's cameras over, resuming each file after the last frame whose events B published, so no
crossing is counted twice: every crossing of the resumed run is at a later frame than any B published, and the
resumed run goes on counting.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from nats.aio.msg import Msg

from footfall.v1 import common_pb2, events_pb2, vision_pb2
from tests.vision_cluster.conftest import Cluster

pytestmark = pytest.mark.data

DOOR = vision_pb2.CountingLine(name="door", start=common_pb2.Point(x=240, y=0), end=common_pb2.Point(x=240, y=360),
                               direction=common_pb2.LINE_DIRECTION_BIDIRECTIONAL)
TAKEOVER_S = 15.0


@dataclass
class Crossings:
    """Every crossing published for the organisation: event id -> (camera, session, frame)."""

    seen: dict[str, tuple[str, str, int]] = field(default_factory=dict)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def of(self, camera: str, session: str) -> list[int]:
        return sorted(f for c, s, f in self.seen.values() if c == camera and s == session)

    async def wait(self, predicate: Any, timeout: float) -> None:
        async def loop() -> None:
            while not predicate():
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(loop(), timeout)


async def collect(cluster: Cluster) -> Crossings:
    crossings = Crossings()

    async def on_message(msg: Msg) -> None:
        envelope = events_pb2.EventEnvelope.FromString(msg.data)
        payload = events_pb2.LineCrossed()
        envelope.payload.Unpack(payload)
        session = payload.track_id.rsplit("-", 1)[0]  # track ids are <session>-<tracker id>
        crossings.seen[envelope.event_id] = (payload.camera_id, session, payload.frame_index)
        crossings.changed.set()

    await cluster.bus.nc.subscribe(f"{cluster.bus.prefix}.{cluster.org}.vision.crossing", cb=on_message)
    await cluster.bus.nc.flush()
    return crossings


async def first_frame(cluster: Cluster, stub: Any, camera: str) -> vision_pb2.WatchFramesResponse:
    call = stub.WatchFrames(vision_pb2.WatchFramesRequest(camera_id=camera), metadata=cluster.md)
    try:
        return await asyncio.wait_for(call.read(), 30)
    finally:
        call.cancel()


async def test_a_dead_workers_cameras_resume_on_another_without_double_counting(
    cluster: Cluster, detector: Any, second_detector: Any, pets_video: Path
) -> None:
    crossings = await collect(cluster)
    a = await cluster.worker("worker-a", detector)
    b = await cluster.worker("worker-b", second_detector)
    tag = uuid.uuid4().hex[:6]
    cameras = [f"DOOR{i}_{tag}" for i in range(4)]
    owner = {c: ("worker-a" if i < 2 else "worker-b") for i, c in enumerate(cameras)}
    b_alive = True
    try:
        for i, camera in enumerate(cameras):
            stub = a.stub if owner[camera] == "worker-a" else b.stub
            await stub.StartStream(vision_pb2.StartStreamRequest(
                camera_id=camera, path=str(pets_video), lines=[DOOR], realtime=True, max_fps=4,
                session_id=f"run{i}{tag}"), metadata=cluster.md)

        # Every camera's stream, tracks and live view, through either worker.
        for stub in (a.stub, b.stub):
            for camera in cameras:
                stream = await cluster.wait_stream(
                    stub, camera, lambda s: s.status == vision_pb2.STREAM_STATUS_CONNECTED and s.frames > 0, 60)
                assert stream.worker == owner[camera] and [x.name for x in stream.lines] == ["door"]
                tracks = await stub.ListTracks(vision_pb2.ListTracksRequest(camera_id=camera), metadata=cluster.md)
                assert tracks.camera_id == camera and tracks.HasField("timestamp")  # its latest analysed frame
                frame = await first_frame(cluster, stub, camera)
                assert frame.jpeg[:2] == b"\xff\xd8" and (frame.frame_width, frame.frame_height) == (480, 360)
            listed = (await stub.ListStreams(vision_pb2.ListStreamsRequest(), metadata=cluster.md)).streams
            assert {(s.camera_id, s.worker) for s in listed} == set(owner.items())

        # B publishes crossings on both its cameras, then dies.
        b_cameras = cameras[2:]
        await crossings.wait(lambda: all(crossings.of(c, f"run{i + 2}{tag}") for i, c in enumerate(b_cameras)), 180)
        loop = asyncio.get_running_loop()
        await b.crash()
        b_alive = False
        died = loop.time()

        # A runs them within 15 s, as the next generation of each stream.
        for i, camera in enumerate(b_cameras):
            resumed = f"run{i + 2}{tag}-1"
            left = TAKEOVER_S - (loop.time() - died)
            assert left > 0
            stream = await cluster.wait_stream(
                a.stub, camera, lambda s, r=resumed: s.worker == "worker-a" and s.session_id == r
                and s.status == vision_pb2.STREAM_STATUS_CONNECTED and s.frames > 0, left)
            assert [x.name for x in stream.lines] == ["door"]
        assert loop.time() - died <= TAKEOVER_S
        for i, camera in enumerate(cameras[:2]):  # A's own cameras ran on undisturbed
            stream = await cluster.wait_stream(a.stub, camera, lambda s: True, 5)
            assert stream.session_id == f"run{i}{tag}" and stream.status == vision_pb2.STREAM_STATUS_CONNECTED

        # Counting goes on, and never again over a frame B had published.
        def resumed_counts() -> bool:
            return any(crossings.of(c, f"run{i + 2}{tag}-1") for i, c in enumerate(b_cameras))

        await crossings.wait(resumed_counts, 180)
        for i, camera in enumerate(b_cameras):
            published = crossings.of(camera, f"run{i + 2}{tag}")
            later = crossings.of(camera, f"run{i + 2}{tag}-1")
            assert not later or later[0] > published[-1], (camera, published, later)
        # Through the survivor, every camera is still reachable.
        for camera in cameras:
            tracks = await a.stub.ListTracks(vision_pb2.ListTracksRequest(camera_id=camera), metadata=cluster.md)
            assert tracks.camera_id == camera
    finally:
        await a.stop()
        if b_alive:
            await b.stop()
