"""The platform every end-to-end test runs against: `Platform` as deployed (every service on one authenticating
gRPC server, the session's PostgreSQL and NATS, the gateway app), on a JetStream stream and subject prefix of its
own, with a platform admin to log in as.

A test module says which folders a stream may read files from by defining the `media_roots` fixture (the shared
clips, or a folder of its temporary directory where it writes its own video); nothing else differs.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from footfall.deploy.platform import Platform
from footfall.services.core.config import Settings

from tests.conftest import AuthKit, unique_org

PASSWORD = "correct horse battery staple"


@pytest.fixture
def media_roots() -> list[Path]:
    """The only folders a stream may read files from; each test module overrides this."""
    raise NotImplementedError("an e2e test module defines the media_roots fixture")


@pytest.fixture
async def platform(
    tmp_path: Path, database_url: str, nats_url: str, auth: AuthKit, media_roots: list[Path]
) -> AsyncIterator[Platform]:
    tag = uuid.uuid4().hex[:10]
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        nats_url=nats_url,
        nats_stream=f"E2E{tag.upper()}",
        nats_subject_prefix=f"e2e{tag}",
        grpc_host="127.0.0.1",
        grpc_port=0,
        default_org=unique_org("e2e"),
        admin_username=f"root-{tag[:6]}",
        admin_password=PASSWORD,
        admin_email=f"root-{tag[:6]}@example.com",
        rate_limit_enabled=False,
        media_roots=media_roots,
        **auth.settings_overrides(),  # type: ignore[arg-type]  # one signing key per test process
    )
    platform = Platform(settings)
    await platform.start()
    try:
        yield platform
    finally:
        await platform.stop()
        # After the stop (services still running would retry publishing into a deleted stream).
        connection = await nats.connect(nats_url)
        with contextlib.suppress(Exception):  # best effort: the stream is this test's alone
            await connection.jetstream().delete_stream(settings.nats_stream)
        await connection.close()


async def log_in_as_platform_admin(http: httpx.AsyncClient, settings: Settings) -> None:
    r = await http.post("/admin/login", json={"username": settings.admin_username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"


async def gql(http: httpx.AsyncClient, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    r = await http.post("/graphql", json={"query": query, "variables": variables})
    assert r.status_code == 200 and not r.json().get("errors"), r.text
    data: dict[str, Any] = r.json()["data"]
    return data
