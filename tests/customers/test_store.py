"""The customers service against a real PostgreSQL: journeys from events, RLS, conversion, stats, paging."""

from __future__ import annotations

import asyncio
import time

import psycopg
import pytest

from footfall.services.core.db import Database
from footfall.services.core.errors import InvalidArgument, NotFound
from footfall.services.customers.conversion import POSTransaction
from footfall.services.customers.journeys import CustomerEntry, JourneyComplete, JourneyConfig
from footfall.services.customers.models import JourneyFilter
from footfall.services.customers.service import Customers, CustomersConfig
from tests.conftest import unique_org
from tests.customers.factories import tick, visit_events

T0 = 1_700_000_000.0


def customers(db: Database, **kw) -> Customers:  # type: ignore[no-untyped-def]
    return Customers(db, config=CustomersConfig(**kw))


async def outbox(db: Database, org: str) -> list[dict]:  # type: ignore[type-arg]
    async with db.tenant(org) as conn:
        cur = await conn.execute("SELECT event, body FROM customer_events ORDER BY created_at, event")
        return list(await cur.fetchall())


async def test_vision_events_become_journeys_once(database: Database) -> None:
    svc, org = customers(database), unique_org()
    events = visit_events("GATE_A", "s1-1", T0, T0 + 120, [("shelves", T0 + 5, T0 + 60), ("checkout", T0 + 70, T0 + 110)])
    out = await svc.apply_vision_events(org, events[:2])  # enter + exit of the shelves
    assert [type(e) for e in out] == [CustomerEntry]  # open tracks count as present: confirmed after 3 s
    active = await svc.latest_journeys(org)
    assert len(active) == 1 and active[0].journey.exit_time is None and active[0].status == "active"
    out = await svc.apply_vision_events(org, events[2:] + [tick("GATE_A", T0 + 140)])
    done = [e for e in out if isinstance(e, JourneyComplete)]
    assert len(done) == 1
    # Redelivery of everything changes nothing.
    assert await svc.apply_vision_events(org, events + [tick("GATE_A", T0 + 141)]) == []
    rows = await svc.latest_journeys(org)
    (rec,) = rows
    assert rec.journey.session_id == done[0].journey.session_id
    j = rec.journey
    assert rec.camera_id == "GATE_A" and rec.status == "completed"
    assert j.entry_time == pytest.approx(T0) and j.exit_time == pytest.approx(T0 + 120)
    assert j.total_duration == pytest.approx(120)
    assert j.zones_visited == ["shelves", "checkout"]
    assert j.dwell_times == {"shelves": pytest.approx(55), "checkout": pytest.approx(40)}
    assert j.behavior_pattern == "browser" and j.conversion_status == "No Purchase"
    assert len(j.path_coordinates) == 121
    kinds = [r["event"] for r in await outbox(database, org)]
    assert kinds == ["customer_entry", "journey_complete"]
    assert await svc.count_journeys(org) == 1


async def test_row_level_security_isolates_organisations(database: Database) -> None:
    svc, org_a, org_b = customers(database), unique_org(), unique_org()
    await svc.apply_vision_events(org_a, visit_events("CAM", "t1", T0, T0 + 30) + [tick("CAM", T0 + 45)])
    assert await svc.count_journeys(org_a) >= 1
    assert await svc.count_journeys(org_b) == 0
    assert await svc.latest_journeys(org_b) == []
    rec = (await svc.latest_journeys(org_a))[0]
    with pytest.raises(NotFound):
        await svc.get_journey(org_b, rec.id)
    async with database.tenant(org_b) as conn:
        for table in ("journeys", "customer_events", "journey_builder_state", "processed_events"):
            cur = await conn.execute(f"SELECT count(*) AS n FROM {table}")
            assert (await cur.fetchone())["n"] == 0, table
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        async with database.tenant(org_b) as conn:
            await conn.execute(
                "INSERT INTO pos_transactions (org_id, transaction_id, transaction_time) VALUES (%s, 'x', now())",
                (org_a,),
            )


