"""The transactional outbox against real PostgreSQL and NATS: an event staged with a change is published once
the change commits, never when it rolls back, and a NATS outage at that moment delays it without losing it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from footfall.services.core.db import Database
from footfall.services.core.embedded import NatsServer
from footfall.services.core.events import EventBus, ReceivedEvent
from footfall.services.core.idempotency import claim_events
from footfall.services.core.metrics import REGISTRY
from footfall.services.core.outbox import OutboxRelay, hold_relay, stage_event
from footfall.v1 import common_pb2

from tests.conftest import unique_org


async def _until(check: Callable[[], Awaitable[bool] | bool], timeout: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if isinstance(result, Awaitable):
            result = await result
        if result:
            return
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def _pending_is(relay: OutboxRelay, n: int) -> bool:
    return await relay.pending() == n


class Inbox:
    """Every delivery a durable consumer gets on `subject`, by event id."""

    def __init__(self, bus: EventBus, subject: str) -> None:
        self.ids: list[str] = []
        bus.consume(f"inbox-{uuid.uuid4().hex[:8]}", subject, self._on_batch, batch=10)

    async def _on_batch(self, batch: list[ReceivedEvent]) -> None:
        self.ids.extend(e.envelope.event_id for e in batch if e.envelope)


async def _change_with_event(db: Database, bus: EventBus, org: str, event_id: str, *, fail: bool = False) -> None:
    """A change (a claimed event id) and its event in one transaction; `fail` rolls both back."""
    async with db.tenant(org) as conn:
        await claim_events(conn, "outbox-test", org, [event_id])
        await stage_event(conn, bus, org, "tests", "changed", common_pb2.Point(), event_id=event_id)
        if fail:
            raise RuntimeError("the change fails after staging its event")


@pytest.fixture
async def own_nats(tmp_path: Path) -> AsyncIterator[NatsServer]:
    """This test's own nats-server, which it stops and starts (the session's server stays up for others)."""
    server = NatsServer(tmp_path / "nats")
    server.start()
    yield server
    server.stop()


async def test_events_follow_commits_only(database: Database, event_bus: EventBus) -> None:
    org = unique_org()
    inbox = Inbox(event_bus, event_bus.subject(org, "tests", "changed"))
    relay = await hold_relay(database, event_bus)
    try:
        with pytest.raises(RuntimeError):
            await _change_with_event(database, event_bus, org, "rolled-back", fail=True)
        await _change_with_event(database, event_bus, org, "committed")
        await _change_with_event(database, event_bus, org, "committed-too")
        await _until(lambda: len(inbox.ids) >= 2)
        await _until(lambda: _pending_is(relay, 0))
    finally:
        await relay.release()
    assert inbox.ids == ["committed", "committed-too"]


async def test_a_nats_outage_loses_nothing_and_duplicates_nothing(database: Database, own_nats: NatsServer) -> None:
    tag = uuid.uuid4().hex[:10]
    bus = EventBus(own_nats.url, stream=f"O{tag.upper()}", subject_prefix=f"o{tag}")
    await bus.connect()
    relay = OutboxRelay(database, bus, poll_s=0.2, publish_timeout_s=0.5)
    relay.start()
    org = unique_org()
    try:
        own_nats.stop()  # NATS goes away...
        await _until(lambda: not bus.connected)
        await _change_with_event(database, bus, org, "during-outage")  # ...just as a change commits
        await _until(lambda: _pending_is(relay, 1))
        await _until(lambda: (REGISTRY.get_sample_value("footfall_outbox_pending") or 0) >= 1)
        own_nats.start()  # same port, store and credentials: the client reconnects by itself
        inbox = Inbox(bus, bus.subject(org, "tests", "changed"))
        await _until(lambda: inbox.ids == ["during-outage"])
        await _until(lambda: _pending_is(relay, 0))
        info = await bus.js.stream_info(bus.stream)
        assert info.state.messages == 1  # published exactly once
        assert inbox.ids == ["during-outage"]
    finally:
        await relay.stop()
        await bus.close()


async def test_a_relay_publishes_only_its_own_buses_subjects(database: Database, event_bus: EventBus,
                                                             nats_url: str) -> None:
    """Deployments (here: test buses) sharing one database never publish each other's rows."""
    tag = uuid.uuid4().hex[:10]
    other = EventBus(nats_url, stream=f"X{tag.upper()}", subject_prefix=f"x{tag}")
    await other.connect()
    org = unique_org()
    try:
        await _change_with_event(database, other, org, f"other-{tag}")
        relay = OutboxRelay(database, event_bus)
        assert await relay.relay_pending() == 0
        assert await OutboxRelay(database, other).relay_pending() == 1
    finally:
        await other.js.delete_stream(other.stream)
        await other.close()
