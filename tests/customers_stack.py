"""The customers domain behind the real gateway, for the CRM and commerce suites: PostgreSQL (tests/conftest.py),
the accounts and customers services on one authenticating gRPC server on a free port, and the gateway app
(`create_app`, real logins through `POST /admin/login`) served by uvicorn.

Two organisations, A and B, each with an org admin and an analyst, and one platform admin.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import grpc
import httpx
import pytest
import uvicorn
from footfall.graph import accounts, customers, identity, occupancy, vision
from footfall.graph.app import create_app
from footfall.services.accounts.runtime import build_accounts, start_accounts
from footfall.services.accounts.service import Accounts
from footfall.services.core.config import Settings
from footfall.services.core.db import Database
from footfall.services.core.embedded import free_port
from footfall.services.core.grpc import GrpcServer
from footfall.services.core.principal import Role
from footfall.services.customers.records import CustomerRecords
from footfall.services.customers.runtime import start_customers
from footfall.services.customers.service import Customers, CustomersConfig
from footfall.services.identity.runtime import IdentityRuntime, start_identity

from tests.conftest import auth_kit, serving_only, unique_org

PASSWORD = "correct horse battery"
# The customers domain (with occupancy and vision, whose GraphQL types journeys use) and accounts for logins.
DOMAINS = (
    accounts.DOMAIN,
    customers.DOMAIN,
    dataclasses.replace(occupancy.DOMAIN, router=None, health_check=False),
    dataclasses.replace(vision.DOMAIN, router=None, routes=(), health_check=False),
)


@dataclass(frozen=True)
class Account:
    username: str
    org: str
    role: Role


@dataclass
class CustomersWorld:
    settings: Settings
    db: Database
    accounts: Accounts
    customers: Customers
    records: CustomerRecords
    channel: grpc.aio.Channel
    base_url: str
    root: Account
    admin_a: Account
    analyst_a: Account
    admin_b: Account
    analyst_b: Account
    tokens: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def org_a(self) -> str:
        return self.admin_a.org

    @property
    def org_b(self) -> str:
        return self.admin_b.org

    def headers(self, account: Account) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[account.username]}"}

    def metadata(self, account: Account) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.tokens[account.username]}"),)


async def new_user(accounts_: Accounts, org: str, role: Role, tag: str) -> Account:
    name = f"{tag}-{uuid.uuid4().hex[:6]}"
    await accounts_.create_user(
        None, org, username=name, email=f"{name}@example.com", full_name=f"Test {tag}", password=PASSWORD, role=role
    )
    return Account(name, org, role)


W = TypeVar("W", bound=CustomersWorld)


async def customers_world(tmp_path_factory: pytest.TempPathFactory, database_url: str, database: Database,
                          tag: str, world_type: type[W], *, with_identity: bool = False) -> AsyncIterator[W]:
    """The stack above as a `world_type`, torn down when the generator is closed (use it from a session
    fixture). `with_identity`: the identity service too (persons; the face models load only if used)."""
    settings = Settings(
        data_dir=Path(tmp_path_factory.mktemp(f"{tag}-data")),
        database_url=database_url,
        # Identity calls the customers service with this process's service credentials: the session's key.
        jwt_secret=auth_kit(database).secret if with_identity else "test-secret-" + uuid.uuid4().hex,
        default_org=unique_org("dflt"),
        rate_limit_enabled=False,
        auth_cache_s=2.0,
    )
    _, authenticator = build_accounts(settings, database)
    server = GrpcServer("127.0.0.1", 0, authenticator=authenticator)
    accounts_runtime = await start_accounts(settings, database, None, server)
    customers_runtime = await serving_only(await start_customers(
        settings, database, None, server, config=CustomersConfig(idle_flush_s=3600), consume=False
    ))
    identity_runtime: IdentityRuntime | None = None
    if with_identity:
        identity_runtime = await start_identity(settings, database, None, server, consume=False, retention=False)
    port = await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")

    accounts_ = accounts_runtime.accounts
    org_a, org_b = unique_org(f"{tag}a"), unique_org(f"{tag}b")
    await accounts_.ensure_org(org_a)
    await accounts_.ensure_org(org_b)
    root = await new_user(accounts_, settings.default_org, Role.PLATFORM_ADMIN, "root")
    people = [
        await new_user(accounts_, org, role, who)
        for org, role, who in (
            (org_a, Role.ORG_ADMIN, "admina"), (org_a, Role.ANALYST, "analysta"),
            (org_b, Role.ORG_ADMIN, "adminb"), (org_b, Role.ANALYST, "analystb"),
        )
    ]

    app = create_app(settings, channel, domains=(*DOMAINS, identity.DOMAIN) if with_identity else DOMAINS)
    http_port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=http_port, lifespan="off", log_level="warning")
    uv = uvicorn.Server(config)
    uv.capture_signals = contextlib.nullcontext  # type: ignore[method-assign]  # pytest owns the signals
    task = asyncio.create_task(uv.serve())
    while not uv.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    world = world_type(settings, database, accounts_, customers_runtime.customers,
                           customers_runtime.servicer.records, channel, f"http://127.0.0.1:{http_port}", root, *people)
    async with httpx.AsyncClient(base_url=world.base_url, timeout=30) as client:
        for account in (root, *people):
            r = await client.post("/admin/login", json={"username": account.username, "password": PASSWORD})
            assert r.status_code == 200, r.text
            world.tokens[account.username] = r.json()["access_token"]
    try:
        yield world
    finally:
        uv.should_exit = True
        await asyncio.wait_for(task, 10)
        await channel.close()
        if identity_runtime is not None:
            await identity_runtime.stop()
        await customers_runtime.stop()
        await accounts_runtime.stop()
        await server.stop(0)