async def test_transactions_convert_journeys_in_either_order(database: Database) -> None:
    svc, org = customers(database), unique_org()
    # A sale recorded before the visit completes is claimed when it completes.
    txn, journey, created = await svc.record_transaction(org, POSTransaction("pos-1", T0 + 100, 42.5, zone="checkout"))
    assert created and journey is None and txn.journey_id is None
    payer = visit_events("CAM", "payer", T0, T0 + 120, [("checkout", T0 + 90, T0 + 115)])
    browser = visit_events("CAM", "browser", T0 + 10, T0 + 125, [("shelves", T0 + 20, T0 + 120)], x0=300)
    await svc.apply_vision_events(org, payer + browser + [tick("CAM", T0 + 200)])
    recs = {r.journey.zones_visited[0]: r for r in await svc.latest_journeys(org)}
    assert recs["checkout"].journey.conversion_status == "Purchased"
    assert recs["checkout"].transaction_ids == ["pos-1"] and recs["checkout"].purchase_amount == 42.5
    assert recs["shelves"].journey.conversion_status == "No Purchase"
    # A sale recorded afterwards matches the stored journey; the same id again changes nothing.
    txn, journey, created = await svc.record_transaction(org, POSTransaction("pos-2", T0 + 118, 10, zone="shelves"))
    assert created and journey is not None and journey.id == recs["shelves"].id
    assert journey.journey.conversion_status == "Purchased" and journey.purchase_amount == 10
    txn, journey, created = await svc.record_transaction(org, POSTransaction("pos-2", T0 + 118, 99, zone="shelves"))
    assert not created and txn.amount == 10 and journey is not None
    # Nobody there: stored unmatched.
    txn, journey, created = await svc.record_transaction(org, POSTransaction("pos-3", T0 + 5000, 1))
    assert created and journey is None
    stats = await svc.journey_stats(org, JourneyFilter(start_time=T0 - 1, end_time=T0 + 10000))
    assert stats.transactions == 3 and stats.unmatched_transactions == 1 and stats.revenue == pytest.approx(53.5)
    assert stats.converted_journeys == 2 and stats.completed_journeys == 2 and stats.total_customers == 2
    assert stats.conversion_rate_percent == pytest.approx(stats.converted_journeys / stats.completed_journeys * 100)
    zones = {z.zone: z for z in stats.zones}
    assert zones["checkout"].journeys == 1 and zones["checkout"].average_dwell_s == pytest.approx(25)


async def test_listing_pages_and_filters(database: Database) -> None:
    svc, org = customers(database, journey=JourneyConfig(confirm_s=0, min_duration_s=0, open_tracks_present=True)), unique_org()
    events = []
    for i in range(7):
        start = T0 + i * 1000
        events += visit_events("A" if i % 2 else "B", f"t{i}", start, start + 30 + i, [("z1", start + 1, start + 5)])
    await svc.apply_vision_events(org, events + [tick("A", T0 + 9000), tick("B", T0 + 9000)])
    f = JourneyFilter(zone="z1")
    seen, token = [], ""
    while True:
        page, token = await svc.list_journeys(org, f, 3, token)
        seen += page
        if not token:
            break
    assert len(seen) == 7
    entries = [r.journey.entry_time for r in seen]
    assert entries == sorted(entries, reverse=True)
    only_a, _ = await svc.list_journeys(org, JourneyFilter(camera_id="A", zone="z1", status="completed"))
    assert len(only_a) == 3 and all(r.camera_id == "A" for r in only_a)
    window, _ = await svc.list_journeys(org, JourneyFilter(start_time=T0 + 1000, end_time=T0 + 3000, zone="z1"))
    assert len(window) == 2
    with pytest.raises(InvalidArgument):
        await svc.list_journeys(org, f, 3, "not-a-token")
    with pytest.raises(InvalidArgument):
        await svc.list_journeys(org, f, -1)


async def test_quiet_cameras_complete_by_the_wall_clock(database: Database) -> None:
    quick = JourneyConfig(confirm_s=3.0, open_tracks_present=True, stationary_gap_s=0)
    svc, org = customers(database, idle_flush_s=0.2, journey=quick), unique_org()
    now = time.time()
    out = await svc.apply_vision_events(org, visit_events("QUIET", "q1", now - 20, now - 3, lost_s=1.0))
    assert not any(isinstance(e, JourneyComplete) for e in out)  # the stitching window is still open
    done = []
    for _ in range(40):
        done += [e for e in await svc.flush_quiet_cameras() if isinstance(e, JourneyComplete) and e.camera_id == "QUIET"]
        if done:
            break
        await asyncio.sleep(0.1)
    assert len(done) == 1 and done[0].journey.total_duration == pytest.approx(17)
