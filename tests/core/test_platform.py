"""The platform pieces against real servers: migrations, tenant isolation, JetStream events."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from footfall.v1 import common_pb2, events_pb2
from footfall.services.core.db import Database
from footfall.services.core.errors import InvalidArgument
from footfall.services.core.events import EventBus, make_envelope, unpack
from footfall.services.core.idempotency import claim_events
from footfall.services.core.migrations import apply_migrations
from tests.conftest import unique_org


def test_migrations_are_recorded_and_safe_to_rerun(database_url: str) -> None:
    assert apply_migrations(database_url) == []
    with psycopg.connect(database_url) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM schema_migrations ORDER BY name")]
    assert names and names[0] == "0001_platform.sql"


async def test_claims_are_per_org_and_once(database: Database) -> None:
    org_a, org_b = unique_org(), unique_org()
    async with database.tenant(org_a) as conn:
        assert await claim_events(conn, "test", org_a, ["e1", "e2"]) == {"e1", "e2"}
    async with database.tenant(org_a) as conn:
        assert await claim_events(conn, "test", org_a, ["e2", "e3"]) == {"e3"}
    async with database.tenant(org_b) as conn:
        assert await claim_events(conn, "test", org_b, ["e1"]) == {"e1"}
        cur = await conn.execute("SELECT count(*) AS n FROM processed_events")
        assert (await cur.fetchone())["n"] == 1  # row-level security hides org_a's rows


async def test_row_level_security_rejects_writes_for_another_org(database: Database) -> None:
    org_a, org_b = unique_org(), unique_org()
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        async with database.tenant(org_a) as conn:
            await conn.execute(
                "INSERT INTO processed_events (consumer, org_id, event_id) VALUES ('t', %s, 'x')", (org_b,)
            )


async def test_invalid_org_is_refused(database: Database) -> None:
    with pytest.raises(InvalidArgument):
        async with database.tenant("Bad Org!"):
            pass


async def test_events_round_trip_and_duplicates_are_dropped(event_bus: EventBus) -> None:
    org = unique_org()
    received: list[events_pb2.EventEnvelope] = []
    got = asyncio.Event()

    async def handler(batch):  # type: ignore[no-untyped-def]
        received.extend(e.envelope for e in batch if e.envelope)
        got.set()

    envelope = make_envelope(org, "vision", "crossing", events_pb2.LineCrossed(camera_id="GATE_A", line_name="door"))
    await event_bus.publish(envelope)
    await event_bus.publish(envelope)  # same Nats-Msg-Id: JetStream drops it
    event_bus.consume("test", event_bus.subject("*", "vision", "crossing"), handler)
    await asyncio.wait_for(got.wait(), 10)
    await asyncio.sleep(0.5)
    assert [e.event_id for e in received] == [envelope.event_id]
    crossing = unpack(received[0], events_pb2.LineCrossed)
    assert crossing.camera_id == "GATE_A"
    with pytest.raises(ValueError):
        unpack(received[0], common_pb2.Point)
