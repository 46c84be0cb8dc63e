"""`Platform.health` (what `/health` reports for the process's own dependencies) against real servers of the
test's own: ok while PostgreSQL and NATS run, "down" for the one that stops, ok again when NATS comes back."""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from footfall.deploy.platform import Platform
from footfall.services.core.config import Settings
from footfall.services.core.embedded import EmbeddedPostgres, NatsServer

from tests.conftest import AuthKit


async def _until(check: Callable[[], Awaitable[dict[str, str]]], want: dict[str, str], timeout: float = 60) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (got := await check()) != want:
        assert loop.time() < deadline, (got, want)
        await asyncio.sleep(0.1)


async def test_health_follows_the_real_database_and_nats(auth: AuthKit) -> None:
    # Servers of this test's own (it stops them), outside pytest's tmp_path: embedded PostgreSQL runs as
    # another user when started as root and must traverse the parents.
    with tempfile.TemporaryDirectory(prefix="ffhealth") as tmp:
        pg = EmbeddedPostgres(Path(tmp) / "pg")
        nats = NatsServer(Path(tmp) / "nats")
        database_url = await asyncio.to_thread(pg.start)
        await asyncio.to_thread(nats.start)
        tag = uuid.uuid4().hex[:8].upper()
        settings = Settings(data_dir=Path(tmp) / "data", database_url=database_url, nats_url=nats.url,
                            nats_stream=f"H{tag}", nats_subject_prefix=f"h{tag.lower()}", grpc_host="127.0.0.1",
                            grpc_port=0, **auth.settings_overrides())
        platform = Platform(settings, services=["accounts"], gateway=False)
        try:
            await platform.start()
            assert await platform.health() == {"nats": "ok", "database": "ok"}

            await asyncio.to_thread(nats.stop)
            await _until(platform.health, {"nats": "down", "database": "ok"})
            await asyncio.to_thread(nats.start)  # same port and credentials: the client reconnects by itself
            await _until(platform.health, {"nats": "ok", "database": "ok"})

            await asyncio.to_thread(pg.stop)
            await _until(platform.health, {"nats": "ok", "database": "down"})
        finally:
            await platform.stop()
            await asyncio.to_thread(nats.stop)
            await asyncio.to_thread(pg.stop)
    assert await platform.health() == {}  # stopped: nothing of its own to report
