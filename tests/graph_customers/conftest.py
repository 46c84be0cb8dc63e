"""The gateway's customers domain against the real stack: PostgreSQL (tests/conftest.py), the customers
service on a gRPC server on a free port (authenticating every call), and the app (with the customers and vision
domains) over `httpx.ASGITransport`, called with an org admin's bearer token of the test's own organisation.

Journeys are recorded through the service's own domain API (`Customers.apply_vision_events`, the vision events
its NATS consumer would decode), as the customers tests do. Every test acts in an organisation of its own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc
import httpx
import pytest
from footfall.graph import customers, occupancy, vision
from footfall.graph.app import create_app
from footfall.services.core.config import Settings
from footfall.services.core.db import Database
from footfall.services.core.grpc import GrpcServer
from footfall.services.customers.runtime import CustomersRuntime, start_customers
from footfall.services.customers.service import CustomersConfig
from footfall.v1 import customers_pb2_grpc
from starlette.applications import Starlette

from tests.conftest import AuthKit, auth_kit, serving_only, unique_org
from tests.customers.factories import tick, visit_events
from tests.graphql_client import gql, gql_data  # noqa: F401  (re-exported to the tests)

T0 = 1_700_200_000.0  # 2023-11-17T05:46:40Z
VISITS = 5


@dataclass
class Stack:
    settings: Settings
    runtime: CustomersRuntime
    channel: grpc.aio.Channel
    stub: customers_pb2_grpc.CustomersServiceStub
    app: Starlette


@pytest.fixture(scope="session")
async def customers_stack(database: Database) -> AsyncIterator[Stack]:
    settings = Settings(default_org=unique_org("dflt"), rate_limit_enabled=False)
    auth = auth_kit(database)
    server = GrpcServer("127.0.0.1", 0, authenticator=auth.authenticator)
    runtime = await serving_only(await start_customers(
        settings, database, None, server, config=CustomersConfig(idle_flush_s=3600)
    ))
    port = await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    app = create_app(settings, channel, domains=DOMAINS, authenticator=auth.authenticator)
    _AUTH.append(auth)
    yield Stack(settings, runtime, channel, customers_pb2_grpc.CustomersServiceStub(channel), app)
    await channel.close()
    await runtime.stop()
    await server.stop(0)


@pytest.fixture
def org() -> str:
    return unique_org("cgw")


# The customers domain, and occupancy and vision whose GraphQL types it is composed with (health: customers only).
DOMAINS = (
    customers.DOMAIN,
    dataclasses.replace(occupancy.DOMAIN, router=None, health_check=False),
    dataclasses.replace(vision.DOMAIN, router=None, routes=(), health_check=False),
)
_AUTH: list[AuthKit] = []  # the session's kit, for `http_client`


def http_client(
    app: Starlette, org: str | None, role: str = "org_admin", auth: AuthKit | None = None
) -> httpx.AsyncClient:
    """The app as a principal of `org` with `role` (anonymous when `org` is None)."""
    kit = auth or _AUTH[0]
    headers = {"Authorization": f"Bearer {kit.token(org, role)}"} if org else {}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver", headers=headers
    )


@pytest.fixture
async def client(customers_stack: Stack, org: str) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(customers_stack.app, org) as c:
        yield c


async def seed_journeys(stack: Stack, org: str, n: int = VISITS, camera: str = "GATE_A") -> None:
    """`n` completed visits through `camera`, 10 minutes apart from T0: visit i stays 60 + 30 i seconds, in
    `shelves` then `checkout` (a `browser` by the built-in rules, no purchase yet)."""
    events = []
    for i in range(n):
        start = T0 + i * 600
        events += visit_events(
            camera,
            f"t{i}",
            start,
            start + 60 + i * 30,
            [("shelves", start + 5, start + 40), ("checkout", start + 45, start + 55 + i * 30)],
        )
    await stack.runtime.customers.apply_vision_events(org, events + [tick(camera, T0 + n * 600 + 100)])


@pytest.fixture
async def seeded(customers_stack: Stack, org: str) -> Stack:
    await seed_journeys(customers_stack, org)
    return customers_stack


