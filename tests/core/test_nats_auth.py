"""The embedded nats-server requires the credentials generated at its start; nobody else on the host gets in."""

from __future__ import annotations

import asyncio
import stat
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import nats
import pytest
from footfall.v1 import events_pb2

from footfall.services.core.embedded import NatsServer
from footfall.services.core.events import EventBus, ReceivedEvent, redact_url


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    with NatsServer(tmp_path_factory.mktemp("natsauth") / "nats") as started:
        yield started


async def refused_connect(url: str) -> None:
    """The server answers the connection, and refuses it for its credentials."""
    async def quiet(_: Exception) -> None:
        pass

    with pytest.raises(nats.errors.Error, match="Authorization Violation"):
        nc = await nats.connect(
            url, allow_reconnect=False, max_reconnect_attempts=0, connect_timeout=2, error_cb=quiet
        )
        await nc.close()


async def test_connecting_without_credentials_is_refused(server: NatsServer) -> None:
    await refused_connect(server.address)


async def test_wrong_credentials_are_refused(server: NatsServer) -> None:
    await refused_connect(f"nats://{server.user}:not-the-password@{server.host}:{server.port}")
    await refused_connect(f"nats://{server.password}@{server.host}:{server.port}")  # as a token


def test_credentials_are_in_a_private_file_not_on_the_command_line(server: NatsServer) -> None:
    assert server._proc is not None
    cmdline = Path(f"/proc/{server._proc.pid}/cmdline").read_bytes()
    assert server.password.encode() not in cmdline
    mode = stat.S_IMODE(server.config_path.stat().st_mode)
    assert mode == 0o600
    assert server.password in server.config_path.read_text()
    assert server.password not in redact_url(server.url)


async def test_event_bus_with_the_credentials_publishes_and_consumes(server: NatsServer) -> None:
    tag = uuid.uuid4().hex[:12]
    bus = EventBus(server.url, stream=f"A{tag.upper()}", subject_prefix=f"a{tag}")
    await bus.connect()
    received: asyncio.Queue[ReceivedEvent] = asyncio.Queue()

    async def handler(events: Sequence[ReceivedEvent]) -> None:
        for event in events:
            received.put_nowait(event)

    try:
        bus.consume("auth-test", bus.subject("*", "occupancy", "line_crossed"), handler)
        payload = events_pb2.EventEnvelope(event_id="inner")  # any message will do as a payload
        event_id = await bus.emit("acme", "occupancy", "line_crossed", payload)
        event = await asyncio.wait_for(received.get(), 10)
        assert event.envelope is not None and event.envelope.event_id == event_id
        assert event.org == "acme"
    finally:
        await bus.js.delete_stream(bus.stream)
        await bus.close()


async def test_credentials_survive_a_restart(tmp_path: Path) -> None:
    with NatsServer(tmp_path / "nats") as server:
        url = server.url
        server.restart()
        assert server.url == url
        nc = await nats.connect(url, allow_reconnect=False, connect_timeout=2)
        await nc.close()
        await refused_connect(server.address)
