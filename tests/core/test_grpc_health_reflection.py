"""gRPC health checking and reflection, the two services anyone may call, with the standard clients
(grpcio-health-checking, grpcio-reflection) against a real server hosting a real service."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from footfall.services.core.config import Settings
from footfall.services.core.db import Database
from footfall.services.core.events import EventBus
from footfall.services.core.grpc import GrpcServer
from footfall.v1 import occupancy_pb2, occupancy_pb2_grpc
from google.protobuf.descriptor_pool import DescriptorPool
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from tests.conftest import AuthKit, unique_org

OCCUPANCY = "footfall.v1.OccupancyService"


@pytest.fixture
async def target(database: Database, event_bus: EventBus, auth: AuthKit, tmp_path: Path) -> AsyncIterator[str]:
    """host:port of a real server with the occupancy service, health checking and reflection."""
    from footfall.services.occupancy.runtime import start_occupancy

    settings = Settings(data_dir=tmp_path, default_org=unique_org(), nats_stream=event_bus.stream,
                        nats_subject_prefix=event_bus.prefix, **auth.settings_overrides())
    server = GrpcServer("127.0.0.1", 0, authenticator=auth.authenticator)
    occupancy = await start_occupancy(settings, database, event_bus, server, schedule=False)
    port = await server.start()
    yield f"127.0.0.1:{port}"
    await occupancy.stop()
    await server.stop(0)


async def test_health_check_needs_no_credential_and_knows_each_service(target: str) -> None:
    async with grpc.aio.insecure_channel(target) as channel:
        await _health_checks(channel)


async def _health_checks(channel: grpc.aio.Channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    for service in ("", OCCUPANCY, "grpc.health.v1.Health"):
        reply = await health.Check(health_pb2.HealthCheckRequest(service=service))
        assert reply.status == health_pb2.HealthCheckResponse.SERVING, service
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await health.Check(health_pb2.HealthCheckRequest(service="footfall.v1.NoSuchService"))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    watch = health.Watch(health_pb2.HealthCheckRequest(service=OCCUPANCY))
    assert (await watch.read()).status == health_pb2.HealthCheckResponse.SERVING
    watch.cancel()
    # Every other call still asks who is calling.
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await occupancy_pb2_grpc.OccupancyServiceStub(channel).ListCameras(occupancy_pb2.ListCamerasRequest())
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


def _reflect(target: str) -> tuple[list[str], list[str]]:
    """What grpcurl-style tools see: the services listed, and OccupancyService's methods from the descriptors
    the server sends (the synchronous reflection client, as those tools use)."""
    with grpc.insecure_channel(target) as channel:
        database = ProtoReflectionDescriptorDatabase(channel)
        services = list(database.get_services())
        pool = DescriptorPool(database)
        methods = [m.name for m in pool.FindServiceByName(OCCUPANCY).methods]
    return services, methods


async def test_reflection_lists_services_and_serves_their_descriptors(target: str) -> None:
    services, methods = await asyncio.to_thread(_reflect, target)
    assert {OCCUPANCY, "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"} <= set(services)
    assert {"ListCameras", "CreateCamera", "GetLiveOccupancy"} <= set(methods)
