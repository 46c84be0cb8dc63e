"""Streams are configuration: they survive their worker, show their true state, and StopStream forgets them."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import grpc
import pytest

from footfall.v1 import common_pb2, vision_pb2
from footfall.services.vision.cluster import WAITING
from footfall.services.vision.stream_store import StreamStore
from tests.vision_cluster.conftest import Cluster

pytestmark = pytest.mark.data

DOOR = vision_pb2.CountingLine(name="door", start=common_pb2.Point(x=240, y=0), end=common_pb2.Point(x=240, y=360),
                               direction=common_pb2.LINE_DIRECTION_ENTRY)
ZONE = vision_pb2.Zone(name="hall", points=[common_pb2.Point(x=0, y=0), common_pb2.Point(x=200, y=0),
                                            common_pb2.Point(x=200, y=200)])


def running(session_id: str, worker: str) -> Any:
    return lambda s: (s.status == vision_pb2.STREAM_STATUS_CONNECTED and s.frames > 0 and s.session_id == session_id
                      and s.worker == worker)


async def test_a_new_worker_on_the_same_database_resumes_the_stored_streams(
    cluster: Cluster, detector: Any, pets_video: Path
) -> None:
    camera, session = f"GATE_{uuid.uuid4().hex[:6].upper()}", f"s{uuid.uuid4().hex[:8]}"
    first = await cluster.worker("first", detector)
    try:
        await first.stub.StartStream(vision_pb2.StartStreamRequest(
            camera_id=camera, path=str(pets_video), lines=[DOOR], zones=[ZONE], loop=True, realtime=True, max_fps=4,
            session_id=session), metadata=cluster.md)
        await cluster.wait_stream(first.stub, camera, running(session, "first"), 60)
        # The stored (actual) state follows the running stream at the worker's next lease renewal.
        store = StreamStore(cluster.database, cluster.bus.prefix)
        deadline = asyncio.get_running_loop().time() + 30
        while (stored := await store.get(cluster.org, camera)) is None or stored.state != "connected":
            assert asyncio.get_running_loop().time() < deadline, stored
            await asyncio.sleep(0.1)
        assert stored.owner == "first"
    finally:
        await first.stop()  # a restart: the process ends, the stored stream stays
    stored = await StreamStore(cluster.database, cluster.bus.prefix).get(cluster.org, camera)
    assert stored is not None and (stored.state, stored.owner) == ("unowned", "")

    second = await cluster.worker("second", detector)
    try:
        stream = await cluster.wait_stream(second.stub, camera, running(f"{session}-1", "second"), 30)
        assert [(x.name, x.direction) for x in stream.lines] == [("door", common_pb2.LINE_DIRECTION_ENTRY)]
        assert [z.name for z in stream.zones] == ["hall"] and stream.source == str(pets_video)

        # StopStream removes the desired state: nothing is started again.
        stopped = (await second.stub.StopStream(vision_pb2.StopStreamRequest(camera_id=camera),
                                                metadata=cluster.md)).stream
        assert stopped.status == vision_pb2.STREAM_STATUS_STOPPED
        assert await StreamStore(cluster.database, cluster.bus.prefix).get(cluster.org, camera) is None
    finally:
        await second.stop()
    third = await cluster.worker("third", detector)
    try:
        await third.cluster._claim()  # one round of looking for stored streams, done now
        listed = (await third.stub.ListStreams(vision_pb2.ListStreamsRequest(), metadata=cluster.md)).streams
        assert camera not in [s.camera_id for s in listed]
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await third.stub.GetStream(vision_pb2.GetStreamRequest(camera_id=camera), metadata=cluster.md)
        assert err.value.code() == grpc.StatusCode.NOT_FOUND
    finally:
        await third.stop()


async def test_a_stream_nobody_runs_shows_as_waiting_until_a_worker_takes_it(
    cluster: Cluster, detector: Any, pets_video: Path
) -> None:
    camera, session = f"GATE_{uuid.uuid4().hex[:6].upper()}", f"s{uuid.uuid4().hex[:8]}"
    first = await cluster.worker("first", detector)
    alive = True
    try:
        await first.stub.StartStream(vision_pb2.StartStreamRequest(
            camera_id=camera, path=str(pets_video), lines=[DOOR], loop=True, realtime=True, max_fps=4,
            session_id=session), metadata=cluster.md)
        await cluster.wait_stream(first.stub, camera, running(session, "first"), 60)
        await first.crash()
        alive = False
    finally:
        if alive:
            await first.stop()
    # Seen from a worker that serves no cameras (another organisation's pool): stored, waiting for a worker.
    observer = await cluster.worker("observer", detector)
    observer.cluster.orgs = frozenset()
    try:
        waiting = await cluster.wait_stream(
            observer.stub, camera, lambda s: s.status == vision_pb2.STREAM_STATUS_RECONNECTING, 15)
        assert (waiting.status_detail, waiting.worker, waiting.session_id) == (WAITING, "", session)
        observer.cluster.orgs = None
        await cluster.wait_stream(observer.stub, camera, running(f"{session}-1", "observer"), 30)
    finally:
        await observer.stop()


async def test_a_stream_that_ended_just_before_its_worker_stopped_is_not_started_again(
    cluster: Cluster, detector: Any, pets_video: Path
) -> None:
    # The race of a `footfall up` stopped right after a max_frames stream ended: the worker stops before its
    # next round has noted the end. The stored stream must say stopped, or the next start counts frames again.
    camera, session = f"GATE_{uuid.uuid4().hex[:6].upper()}", f"s{uuid.uuid4().hex[:8]}"
    first = await cluster.worker("first", detector)
    try:
        await first.stub.StartStream(vision_pb2.StartStreamRequest(
            camera_id=camera, path=str(pets_video), lines=[DOOR], max_frames=20, session_id=session),
            metadata=cluster.md)
        await first.cluster._quiet()  # no more rounds: the end is not noted before the stop
        ended = await cluster.wait_stream(first.stub, camera,
                                          lambda s: s.status == vision_pb2.STREAM_STATUS_STOPPED, 60)
        assert ended.frames == 20
    finally:
        await first.stop()
    stored = await StreamStore(cluster.database, cluster.bus.prefix).get(cluster.org, camera)
    assert stored is not None and stored.state == "stopped", stored

    second = await cluster.worker("second", detector)
    try:
        await second.cluster._claim()  # one round of looking for stored streams, done now
        assert second.service.camera_session(cluster.org, camera) is None
        assert second.cluster._owned == {}
    finally:
        await second.stop()
