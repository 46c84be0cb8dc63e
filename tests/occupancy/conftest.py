"""Occupancy fixtures: the service on the session's real PostgreSQL and NATS, and a real gRPC server."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import grpc
import pytest
from footfall.v1 import common_pb2, events_pb2, occupancy_pb2, occupancy_pb2_grpc

from footfall.services.core.config import Settings
from footfall.services.core.db import Database
from footfall.services.core.events import EventBus, make_envelope
from footfall.services.core.grpc import GrpcServer
from footfall.services.occupancy import OccupancyRuntime, start_occupancy
from footfall.services.occupancy.service import OccupancyService
from tests.conftest import AuthKit


def make_settings(**overrides: Any) -> Settings:
    base: dict[str, Any] = {"timezone": "UTC", "equipment_timeout_s": 0, "ingest_batch_size": 500}
    base.update(overrides)
    return Settings(**base)


@pytest.fixture
def settings() -> Settings:
    return make_settings()


@pytest.fixture
async def service(database: Database, event_bus: EventBus, settings: Settings) -> OccupancyService:
    """The domain facade alone (no consumers, no scheduler)."""
    return OccupancyService(database, settings, event_bus)


class Api:
    """A gRPC client of a running servicer, calling as one organisation."""

    def __init__(self, stub: occupancy_pb2_grpc.OccupancyServiceStub, org: str, auth: AuthKit) -> None:
        self.stub = stub
        self.org = org
        self.auth = auth

    def as_org(self, org: str) -> Api:
        return Api(self.stub, org, self.auth)

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        method = getattr(self.stub, name)

        def call(request: Any = None, **fields: Any) -> Any:
            if request is None:
                request = getattr(occupancy_pb2, f"{name}Request")(**fields)
            return method(request, metadata=self.auth.metadata(self.org), timeout=30)

        return call


@pytest.fixture
async def grpc_runtime(
    database: Database, event_bus: EventBus, settings: Settings, auth: AuthKit
) -> AsyncIterator[tuple[OccupancyRuntime, Api]]:
    server = GrpcServer("127.0.0.1", 0, authenticator=auth.authenticator)
    runtime = await start_occupancy(settings, database, event_bus, server, schedule=False, ack_wait_s=3)
    port = await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    api = Api(occupancy_pb2_grpc.OccupancyServiceStub(channel), unique_org_id(), auth)
    yield runtime, api
    await channel.close()
    await runtime.stop()
    await server.stop(0)


@pytest.fixture
async def api(grpc_runtime: tuple[OccupancyRuntime, Api]) -> Api:
    return grpc_runtime[1]


def unique_org_id(prefix: str = "occ") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def create_camera(api: Api, key: str = "GATE_A", **fields: Any) -> occupancy_pb2.Camera:
    fields.setdefault("camera_name", f"{key} camera")
    return (await api.CreateCamera(camera_id=key, **fields)).camera


async def create_line(api: Api, camera_id: int, name: str = "door",
                      direction: int = common_pb2.LINE_DIRECTION_BIDIRECTIONAL, **fields: Any) -> occupancy_pb2.VirtualLine:
    coords = {"x1": 0, "y1": 300, "x2": 1920, "y2": 300}
    coords.update(fields)
    return (await api.CreateLine(camera_id=camera_id, line_name=name, direction=direction, **coords)).line


def crossing_event(org: str, camera_key: str, line_name: str, direction: int = common_pb2.CROSSING_DIRECTION_IN, *,
                   track: str = "", confidence: float = 0.9, at: datetime | None = None,
                   event_id: str | None = None) -> events_pb2.EventEnvelope:
    payload = events_pb2.LineCrossed(camera_id=camera_key, line_name=line_name, direction=direction,
                                     track_id=track or uuid.uuid4().hex[:8], confidence=confidence)
    payload.occurred_at.FromDatetime(at or datetime.now(UTC))
    return make_envelope(org, "vision", "crossing", payload, event_id=event_id)


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 30.0, interval: float = 0.05) -> None:
    """Wait until `check()` is true (polling; for asynchronous effects such as NATS consumption)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        if await check():
            return
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval)
