"""A line edited in the occupancy service reaches the running stream within a second, and the counts of the
lines that did not change carry on."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import grpc
import pytest

from footfall.v1 import common_pb2, occupancy_pb2, occupancy_pb2_grpc, vision_pb2
from footfall.services.core.config import Settings
from footfall.services.core.grpc import GrpcServer
from footfall.services.vision.occupancy_lines import OccupancyLines
from tests.vision_cluster.conftest import Cluster
from tests.vision_service.conftest import new_camera

pytestmark = pytest.mark.data

EDIT_REACHES_STREAM_S = 1.0


def counts(stream: vision_pb2.Stream) -> dict[str, tuple[int, int]]:
    return {c.line_name: (c.in_count, c.out_count) for c in stream.line_counts}


async def test_line_edits_reach_the_running_stream_within_a_second(
    cluster: Cluster, detector: Any, pets_video: Path, tmp_path: Path
) -> None:
    from footfall.services.occupancy.runtime import start_occupancy

    settings = Settings(data_dir=tmp_path, default_org=cluster.org, nats_stream=cluster.bus.stream,
                        nats_subject_prefix=cluster.bus.prefix)
    occ_server = GrpcServer("127.0.0.1", 0, authenticator=cluster.auth.authenticator)
    occupancy = await start_occupancy(settings, cluster.database, cluster.bus, occ_server, schedule=False)
    occ_port = await occ_server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{occ_port}")
    occ = occupancy_pb2_grpc.OccupancyServiceStub(channel)
    worker = await cluster.worker("lines", detector, lines_provider=OccupancyLines(lambda: f"127.0.0.1:{occ_port}"))
    loop = asyncio.get_running_loop()
    try:
        key = new_camera("EDIT")
        camera = (await occ.CreateCamera(occupancy_pb2.CreateCameraRequest(
            camera_id=key, camera_name="door", camera_type="bidirectional", resolution_width=960,
            resolution_height=720), metadata=cluster.md)).camera
        door = (await occ.CreateLine(occupancy_pb2.CreateLineRequest(
            camera_id=camera.id, line_name="door", x1=480, y1=0, x2=480, y2=720,
            direction=common_pb2.LINE_DIRECTION_BIDIRECTIONAL), metadata=cluster.md)).line
        # One lookup by key finds the camera (no paging through every camera).
        found = await OccupancyLines(lambda: f"127.0.0.1:{occ_port}").find_camera(cluster.org, key)
        assert found is not None and found.id == camera.id

        await worker.stub.StartStream(vision_pb2.StartStreamRequest(
            camera_id=key, path=str(pets_video), loop=True, realtime=True, max_fps=4), metadata=cluster.md)
        # Occupancy's lines, scaled from the camera's 960x720 to the video's 480x360.
        stream = await cluster.wait_stream(
            worker.stub, key, lambda s: s.frames > 0 and s.status == vision_pb2.STREAM_STATUS_CONNECTED, 60)
        assert [(x.line_id, x.name, x.start.x) for x in stream.lines] == [(door.id, "door", 240.0)]
        stream = await cluster.wait_stream(worker.stub, key, lambda s: sum(counts(s).get("door", (0, 0))) > 0, 180)
        before = counts(stream)["door"]

        # A new line: the stream counts on it within a second; the door's counts carry on.
        aisle = (await occ.CreateLine(occupancy_pb2.CreateLineRequest(
            camera_id=camera.id, line_name="aisle", x1=0, y1=400, x2=960, y2=400,
            direction=common_pb2.LINE_DIRECTION_ENTRY), metadata=cluster.md)).line
        edited = loop.time()
        stream = await cluster.wait_stream(
            worker.stub, key, lambda s: "aisle" in [x.name for x in s.lines], EDIT_REACHES_STREAM_S)
        assert loop.time() - edited <= EDIT_REACHES_STREAM_S
        assert {(x.line_id, x.name) for x in stream.lines} == {(door.id, "door"), (aisle.id, "aisle")}
        after = counts(stream)["door"]
        assert after[0] >= before[0] and after[1] >= before[1], (before, after)

        # A line switched off leaves the stream within a second.
        await occ.UpdateLine(occupancy_pb2.UpdateLineRequest(id=aisle.id, is_active=False), metadata=cluster.md)
        edited = loop.time()
        stream = await cluster.wait_stream(
            worker.stub, key, lambda s: [x.name for x in s.lines] == ["door"], EDIT_REACHES_STREAM_S)
        assert loop.time() - edited <= EDIT_REACHES_STREAM_S
        assert counts(stream)["door"][0] >= after[0]
    finally:
        await worker.stop()
        await channel.close()
        await occupancy.stop()
        await occ_server.stop(0)
