"""Identity's gateway routes against the real stack: PostgreSQL and NATS (tests/conftest.py), the accounts,
customers and identity services on one authenticating gRPC server on a free port (embedded vector store in a
temporary data directory, the real face models), and the whole gateway app (`create_app`, real logins through
`POST /admin/login`) served by uvicorn.

Organisations: A and B (an org admin and an analyst each), C (an org admin, for counted lists and statistics).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import httpx
import pytest
import uvicorn
from footfall.graph import accounts, customers, identity
from footfall.graph.app import create_app
from footfall.services.accounts.runtime import start_accounts
from footfall.services.accounts.service import Accounts
from footfall.services.core.config import Settings
from footfall.services.core.db import Database
from footfall.services.core.embedded import free_port
from footfall.services.core.events import EventBus
from footfall.services.core.grpc import GrpcServer
from footfall.services.core.principal import Role
from footfall.services.customers.runtime import start_customers
from footfall.services.customers.service import CustomersConfig
from footfall.services.identity.runtime import start_identity
from footfall.v1 import identity_pb2, identity_pb2_grpc

from tests.conftest import AuthKit, serving_only, unique_org

PASSWORD = "correct horse battery"
DOMAINS = (accounts.DOMAIN, customers.DOMAIN, identity.DOMAIN)
FACES = "faces/face_recognition"
PHOTOS = {
    "obama": "tests/test_images/obama.jpg",
    "obama2": "tests/test_images/obama2.jpg",
    "obama3": "tests/test_images/obama3.jpg",
    "biden": "tests/test_images/biden.jpg",
    "biden2": "examples/knn_examples/train/biden/biden2.jpg",
    "alex": "examples/alex-lacamoire.png",
    "alex2": "examples/knn_examples/train/alex_lacamoire/img1.jpg",
    "rose": "examples/knn_examples/train/rose_leslie/img1.jpg",
    "lin": "examples/lin-manuel-miranda.png",
    "kit": "examples/knn_examples/train/kit_harington/john2.jpeg",
}


@dataclass(frozen=True)
class Account:
    username: str
    org: str
    role: Role


@dataclass
class Store:
    settings: Settings
    auth: AuthKit
    channel: grpc.aio.Channel
    base_url: str
    shared: Path
    admin_a: Account
    analyst_a: Account
    admin_b: Account
    analyst_b: Account
    admin_c: Account
    tokens: dict[str, str] = dataclasses.field(default_factory=dict)

    def headers(self, account: Account) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[account.username]}"}

    def photo(self, name: str) -> bytes:
        return (self.shared / FACES / PHOTOS[name]).read_bytes()

    def photo_b64(self, name: str) -> str:
        return base64.b64encode(self.photo(name)).decode("ascii")

    async def allow_auto_register(self, org: str) -> None:
        """The organisation's policy set on the service's own RPC, as an org admin (the gateway's routes for it
        are tested in test_policy)."""
        stub = identity_pb2_grpc.IdentityServiceStub(self.channel)
        policy = identity_pb2.IdentityPolicy(auto_register=True, auto_register_purpose="loyalty_enrolment")
        await stub.SetIdentityPolicy(
            identity_pb2.SetIdentityPolicyRequest(policy=policy), metadata=self.auth.metadata(org)
        )


async def _user(accounts_: Accounts, org: str, role: Role, tag: str) -> Account:
    name = f"{tag}-{uuid.uuid4().hex[:6]}"
    await accounts_.create_user(
        None,
        org,
        username=name,
        email=f"{name}@example.com",
        full_name=f"Test {tag}",
        password=PASSWORD,
        role=role,
    )
    return Account(name, org, role)


@pytest.fixture(scope="session")
async def store(
    tmp_path_factory: pytest.TempPathFactory,
    database_url: str,
    database: Database,
    nats_url: str,
    auth: AuthKit,
    shared_data: Path,
) -> AsyncIterator[Store]:
    tag = uuid.uuid4().hex[:10]
    settings = Settings(
        data_dir=Path(tmp_path_factory.mktemp("graph-identity-data")),
        database_url=database_url,
        default_org=unique_org("dflt"),
        rate_limit_enabled=False,
        auth_cache_s=2.0,
        **auth.settings_overrides(),  # type: ignore[arg-type]
    )
    bus = EventBus(nats_url, stream=f"GI{tag.upper()}", subject_prefix=f"gi{tag}")
    await bus.connect()
    server = GrpcServer("127.0.0.1", 0, authenticator=auth.authenticator)
    accounts_runtime = await start_accounts(settings, database, None, server)
    customers_runtime = await serving_only(await start_customers(
        settings, database, None, server, config=CustomersConfig(idle_flush_s=3600), consume=False
    ))
    identity_runtime = await start_identity(settings, database, bus, server, consume=False, retention=False)
    port = await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")

    accounts_ = accounts_runtime.accounts
    org_a, org_b, org_c = unique_org("ida"), unique_org("idb"), unique_org("idc")
    for org in (org_a, org_b, org_c):
        await accounts_.ensure_org(org)
    people = [
        await _user(accounts_, org, role, tag)
        for org, role, tag in (
            (org_a, Role.ORG_ADMIN, "admina"),
            (org_a, Role.ANALYST, "analysta"),
            (org_b, Role.ORG_ADMIN, "adminb"),
            (org_b, Role.ANALYST, "analystb"),
            (org_c, Role.ORG_ADMIN, "adminc"),
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
    world = Store(settings, auth, channel, f"http://127.0.0.1:{http_port}", shared_data, *people)
    async with httpx.AsyncClient(base_url=world.base_url, timeout=60) as client:
        for account in people:
            r = await client.post("/admin/login", json={"username": account.username, "password": PASSWORD})
            assert r.status_code == 200, r.text
            world.tokens[account.username] = r.json()["access_token"]
    yield world
    uv.should_exit = True
    await asyncio.wait_for(task, 10)
    await channel.close()
    await identity_runtime.stop()
    await customers_runtime.stop()
    stop_accounts = getattr(accounts_runtime, "stop", None)
    if stop_accounts is not None:
        await stop_accounts()
    await server.stop(0)
    with contextlib.suppress(Exception):
        await bus.js.delete_stream(bus.stream)
    await bus.close()


@pytest.fixture
async def http(store: Store) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=store.base_url, timeout=60) as client:
        yield client
