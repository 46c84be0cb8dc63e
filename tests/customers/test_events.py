"""Online journeys: vision events on NATS -> journeys, published customer events, redelivery applied once."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest
from footfall.v1 import customers_pb2, events_pb2

from footfall.services.core.config import Settings
from footfall.services.core.db import Database
from footfall.services.core.events import EventBus, make_envelope, unpack
from footfall.services.customers.journeys import JourneyConfig
from footfall.services.customers.runtime import start_customers
from footfall.services.customers.service import CustomersConfig
from footfall.services.vision.publisher import EventContext, track_end_event, zone_event
from tests.conftest import unique_org
from tests.customers.sim import Person, rect, simulate

ZONES = [rect("shelves", 150, 0, 300, 200), rect("checkout", 350, 200, 480, 360)]


TWO_PEOPLE = [
    Person(1, [(0, 50, 300), (3, 200, 100), (15, 210, 110), (18, 400, 300), (25, 470, 300)]),
    Person(2, [(2, 60, 300), (6, 220, 120), (10, 220, 120), (12, 60, 340)]),
]


def vision_envelopes(org: str, camera: str, base: float, people: list[Person] = TWO_PEOPLE) -> list:  # type: ignore[type-arg]
    """What the vision service publishes for people walking through the scene (stream time + base)."""
    ctx = EventContext(
        org=org, camera_id=camera, session_id="sess-1",
        wall_time=lambda t: datetime.fromtimestamp(base + t, UTC), track_key=lambda tid: f"sess-1:{tid}",
        line_ids={}, frame_size=(480, 360),
    )
    outgoing = []
    for frame in simulate(people, ZONES):
        outgoing += [zone_event(ctx, ev) for ev in frame.zone_events]
        outgoing += [track_end_event(ctx, end) for end in frame.ended]
    return [make_envelope(org, "vision", o.event, o.payload, event_id=o.event_id, occurred_at=o.occurred_at)
            for o in outgoing]


async def wait_for(predicate, timeout: float = 20.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await predicate()
        if value:
            return value
        await asyncio.sleep(0.1)
    raise AssertionError("condition not met in time")


async def test_nats_events_build_journeys_once_and_publish_customer_events(
    database: Database, event_bus: EventBus
) -> None:
    org = unique_org()
    received: list = []  # type: ignore[type-arg]

    async def collect(batch):  # type: ignore[no-untyped-def]
        received.extend(e for e in batch if e.envelope)

    event_bus.consume("test-customers-out", event_bus.subject("*", "customers", "*"), collect)
    # No stationary stitching: visits complete 2 s (not 10 s) after their track ends, to keep the test short.
    journey = JourneyConfig(confirm_s=3.0, open_tracks_present=True, stationary_gap_s=0)
    config = CustomersConfig(journey=journey, idle_flush_s=0.3, dispatch_interval_s=0.1)
    runtime = await start_customers(Settings(), database, event_bus, None, config=config)
    try:
        envelopes = vision_envelopes(org, "GATE_A", time.time() - 60)
        for env in envelopes:
            await event_bus.publish(env)

        async def two_completed():  # type: ignore[no-untyped-def]
            rows = await runtime.customers.latest_journeys(org)
            return rows if len(rows) == 2 and all(r.status == "completed" for r in rows) else None

        rows = await wait_for(two_completed)
        by_zone = {tuple(r.journey.zones_visited): r for r in rows}
        assert set(by_zone) == {("shelves", "checkout"), ("shelves",)}
        long = by_zone[("shelves", "checkout")].journey
        assert long.total_duration == 25.0 and long.dwell_times["shelves"] > 10
        assert len(long.path_coordinates) > 20

        # Redelivery: the same events again, under new NATS message ids so JetStream does not drop them.
        for env in envelopes:
            await event_bus.js.publish(event_bus.subject(org, "vision", env.type), env.SerializeToString(),
                                       headers={"Nats-Msg-Id": env.event_id + "-again"})
        await asyncio.sleep(2.0)
        assert len(await runtime.customers.latest_journeys(org)) == 2

        async def four_events():  # type: ignore[no-untyped-def]
            mine = [e for e in received if e.org == org]
            return mine if len(mine) >= 4 else None

        mine = await wait_for(four_events)
        await asyncio.sleep(0.5)
        mine = [e for e in received if e.org == org]
        assert sorted(e.envelope.type for e in mine) == ["customer_entry"] * 2 + ["journey_complete"] * 2
        completed = [unpack(e.envelope, customers_pb2.JourneyCompleted) for e in mine if e.envelope.type == "journey_complete"]
        assert {tuple(c.journey.zones_visited) for c in completed} == set(by_zone)
        assert all(c.journey.status == customers_pb2.JOURNEY_STATUS_COMPLETED for c in completed)
        entered = [unpack(e.envelope, customers_pb2.CustomerEntered) for e in mine if e.envelope.type == "customer_entry"]
        assert {c.journey_id for c in entered} == {r.id for r in rows}
    finally:
        await runtime.stop()


def strip_track_hints(envelope):  # type: ignore[no-untyped-def]
    """The envelope as a producer without ZoneEntered.anchor/track_first_seen_at would have sent it."""
    if envelope.type != "zone_entered":
        return envelope
    m = unpack(envelope, events_pb2.ZoneEntered)
    m.ClearField("anchor")
    m.ClearField("track_first_seen_at")
    envelope.payload.Pack(m)
    return envelope


async def test_online_journey_is_stitched_across_a_track_id_change(database: Database, event_bus: EventBus) -> None:
    # Track 1 is lost inside the shelves at t=20; the tracker finds the person again 0.8 s later 20 px away,
    # just outside the zone, as track 2, which only enters the shelves at t=23.3 (inside by the zones' hysteresis
    # margin, at x=161): its zone_entered is the first the customers service hears of it, 3.3 s after track 1 was
    # last seen (> stitch_gap_s without first-seen).
    people = [
        Person(1, [(0, 50, 300), (5, 160, 100), (20, 160, 100)]),
        Person(2, [(20.8, 140, 100), (23.0, 140, 100), (23.5, 175, 100), (40, 175, 100), (45, 470, 300)]),
    ]
    journey = JourneyConfig(confirm_s=3.0, open_tracks_present=True, stationary_gap_s=0)
    config = CustomersConfig(journey=journey, idle_flush_s=0.3, dispatch_interval_s=0.1)
    runtime = await start_customers(Settings(), database, event_bus, None, config=config)
    try:
        org, old_org = unique_org(), unique_org()
        base = time.time() - 60
        envelopes = vision_envelopes(org, "GATE_A", base, people)
        entries = [unpack(e, events_pb2.ZoneEntered) for e in envelopes if e.type == "zone_entered"]
        (entered,) = [m for m in entries if m.track_id == "sess-1:2" and m.zone_name == "shelves"]
        assert entered.HasField("anchor") and (entered.anchor.x, entered.anchor.y) == pytest.approx((161, 100))
        assert entered.track_first_seen_at.ToNanoseconds() / 1e9 == pytest.approx(base + 20.8, abs=1e-3)
        assert entered.occurred_at.ToNanoseconds() / 1e9 == pytest.approx(base + 23.3, abs=1e-3)
        for env in envelopes:
            await event_bus.publish(env)
        # The same scene from a producer without the new fields: two customers.
        for env in vision_envelopes(old_org, "GATE_A", base, people):
            await event_bus.publish(strip_track_hints(env))

        async def completed(o: str, n: int):  # type: ignore[no-untyped-def]
            rows = await runtime.customers.latest_journeys(o)
            return rows if len(rows) == n and all(r.status == "completed" for r in rows) else None

        (row,) = await wait_for(lambda: completed(org, 1))
        j = row.journey
        assert j.entry_time == pytest.approx(base) and j.total_duration == pytest.approx(45.0)
        assert j.zones_visited[0] == "shelves" and j.zones_visited[-1] == "checkout"
        assert len(await wait_for(lambda: completed(old_org, 2))) == 2
    finally:
        await runtime.stop()
