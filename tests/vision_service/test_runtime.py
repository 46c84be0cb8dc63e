"""`start_vision` as the platform assembles it: next to occupancy on one gRPC server, with `--demo`."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import pytest

from footfall.v1 import occupancy_pb2, occupancy_pb2_grpc, vision_pb2, vision_pb2_grpc
from footfall.services.core.config import Settings
from footfall.services.core.db import Database
from footfall.services.core.events import EventBus
from footfall.services.core.grpc import GrpcServer
from footfall.services.vision.demo import DEMO_CAMERA, DemoFeed, find_sample_video, local_video_path
from footfall.services.vision.runtime import start_vision
from tests.conftest import AuthKit, unique_org

pytestmark = pytest.mark.data


async def test_demo_registers_camera_with_occupancy_and_streams(
    event_bus: EventBus, database: Database, pets_video: Path, tmp_path: Path, auth: AuthKit
) -> None:
    from footfall.services.occupancy.runtime import start_occupancy

    # The demo looks in <data_dir>/samples/vtest.avi when opencv-doc is not installed.
    sample = local_video_path(tmp_path)
    sample.parent.mkdir(parents=True)
    sample.symlink_to(pets_video)
    org = unique_org("demo")
    settings = Settings(data_dir=tmp_path, default_org=org, demo=True, nats_stream=event_bus.stream,
                        nats_subject_prefix=event_bus.prefix, grpc_host="127.0.0.1", grpc_port=0,
                        **auth.settings_overrides())
    server = GrpcServer(settings.grpc_host, settings.grpc_port, authenticator=auth.authenticator)
    occupancy = await start_occupancy(settings, database, event_bus, server, schedule=False)
    loop = asyncio.get_running_loop()
    began = loop.time()
    vision = await start_vision(settings, database, event_bus, server)
    port = await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        assert vision.demo is not None
        await asyncio.wait_for(vision.demo.started.wait(), 60)
        md = auth.metadata(org)
        occ = occupancy_pb2_grpc.OccupancyServiceStub(channel)
        cameras = (await occ.ListCameras(occupancy_pb2.ListCamerasRequest(), metadata=md)).cameras
        demo = {c.camera_id: c for c in cameras}[DEMO_CAMERA]
        assert (demo.resolution_width, demo.resolution_height) == (480, 360)
        lines = (await occ.ListLines(occupancy_pb2.ListLinesRequest(camera_id=demo.id), metadata=md)).lines
        assert [(x.line_name, x.x1, x.y1, x.x2, x.y2) for x in lines] == [("door", 240, 0, 240, 360)]

        stub = vision_pb2_grpc.VisionServiceStub(channel)
        deadline = loop.time() + 60
        while True:
            stream = (await stub.GetStream(vision_pb2.GetStreamRequest(camera_id=DEMO_CAMERA), metadata=md)).stream
            if stream.frames >= 25:
                break
            assert loop.time() < deadline, stream
            await asyncio.sleep(0.2)
        assert stream.status == vision_pb2.STREAM_STATUS_CONNECTED
        assert [(x.line_id, x.name) for x in stream.lines] == [(lines[0].id, "door")]
        # Real time: never ahead of the video's 10 fps, however fast the detector goes (a bound a slow machine
        # cannot fail; how fast it keeps up is bench/'s business).
        elapsed = loop.time() - began
        assert stream.frames <= 10 * elapsed + 2, (stream.frames, elapsed)
        assert stream.fps > 0
    finally:
        await channel.close()
        await vision.stop()
        await occupancy.stop()
        await server.stop(0)
    assert (await vision.service.get_stream(org, DEMO_CAMERA)).state.value == "stopped"


async def test_demo_without_video_logs_how_to_get_it(
    event_bus: EventBus, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from footfall.services.vision.service import VisionService

    service = VisionService(event_bus, lambda: None)
    feed = DemoFeed(service, unique_org(), tmp_path, lambda: None, standard_path=tmp_path / "absent.avi",
                    download=False)
    assert find_sample_video(tmp_path, tmp_path / "absent.avi") is None
    feed.start()
    await asyncio.wait_for(feed._task, 10)  # type: ignore[arg-type]
    assert not feed.started.is_set()
    assert "apt-get download opencv-doc" in caplog.text and "without the demo camera" in caplog.text
    assert await service.list_streams(feed.org) == ([], "")
