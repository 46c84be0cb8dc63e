"""Accounts fixtures: every service on one real gRPC server behind the authenticating interceptor."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc
import pytest
from footfall.services.accounts.runtime import AccountsRuntime, start_accounts
from footfall.services.core.config import Settings
from footfall.services.core.db import Database
from footfall.services.core.events import EventBus
from footfall.services.core.grpc import GrpcServer
from footfall.v1 import accounts_pb2_grpc, occupancy_pb2_grpc

from tests.conftest import AuthKit, serving_only

PASSWORD = "correct horse battery"


@dataclass
class Stack:
    settings: Settings
    runtime: AccountsRuntime
    server: GrpcServer
    channel: grpc.aio.Channel
    accounts: accounts_pb2_grpc.AccountsServiceStub
    occupancy: occupancy_pb2_grpc.OccupancyServiceStub
    auth: AuthKit


@pytest.fixture
async def stack(database: Database, event_bus: EventBus, auth: AuthKit) -> AsyncIterator[Stack]:
    from footfall.services.customers.runtime import start_customers
    from footfall.services.occupancy.runtime import start_occupancy
    from footfall.services.vision.service import VisionService
    from footfall.services.vision.servicer import SERVICE_NAME, VisionServicer
    from footfall.v1 import vision_pb2_grpc

    settings = Settings(jwt_secret=auth.secret, default_org=f"dflt-{uuid.uuid4().hex[:6]}", auth_cache_s=2.0,
                        nats_stream=event_bus.stream, nats_subject_prefix=event_bus.prefix)
    server = GrpcServer("127.0.0.1", 0, authenticator=auth.authenticator)
    runtime = await start_accounts(settings, database, event_bus, server)
    others = [await start_occupancy(settings, database, event_bus, server, consume=False, schedule=False),
              await serving_only(await start_customers(settings, database, None, server, consume=False))]
    vision = VisionService(event_bus, lambda: None)  # no detector: the interceptor is what is tested here
    await vision.start()
    others.append(vision)
    server.add(vision_pb2_grpc.add_VisionServiceServicer_to_server, VisionServicer(vision, settings.default_org),
               SERVICE_NAME)
    port = await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    yield Stack(settings, runtime, server, channel, accounts_pb2_grpc.AccountsServiceStub(channel),
                occupancy_pb2_grpc.OccupancyServiceStub(channel), auth)
    await channel.close()
    for other in reversed(others):
        await other.stop()
    await server.stop(0)


def new_org(prefix: str = "acc") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def new_name(prefix: str = "user") -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def bearer(token: str, org: str | None = None) -> tuple[tuple[str, str], ...]:
    md: tuple[tuple[str, str], ...] = (("authorization", f"Bearer {token}"),)
    return md + ((("x-footfall-org", org),) if org else ())


async def expect_code(call, code: grpc.StatusCode) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    assert info.value.code() == code, (info.value.code(), info.value.details())
    return info.value.details() or ""
