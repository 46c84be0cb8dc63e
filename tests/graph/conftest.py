"""The gateway against the real stack: PostgreSQL and NATS (tests/conftest.py), the occupancy service on a
gRPC server on a free port (authenticating every call), and the app over `httpx.ASGITransport` (or a real
uvicorn for websockets).

Every test acts in an organisation of its own, with a credential of that organisation (an org admin's bearer
token unless a test asks for another role), so tests never see each other's cameras, and the tenant isolation
is exercised all along.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
import uvicorn
from footfall.graph import occupancy
from footfall.graph.app import create_app
from footfall.services.core.config import Settings
from footfall.services.core.db import Database
from footfall.services.core.embedded import free_port
from footfall.services.core.events import EventBus
from footfall.services.core.grpc import GrpcServer
from starlette.applications import Starlette

from tests.conftest import AuthKit, auth_kit, unique_org
from tests.graphql_client import gql, gql_data  # noqa: F401  (re-exported to the tests)


@dataclass
class Stack:
    settings: Settings
    bus: EventBus
    db: Database
    server: GrpcServer
    port: int
    channel: grpc.aio.Channel
    runtime: Any


@pytest.fixture(scope="session")
async def graph_bus(nats_url: str) -> AsyncIterator[EventBus]:
    """A bus on a stream and subject prefix of its own, shared by the service and the tests that publish."""
    tag = uuid.uuid4().hex[:12]
    bus = EventBus(nats_url, stream=f"G{tag.upper()}", subject_prefix=f"g{tag}")
    await bus.connect()
    yield bus
    try:
        await bus.js.delete_stream(bus.stream)
    except Exception:  # noqa: BLE001 - best effort cleanup
        pass
    await bus.close()


@pytest.fixture(scope="session")
def graph_settings(
    tmp_path_factory: pytest.TempPathFactory, database_url: str, nats_url: str, graph_bus: EventBus
) -> Settings:
    return Settings(
        data_dir=Path(tmp_path_factory.mktemp("graph-data")),
        database_url=database_url,
        nats_url=nats_url,
        nats_stream=graph_bus.stream,
        nats_subject_prefix=graph_bus.prefix,
        grpc_host="127.0.0.1",
        grpc_port=0,
        default_org=unique_org("dflt"),
        rate_limit_enabled=False,  # the suite makes thousands of requests from one address
    )


@pytest.fixture(scope="session")
async def occupancy_stack(
    graph_settings: Settings, database: Database, graph_bus: EventBus
) -> AsyncIterator[Stack]:
    from footfall.services.occupancy.runtime import start_occupancy

    server = GrpcServer("127.0.0.1", 0, authenticator=auth_kit(database).authenticator)
    runtime = await start_occupancy(graph_settings, database, graph_bus, server)
    port = await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    yield Stack(graph_settings, graph_bus, database, server, port, channel, runtime)
    await channel.close()
    await runtime.stop()
    await server.stop(0)


@pytest.fixture(scope="session")
def app(graph_settings: Settings, occupancy_stack: Stack, auth: AuthKit) -> Starlette:
    return create_app(
        graph_settings, occupancy_stack.channel, domains=(occupancy.DOMAIN,), authenticator=auth.authenticator
    )


@pytest.fixture
def org() -> str:
    return unique_org("gw")


def bearer(auth: AuthKit, org: str, role: str = "org_admin") -> dict[str, str]:
    """The `Authorization` header of a principal of `org` with `role`."""
    return {"Authorization": f"Bearer {auth.token(org, role)}"}


def http_client(app: Starlette, headers: dict[str, str] | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver", headers=headers)


@pytest.fixture
async def client(app: Starlette, org: str, auth: AuthKit) -> AsyncIterator[httpx.AsyncClient]:
    """The app in-process, as an org admin of this test's own organisation."""
    async with http_client(app, bearer(auth, org)) as c:
        yield c


@pytest.fixture(scope="session")
async def live_server(app: Starlette) -> AsyncIterator[str]:
    """The same app behind a real uvicorn on a free port (websockets need a real server)."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, ws="websockets-sansio", lifespan="off", log_level="warning"
    )
    server = uvicorn.Server(config)
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign]  # pytest owns the signals
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.01)
    assert server.started, "uvicorn did not start"
    yield f"127.0.0.1:{port}"
    server.should_exit = True
    await asyncio.wait_for(task, 10)


# Helpers


async def make_camera(client: httpx.AsyncClient, key: str = "GATE_A", **fields: Any) -> dict[str, Any]:
    body = {
        "camera_id": key,
        "camera_name": f"{key} camera",
        "location": "Main Gate",
        "camera_type": "entry_only",
        "max_occupancy": 100,
        **fields,
    }
    r = await client.post("/api/occupancy/cameras", json=body)
    assert r.status_code == 201, r.text
    return r.json()


async def make_line(
    client: httpx.AsyncClient, camera_id: int, direction: str = "bidirectional", **fields: Any
) -> dict[str, Any]:
    body = {
        "camera_id": camera_id,
        "line_name": f"line-{uuid.uuid4().hex[:6]}",
        "x1": 0,
        "y1": 300,
        "x2": 1920,
        "y2": 300,
        "direction": direction,
        "confidence_threshold": 0.5,
        **fields,
    }
    r = await client.post("/api/occupancy/lines", json=body)
    assert r.status_code == 201, r.text
    return r.json()


RECORD_CROSSING = """
mutation Cross($input: CrossingInput!) {
  recordCrossing(input: $input) { applied reason occupancy { cameraId currentOccupancy totalEntries totalExits } }
}"""


async def cross(
    client: httpx.AsyncClient,
    camera_key: str,
    line_id: int,
    direction: str = "IN",
    *,
    track: str | None = None,
    occurred_at: str | None = None,
    confidence: float = 0.9,
    event_id: str | None = None,
) -> dict[str, Any]:
    """Record one crossing through the GraphQL mutation (the service applies it as if it came from NATS)."""
    variables = {
        "input": {
            "cameraId": camera_key,
            "lineId": str(line_id),
            "direction": direction,
            "trackId": track or uuid.uuid4().hex[:8],
            "confidence": confidence,
            "eventId": event_id or str(uuid.uuid4()),
        }
    }
    if occurred_at:
        variables["input"]["occurredAt"] = occurred_at
    return (await gql_data(client, RECORD_CROSSING, variables))["recordCrossing"]
