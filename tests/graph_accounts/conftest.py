"""The accounts and dashboard domains against the real stack: PostgreSQL (tests/conftest.py), the accounts and
occupancy services on an authenticating gRPC server on a free port, and the gateway's routes served by a real
uvicorn (websockets, cookies and client addresses as a browser would see them).

Two organisations, each with an org admin and an analyst, and one platform admin, are created once.
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
from fastapi import FastAPI
from starlette.routing import Route, WebSocketRoute

from footfall.graph.accounts import DOMAIN as ACCOUNTS
from footfall.graph.accounts.verifier import AccountsVerifier
from footfall.graph.core.client import Clients
from footfall.graph.core.domain import GatewayDomain
from footfall.graph.core.errors import EXCEPTION_HANDLERS
from footfall.graph.core.graphql import GatewayGraphQL
from footfall.graph.core.schema import build_schema
from footfall.graph.dashboard import DOMAIN as DASHBOARD
from footfall.services.accounts.runtime import build_accounts, start_accounts
from footfall.services.accounts.service import Accounts
from footfall.services.core.config import Settings
from footfall.services.core.db import Database
from footfall.services.core.embedded import free_port
from footfall.services.core.events import EventBus
from footfall.services.core.grpc import GrpcServer
from footfall.services.core.principal import Role
from footfall.services.core.tokens import TokenSigner
from tests.conftest import unique_org

PASSWORD = "correct horse battery"
DOMAINS: tuple[GatewayDomain, ...] = (ACCOUNTS, DASHBOARD)


@dataclass(frozen=True)
class Account:
    username: str
    email: str
    org: str
    role: Role


@dataclass
class World:
    settings: Settings
    accounts: Accounts
    signer: TokenSigner
    channel: grpc.aio.Channel
    base_url: str
    root: Account
    admin_a: Account
    analyst_a: Account
    admin_b: Account
    analyst_b: Account

    @property
    def org_a(self) -> str:
        return self.admin_a.org

    @property
    def org_b(self) -> str:
        return self.admin_b.org


def gateway_app(settings: Settings, channel: grpc.aio.Channel, domains: tuple[GatewayDomain, ...]) -> FastAPI:
    """The domains mounted as `footfall.graph.app.create_app` mounts them (routers, routes, schema, auth)."""
    clients = Clients(channel)
    app = FastAPI(exception_handlers=EXCEPTION_HANDLERS)
    app.router.redirect_slashes = False
    schema = build_schema([d.schema for d in domains if d.schema])
    graphql = GatewayGraphQL(schema, settings, clients, "<!doctype html><title>GraphiQL</title>")

    async def health(request: Any) -> Any:
        from starlette.responses import JSONResponse

        return JSONResponse({"status": "healthy"})

    app.router.routes.append(Route("/health", health, methods=["GET"]))
    app.router.routes.append(Route("/graphql", graphql))
    app.router.routes.append(WebSocketRoute("/graphql", graphql))
    for domain in domains:
        if domain.router is not None:
            app.include_router(domain.router)
        app.router.routes.extend(domain.routes)
    app.state.settings = settings
    app.state.clients = clients
    app.state.authenticator = AccountsVerifier(channel, settings)
    return app


@pytest.fixture(scope="session")
async def accounts_bus(nats_url: str) -> AsyncIterator[EventBus]:
    """A bus on a stream of its own, so occupancy can watch live counts."""
    tag = uuid.uuid4().hex[:12]
    bus = EventBus(nats_url, stream=f"A{tag.upper()}", subject_prefix=f"a{tag}")
    await bus.connect()
    yield bus
    with contextlib.suppress(Exception):
        await bus.js.delete_stream(bus.stream)
    await bus.close()


@pytest.fixture(scope="session")
def accounts_settings(
    tmp_path_factory: pytest.TempPathFactory, database_url: str, nats_url: str, accounts_bus: EventBus
) -> Settings:
    return Settings(
        nats_url=nats_url,
        nats_stream=accounts_bus.stream,
        nats_subject_prefix=accounts_bus.prefix,
        data_dir=Path(tmp_path_factory.mktemp("accounts-data")),
        database_url=database_url,
        jwt_secret="test-secret-" + uuid.uuid4().hex,
        grpc_host="127.0.0.1",
        grpc_port=0,
        default_org=unique_org("dflt"),
        auth_cache_s=2.0,
        allowed_origins=["https://admin.example.com"],
    )


async def _user(accounts: Accounts, org: str, role: Role, tag: str) -> Account:
    name = f"{tag}-{uuid.uuid4().hex[:6]}"
    email = f"{name}@example.com"
    await accounts.create_user(
        None, org, username=name, email=email, full_name=f"Test {tag.title()}", password=PASSWORD, role=role
    )
    return Account(name, email, org, role)


@pytest.fixture(scope="session")
async def world(accounts_settings: Settings, database: Database, accounts_bus: EventBus) -> AsyncIterator[World]:
    from footfall.services.occupancy.runtime import start_occupancy

    settings = accounts_settings
    _, authenticator = build_accounts(settings, database)
    server = GrpcServer("127.0.0.1", 0, authenticator=authenticator)
    runtime = await start_accounts(settings, database, None, server)
    occupancy = await start_occupancy(settings, database, accounts_bus, server, consume=False, schedule=False)
    port = await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")

    accounts = runtime.accounts
    org_a, org_b = unique_org("orga"), unique_org("orgb")
    await accounts.ensure_org(org_a)
    await accounts.ensure_org(org_b)
    root = await _user(accounts, settings.default_org, Role.PLATFORM_ADMIN, "root")
    people = [
        await _user(accounts, org, role, tag)
        for org, role, tag in (
            (org_a, Role.ORG_ADMIN, "admina"),
            (org_a, Role.ANALYST, "analysta"),
            (org_b, Role.ORG_ADMIN, "adminb"),
            (org_b, Role.ANALYST, "analystb"),
        )
    ]

    app = gateway_app(settings, channel, DOMAINS)
    http_port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=http_port, ws="websockets-sansio", lifespan="off", log_level="warning"
    )
    uv = uvicorn.Server(config)
    uv.capture_signals = contextlib.nullcontext  # type: ignore[method-assign]  # pytest owns the signals
    task = asyncio.create_task(uv.serve())
    while not uv.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    yield World(settings, accounts, authenticator.signer, channel, f"http://127.0.0.1:{http_port}", root, *people)
    uv.should_exit = True
    await asyncio.wait_for(task, 10)
    await channel.close()
    await occupancy.stop()
    await runtime.stop()
    await server.stop(0)


@pytest.fixture
async def http(world: World) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=world.base_url, timeout=30) as client:
        yield client


async def login(http: httpx.AsyncClient, account: Account, password: str = PASSWORD) -> str:
    r = await http.post("/admin/login", json={"username": account.username, "password": password})
    assert r.status_code == 200, r.text
    token: str = r.json()["access_token"]
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
