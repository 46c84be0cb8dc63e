"""Video -> vision -> NATS -> occupancy: live counts equal what the vision pipeline counted.

Both services run in this process over one NATS stream, as in `footfall up`: the camera and its line are created in the
occupancy service, the vision stream is started without lines (so it reads them from occupancy, ids
included), and occupancy consumes the crossings from JetStream.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import grpc
import pytest

from footfall.v1 import common_pb2, occupancy_pb2, occupancy_pb2_grpc, vision_pb2
from footfall.services.core.config import Settings
from footfall.services.core.db import Database
from footfall.services.core.events import EventBus
from footfall.services.core.grpc import GrpcServer
from footfall.services.occupancy.consumer import CROSSING_DURABLE
from footfall.services.vision.occupancy_lines import OccupancyLines
from tests.vision_service.conftest import new_camera, start_vision_stack, stop_vision_stack

pytestmark = pytest.mark.data


async def test_video_to_occupancy_counts(
    event_bus: EventBus, database: Database, detector: Any, pets_video: Path, tmp_path: Path
) -> None:
    from footfall.services.occupancy.runtime import start_occupancy

    port_box: dict[str, int] = {}
    v = await start_vision_stack(event_bus, detector,
                                 lines_provider=OccupancyLines(lambda: f"127.0.0.1:{port_box['port']}"))
    settings = Settings(data_dir=tmp_path, default_org=v.org, nats_stream=event_bus.stream,
                        nats_subject_prefix=event_bus.prefix)
    # Occupancy on its own gRPC server in this process (vision's is already serving), over the same bus.
    occ_server = GrpcServer("127.0.0.1", 0, authenticator=v.auth.authenticator)
    occupancy = await start_occupancy(settings, database, event_bus, occ_server, schedule=False)
    port_box["port"] = await occ_server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port_box['port']}")
    occ = occupancy_pb2_grpc.OccupancyServiceStub(channel)
    try:
        key = new_camera("E2E")
        camera = (await occ.CreateCamera(occupancy_pb2.CreateCameraRequest(
            camera_id=key, camera_name="E2E door", camera_type="bidirectional", resolution_width=480,
            resolution_height=360), metadata=v.md)).camera
        request = occupancy_pb2.CreateLineRequest(
            camera_id=camera.id, line_name="door", x1=240, y1=0, x2=240, y2=360,
            direction=common_pb2.LINE_DIRECTION_BIDIRECTIONAL, confidence_threshold=0.0,
        )
        line = (await occ.CreateLine(request, metadata=v.md)).line

        started = (await v.stub.StartStream(vision_pb2.StartStreamRequest(
            camera_id=key, path=str(pets_video), max_frames=400), metadata=v.md)).stream
        assert [(x.line_id, x.name) for x in started.lines] == [(line.id, "door")]
        stream = await v.wait_finished(key)
        counts = {c.line_name: c for c in stream.line_counts}["door"]
        assert counts.line_id == line.id and counts.in_count + counts.out_count >= 6

        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while True:
            live = (await occ.GetLiveOccupancy(occupancy_pb2.GetLiveOccupancyRequest(camera_id=camera.id),
                                               metadata=v.md)).occupancy
            if (live.total_entries, live.total_exits) == (counts.in_count, counts.out_count):
                break
            assert loop.time() < deadline, (live, counts)
            await asyncio.sleep(0.2)
        assert live.current_occupancy >= 0  # occupancy clamps at 0 (an exit first raises negative_count)
        # Nothing more arrives later (no double counting on redelivery): once the consumer has every stored
        # crossing delivered and acked, nothing is left to redeliver.
        deadline = loop.time() + 30
        while True:
            info = await event_bus.js.consumer_info(event_bus.stream, CROSSING_DURABLE)
            if info.num_pending == 0 and info.num_ack_pending == 0:
                break
            assert loop.time() < deadline, info
            await asyncio.sleep(0.05)
        again = (await occ.GetLiveOccupancy(occupancy_pb2.GetLiveOccupancyRequest(camera_id=camera.id),
                                            metadata=v.md)).occupancy
        assert (again.total_entries, again.total_exits) == (counts.in_count, counts.out_count)
    finally:
        await channel.close()
        await stop_vision_stack(v)
        await occupancy.stop()
        await occ_server.stop(0)
