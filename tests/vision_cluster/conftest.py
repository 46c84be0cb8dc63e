"""Vision workers as a cluster: several VisionService instances in this process, each with its own gRPC server,
its own cluster membership and its own detector, sharing the test PostgreSQL (stored streams) and the test NATS
(leases in key-value, events). Each test uses its own lease buckets and organisation.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import grpc
import pytest

from footfall.v1 import vision_pb2, vision_pb2_grpc
from footfall.services.core.db import Database
from footfall.services.core.events import EventBus
from footfall.services.core.grpc import GrpcServer
from footfall.services.vision.cluster import VisionCluster
from footfall.services.vision.leases import CameraLeases
from footfall.services.vision.routing import RoutingServicer
from footfall.services.vision.service import LinesProvider, VisionService
from footfall.services.vision.servicer import SERVICE_NAME, VisionServicer
from footfall.services.vision.stream_store import StreamStore
from tests.conftest import AuthKit, unique_org
from tests.vision_service.conftest import detector, pets_frames, pets_video, stream_sources  # noqa: F401 - fixtures

LEASE_TTL_S = 3.0


@pytest.fixture(scope="session")
def second_detector() -> Any:
    """Worker B's own detector (each worker process has one)."""
    from footfall.inference import load_person_detector

    return load_person_detector(threads=1)


@dataclass
class Worker:
    name: str
    service: VisionService
    cluster: VisionCluster
    server: GrpcServer
    servicer: RoutingServicer
    port: int
    channel: grpc.aio.Channel
    stub: vision_pb2_grpc.VisionServiceStub

    async def stop(self) -> None:
        """A graceful stop: the cameras are handed over at once."""
        await self.channel.close()
        await self.service.stop()
        await self.servicer.close()
        await self.server.stop(0)

    async def crash(self) -> None:
        """As a killed process: nothing more published, no lease released, the gRPC server gone."""
        await self.cluster.abandon()
        await self.server.stop(0)
        await self.channel.close()
        await self.service.stop()
        await self.servicer.close()


@dataclass
class Cluster:
    bus: EventBus
    database: Database
    auth: AuthKit
    org: str
    buckets: tuple[str, str]

    @property
    def md(self) -> Any:
        return self.auth.metadata(self.org)

    async def worker(self, name: str, person_detector: Any, *, lines_provider: LinesProvider | None = None
                     ) -> Worker:
        service = VisionService(self.bus, lambda: person_detector, lines_provider=lines_provider, sources=stream_sources())
        port_box: dict[str, int] = {}
        leases = CameraLeases(self.bus.js, name, lambda: f"127.0.0.1:{port_box['port']}", ttl_s=LEASE_TTL_S,
                              bucket=self.buckets[0], positions_bucket=self.buckets[1])
        cluster = VisionCluster(service, StreamStore(self.database, self.bus.prefix), leases, bus=self.bus, poll_s=0.3,
                                orgs=frozenset({self.org}))
        server = GrpcServer("127.0.0.1", 0, authenticator=self.auth.authenticator)
        servicer = RoutingServicer(VisionServicer(service, self.org), cluster)
        server.add(vision_pb2_grpc.add_VisionServiceServicer_to_server, servicer, SERVICE_NAME)
        port_box["port"] = port = await server.start()
        await service.start()
        await cluster.start()
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        return Worker(name, service, cluster, server, servicer, port, channel,
                      vision_pb2_grpc.VisionServiceStub(channel))

    async def wait_stream(self, stub: vision_pb2_grpc.VisionServiceStub, camera_id: str,
                          ok: Callable[[vision_pb2.Stream], bool], timeout: float) -> vision_pb2.Stream:
        """Poll GetStream (through ``stub``) until ``ok``; fails with the last answer after ``timeout``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        last: Any = None
        while True:
            try:
                last = (await stub.GetStream(vision_pb2.GetStreamRequest(camera_id=camera_id), metadata=self.md)).stream
                if ok(last):
                    return last
            except grpc.aio.AioRpcError as err:
                last = err
            assert loop.time() < deadline, f"{camera_id}: {last}"
            await asyncio.sleep(0.1)


@pytest.fixture
async def cluster(event_bus: EventBus, database: Database, auth: AuthKit) -> AsyncIterator[Cluster]:
    tag = uuid.uuid4().hex[:8]
    c = Cluster(event_bus, database, auth, unique_org("vc"), (f"leases_{tag}", f"positions_{tag}"))
    yield c
    async with database.tenant(c.org) as conn:  # this test's stored streams, whatever state they were left in
        await conn.execute("DELETE FROM vision_streams")
    for bucket in c.buckets:
        with contextlib.suppress(Exception):  # never created when the test failed early
            await event_bus.js.delete_key_value(bucket)
