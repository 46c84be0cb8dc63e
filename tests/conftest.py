"""Real servers for the tests: PostgreSQL and NATS started on free ports, stopped at the end.

`FOOTFALL_TEST_DATABASE_URL` / `FOOTFALL_TEST_NATS_URL` point the suite at servers you already run instead
(a fresh database is created inside the given server and dropped afterwards).
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest

from footfall.services.core.db import Database
from footfall.services.core.embedded import EmbeddedPostgres, NatsServer
from footfall.services.core.events import EventBus
from footfall.services.core.migrations import apply_migrations

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_data_dir() -> Path | None:
    """The shared real test data (`FOOTFALL_TEST_DATA` or `<repo>/../shared/data`), or None when absent."""
    path = Path(os.environ.get("FOOTFALL_TEST_DATA") or REPO_ROOT.parent / "shared" / "data")
    return path if path.is_dir() else None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = test_data_dir()
    if path is None:
        pytest.skip("shared test data not found: set FOOTFALL_TEST_DATA or place it at ../shared/data")
    return path


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    given = os.environ.get("FOOTFALL_TEST_DATABASE_URL")
    if given:
        yield given
        return
    with tempfile.TemporaryDirectory(prefix="ffpg") as tmp:
        server = EmbeddedPostgres(Path(tmp) / "pg", delete_on_stop=True)
        yield server.start()
        server.stop()


@pytest.fixture(scope="session")
def database_url(pg_server_url: str) -> Iterator[str]:
    """A fresh, migrated database for this test session."""
    name = f"footfall_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    info = psycopg.conninfo.conninfo_to_dict(pg_server_url)
    info["dbname"] = name
    url = psycopg.conninfo.make_conninfo(**info)
    apply_migrations(url)
    yield url
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url, max_size=8)
    await db.open()
    yield db
    await db.close()


@pytest.fixture(scope="session")
def nats_server() -> Iterator[NatsServer | str]:
    given = os.environ.get("FOOTFALL_TEST_NATS_URL")
    if given:
        yield given
        return
    with tempfile.TemporaryDirectory(prefix="ffnats") as tmp:
        with NatsServer(Path(tmp) / "js") as server:
            yield server


@pytest.fixture(scope="session")
def nats_url(nats_server: NatsServer | str) -> str:
    return nats_server if isinstance(nats_server, str) else nats_server.url


@pytest.fixture
async def event_bus(nats_url: str) -> AsyncIterator[EventBus]:
    """A connected bus on its own stream name, so tests never see each other's events."""
    tag = uuid.uuid4().hex[:12]
    bus = EventBus(nats_url, stream=f"T{tag.upper()}", subject_prefix=f"t{tag}")
    await bus.connect()
    yield bus
    try:
        await bus.js.delete_stream(bus.stream)
    except Exception:
        pass
    await bus.close()


def unique_org(prefix: str = "org") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """With FOOTFALL_NO_SKIPS=1 (set by tests/run.sh in CI) any skipped test fails the run."""
    if os.environ.get("FOOTFALL_NO_SKIPS") != "1":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped:
        if reporter:
            reporter.write_line(f"FOOTFALL_NO_SKIPS=1: {skipped} test(s) skipped, failing the run", red=True)
        session.exitstatus = 1
