"""Identity's erasure reaches the customers service: carts and journeys no longer lead to the erased person.

The `identity.erased` event is built with identity's own `erased_event` and published on NATS as identity's
outbox publishes it; the customers runtime's erasure consumer applies it. A replay of the event (the durable
recreated, delivering from the stream's start) changes nothing more.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from footfall.services.core.config import Settings
from footfall.services.core.db import Database
from footfall.services.core.errors import NotFound
from footfall.services.core.events import EventBus, make_envelope
from footfall.services.customers import store
from footfall.services.customers.commerce.domain import CartDraft
from footfall.services.customers.erasure import DURABLE
from footfall.services.customers.journeys import CustomerJourney, JourneyComplete
from footfall.services.customers.records.domain import CustomerDraft
from footfall.services.customers.records.service import CustomerRecords
from footfall.services.customers.runtime import start_customers
from footfall.services.customers.service import CustomersConfig
from footfall.services.identity.deps import erased_event

from tests.conftest import unique_org
from tests.consumer_replay import caught_up, delete_durable
from tests.customers.test_events import wait_for


def visit(person: str, at: float) -> JourneyComplete:
    """A finished journey recorded under a person id (as visits linked to a person are)."""
    journey = CustomerJourney(person, f"visit_{uuid.uuid4().hex[:12]}", at, at + 30, 30.0, ["shelves"], [],
                              {"shelves": 20.0}, "browser", "No Purchase")
    return JourneyComplete(journey, "GATE_A", (), (f"track-{uuid.uuid4().hex[:6]}",))


async def holdings(database: Database, org: str) -> dict[str, Any]:
    async with database.tenant(org) as conn:
        cur = await conn.execute("SELECT id::text, person_id, customer_id FROM carts ORDER BY created_at, id")
        carts = [tuple(r.values()) for r in await cur.fetchall()]
        cur = await conn.execute("SELECT id, customer_id FROM journeys ORDER BY id")
        journeys = [tuple(r.values()) for r in await cur.fetchall()]
    return {"carts": carts, "journeys": journeys}


async def test_erased_person_is_unlinked_from_carts_and_journeys(database: Database, event_bus: EventBus) -> None:
    org = unique_org()
    runtime = await start_customers(Settings(), database, event_bus, None,
                                    config=CustomersConfig(idle_flush_s=3600))
    try:
        commerce = runtime.servicer.commerce
        customer = await CustomerRecords(database).create(org, CustomerDraft(name="Ada"))
        erased, kept = "person-erased-1", "person-kept-1"
        alone = await commerce.create_cart(org, CartDraft(person_id=erased, table_number=4))
        linked = await commerce.create_cart(org, CartDraft(person_id=erased, customer_id=customer.id))
        other = await commerce.create_cart(org, CartDraft(person_id=kept))
        now = datetime.now(UTC).timestamp()
        async with database.tenant(org) as conn:
            for person in (erased, erased, kept):
                await store.complete_journey(conn, org, visit(person, now - 600))
        before = await holdings(database, org)
        assert sum(1 for _, c in before["journeys"] if c == erased) == 2

        event = erased_event([erased], None, datetime.now(UTC))
        await event_bus.publish(make_envelope(org, "identity", "erased", event))

        async def unlinked() -> dict[str, Any] | None:
            now_held = await holdings(database, org)
            names = {p for _, p, _ in now_held["carts"]} | {c for _, c in now_held["journeys"]}
            return now_held if erased not in names else None

        after = await wait_for(unlinked)
        carts = {cart_id: (person, cust) for cart_id, person, cust in after["carts"]}
        assert carts[linked.id] == (None, customer.id)  # the customer keeps their cart
        anon, cust = carts[alone.id]
        assert cust is None and anon is not None and anon.startswith("erased-")  # the order stays, anonymous
        assert carts[other.id] == (kept, None)
        journeys = dict(after["journeys"])
        assert len(journeys) == 3 and sorted(journeys.values()).count(kept) == 1
        assert [c for c in journeys.values() if c != kept] == [anon, anon]  # one anonymous id per person
        with pytest.raises(NotFound):  # the customers service knows nothing of the person any more
            await commerce.person_orders(org, erased)

        # Replayed from the stream's start: nothing left to unlink, nothing changes.
        assert runtime.erasures is not None
        await runtime.erasures.stop()
        await delete_durable(event_bus, DURABLE)
        runtime.erasures.start()
        await caught_up(event_bus, DURABLE)
        assert await holdings(database, org) == after
    finally:
        await runtime.stop()
