"""Seed 003's commerce against the real stack: PostgreSQL (tests/conftest.py), the accounts and customers services
on one authenticating gRPC server on a free port, and the whole gateway app (`create_app`, real logins through
`POST /admin/login`) served by uvicorn.

Two organisations, A and B, each with an org admin and an analyst, and one platform admin, are created once.
Visits are journeys; until identity links journeys to persons, `add_visit` writes a person's journey row the
way identity will (its `customer_id` is the person id).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import grpc
import httpx
import pytest
import uvicorn
from footfall.graph import accounts, customers, occupancy, vision
from footfall.graph.app import create_app
from footfall.services.accounts.runtime import build_accounts, start_accounts
from footfall.services.accounts.service import Accounts
from footfall.services.core.config import Settings
from footfall.services.core.db import Database
from footfall.services.core.embedded import free_port
from footfall.services.core.grpc import GrpcServer
from footfall.services.core.principal import Role
from footfall.services.customers.runtime import start_customers
from footfall.services.customers.service import Customers, CustomersConfig

from tests.conftest import unique_org

PASSWORD = "correct horse battery"
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
class Shop:
    settings: Settings
    db: Database
    customers: Customers
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

    async def add_visit(self, org: str, person_id: str, entry: datetime, minutes: float = 20.0) -> None:
        """A completed journey of `person_id` (as identity will link them), entering at `entry`."""
        exit_time = entry + timedelta(minutes=minutes)
        async with self.db.tenant(org) as conn:
            await conn.execute(
                """INSERT INTO journeys (org_id, customer_id, session_id, camera_id, entry_time, exit_time, duration,
                                         behavior, conversion)
                   VALUES (%s, %s, %s, 'TABLES', %s, %s, %s, 'diner', 'No Purchase')""",
                (org, person_id, f"visit-{uuid.uuid4().hex}", entry, exit_time, minutes * 60),
            )


async def _user(accounts_: Accounts, org: str, role: Role, tag: str) -> Account:
    name = f"{tag}-{uuid.uuid4().hex[:6]}"
    await accounts_.create_user(
        None, org, username=name, email=f"{name}@example.com", full_name=f"Test {tag}", password=PASSWORD, role=role
    )
    return Account(name, org, role)


@pytest.fixture(scope="session")
async def shop(tmp_path_factory: pytest.TempPathFactory, database_url: str, database: Database) -> AsyncIterator[Shop]:
    settings = Settings(
        data_dir=Path(tmp_path_factory.mktemp("commerce-data")),
        database_url=database_url,
        jwt_secret="test-secret-" + uuid.uuid4().hex,
        default_org=unique_org("dflt"),
        rate_limit_enabled=False,
        auth_cache_s=2.0,
    )
    _, authenticator = build_accounts(settings, database)
    server = GrpcServer("127.0.0.1", 0, authenticator=authenticator)
    accounts_runtime = await start_accounts(settings, database, None, server)
    customers_runtime = await start_customers(
        settings, database, None, server, config=CustomersConfig(idle_flush_s=3600), consume=False
    )
    port = await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")

    accounts_ = accounts_runtime.accounts
    org_a, org_b = unique_org("shopa"), unique_org("shopb")
    await accounts_.ensure_org(org_a)
    await accounts_.ensure_org(org_b)
    root = await _user(accounts_, settings.default_org, Role.PLATFORM_ADMIN, "root")
    people = [
        await _user(accounts_, org, role, tag)
        for org, role, tag in (
            (org_a, Role.ORG_ADMIN, "admina"), (org_a, Role.ANALYST, "analysta"),
            (org_b, Role.ORG_ADMIN, "adminb"), (org_b, Role.ANALYST, "analystb"),
        )
    ]

    app = create_app(settings, channel, domains=DOMAINS)
    http_port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=http_port, lifespan="off", log_level="warning")
    uv = uvicorn.Server(config)
    uv.capture_signals = contextlib.nullcontext  # type: ignore[method-assign]  # pytest owns the signals
    task = asyncio.create_task(uv.serve())
    while not uv.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    world = Shop(settings, database, customers_runtime.customers, channel, f"http://127.0.0.1:{http_port}",
                 root, *people)
    async with httpx.AsyncClient(base_url=world.base_url, timeout=30) as client:
        for account in (root, *people):
            r = await client.post("/admin/login", json={"username": account.username, "password": PASSWORD})
            assert r.status_code == 200, r.text
            world.tokens[account.username] = r.json()["access_token"]
    yield world
    uv.should_exit = True
    await asyncio.wait_for(task, 10)
    await channel.close()
    await customers_runtime.stop()
    await accounts_runtime.stop()
    await server.stop(0)


@pytest.fixture
async def http(shop: Shop) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=shop.base_url, timeout=30) as client:
        yield client
