"""Seed 004's segment, organisation and dashboard analytics read the per-day rollups of migration 0013: their
answers must equal the direct SQL over the raw interactions, today's and future-dated rows included, after
every kind of write (inserts, updates of type, day or status, segment moves, renames, deletes, cascades)."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import pytest
from footfall.services.core.db import Database
from footfall.services.customers.records import CustomerAnalyticsService
from footfall.services.customers.records.domain import InteractionDraft, SegmentAssignment, last_days

from tests.conftest import unique_org
from tests.customers_crm import generated
from tests.customers_crm.conftest import Crm

_DAY = "(i.interaction_date AT TIME ZONE 'UTC')::date"


async def _rows(db: Database, org: str, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    async with db.tenant(org) as conn:
        cur = await conn.execute(sql, {"org": org, **params})
        return list(await cur.fetchall())


async def direct_segment(db: Database, org: str, segment: str, first: date, last: date) -> tuple[int, dict[str, int], list[tuple[date, int]]]:
    """(members, by type, per day in [first, last]) straight from customer_interactions."""
    members = "SELECT customer_id FROM customer_segments WHERE org_id = %(org)s AND segment_name = %(s)s AND is_active"
    p = {"s": segment, "first": first, "last": last}
    count = (await _rows(db, org, f"SELECT count(*) AS n FROM ({members}) m", p))[0]["n"]
    joined = f"FROM ({members}) m JOIN customer_interactions i ON i.org_id = %(org)s AND i.customer_id = m.customer_id"
    by_type = await _rows(db, org, f"SELECT i.interaction_type AS k, count(*) AS n {joined} GROUP BY 1", p)
    days = await _rows(db, org, f"SELECT {_DAY} AS d, count(*) AS n {joined} WHERE {_DAY} BETWEEN %(first)s AND "
                                f"%(last)s GROUP BY 1 ORDER BY 1", p)
    return count, {r["k"]: r["n"] for r in by_type}, [(r["d"], r["n"]) for r in days]


async def direct_org_days(db: Database, org: str, first: date, last: date) -> list[tuple[date, int]]:
    rows = await _rows(db, org, f"SELECT {_DAY} AS d, count(*) AS n FROM customer_interactions i WHERE "
                                f"i.org_id = %(org)s AND {_DAY} BETWEEN %(first)s AND %(last)s GROUP BY 1 ORDER BY 1",
                       {"first": first, "last": last})
    return [(r["d"], r["n"]) for r in rows]


async def assert_same_answers(db: Database, org: str, now: datetime) -> None:
    analytics = CustomerAnalyticsService(db, org, clock=lambda: now)
    segments = [r["segment_name"] for r in await _rows(
        db, org, "SELECT DISTINCT segment_name FROM customer_segments WHERE org_id = %(org)s", {})]
    assert segments, "the data has segments"
    for name in segments + ["nobody-has-this"]:
        for days in (7, 365):
            window = last_days(now, days)
            got = await analytics.get_segment_analytics(name, timeline_days=days)
            members, by_type, timeline = await direct_segment(db, org, name, window.first, window.last)
            assert (got.total_customers, got.interaction_distribution, got.total_interactions) == (
                members, by_type, sum(by_type.values())), name
            assert [(d.day, d.interaction_count) for d in got.activity_timeline] == timeline, name
    summary = await analytics.get_organization_summary()
    total = (await _rows(db, org, "SELECT count(*) AS n FROM customer_interactions WHERE org_id = %(org)s", {}))[0]["n"]
    month = last_days(now, 30)
    assert summary.total_interactions == total
    assert [(d.day, d.interaction_count) for d in summary.interaction_trends] == await direct_org_days(
        db, org, month.first, month.last)
    dashboard = await analytics.get_dashboard_metrics()
    counts = []
    for days in (1, 7, 30):
        window = last_days(now, days)
        counts.append(sum(n for _, n in await direct_org_days(db, org, window.first, window.last)))
    assert [dashboard.total_interactions_today, dashboard.total_interactions_week,
            dashboard.total_interactions_month] == counts
    week = last_days(now, 7)
    assert [(d.day, d.interaction_count) for d in dashboard.recent_activity] == await direct_org_days(
        db, org, week.first, week.last)
    await assert_rollups_recomputed(db, org)


async def assert_rollups_recomputed(db: Database, org: str) -> None:
    """The rollup tables hold exactly the full recomputation (zero rows aside)."""
    rolled = await _rows(db, org, """SELECT day, interaction_type, interaction_count FROM customer_interaction_days
                                     WHERE org_id = %(org)s AND interaction_count > 0 ORDER BY 1, 2""", {})
    full = await _rows(db, org, f"""SELECT {_DAY} AS day, interaction_type, count(*) AS interaction_count
                                    FROM customer_interactions i WHERE org_id = %(org)s GROUP BY 1, 2 ORDER BY 1, 2""", {})
    assert rolled == full
    rolled = await _rows(db, org, """SELECT segment_name, day, interaction_type, interaction_count
                                     FROM customer_segment_interaction_days
                                     WHERE org_id = %(org)s AND interaction_count > 0 ORDER BY 1, 2, 3""", {})
    full = await _rows(db, org, f"""SELECT s.segment_name, {_DAY} AS day, i.interaction_type,
                                           count(*) AS interaction_count
                                    FROM customer_segments s JOIN customer_interactions i
                                         ON i.org_id = s.org_id AND i.customer_id = s.customer_id
                                    WHERE s.org_id = %(org)s AND s.is_active GROUP BY 1, 2, 3 ORDER BY 1, 2, 3""", {})
    assert rolled == full


async def test_rollup_answers_equal_direct_sql_through_every_kind_of_write(crm: Crm) -> None:
    db = crm.records.db
    org = unique_org("crmroll")
    now = datetime.now(UTC)
    data = await generated.generate(crm.records, org, seed=11, customers=14, now=now)
    await assert_same_answers(db, org, now)

    ids = sorted(data.names)
    # Today's new rows are in the answers at once (nothing waits for a refresh).
    for kind in ("call", "email", "call"):
        await crm.records.add_interaction(org, InteractionDraft(ids[0], kind, "today", interaction_date=now))
    await crm.records.assign_segment(org, SegmentAssignment(ids[0], "premium"))
    await crm.records.assign_segment(org, SegmentAssignment(ids[1], "premium"))
    await assert_same_answers(db, org, now)
    # Leaving a segment takes the member's interactions away from it; coming back brings them again.
    await crm.records.assign_segment(org, SegmentAssignment(ids[1], "premium", is_active=False))
    await assert_same_answers(db, org, now)
    await crm.records.assign_segment(org, SegmentAssignment(ids[1], "premium", is_active=True))
    await assert_same_answers(db, org, now)

    async with db.tenant(org) as conn:
        # One statement moving many rows: type, day (to yesterday) and, for some, only the status.
        await conn.execute("""UPDATE customer_interactions SET interaction_type = 'meeting',
                                     interaction_date = interaction_date - interval '1 day'
                              WHERE org_id = %s AND customer_id = ANY(%s)""", (org, ids[:4]))
        await conn.execute("UPDATE customer_interactions SET status = 'completed' WHERE org_id = %s AND customer_id = %s",
                           (org, ids[5]))
        # An interaction moved to another customer, a renamed segment, deleted rows.
        await conn.execute("""UPDATE customer_interactions SET customer_id = %s
                              WHERE id = (SELECT min(id) FROM customer_interactions WHERE org_id = %s AND customer_id = %s)""",
                           (ids[6], org, ids[0]))
        await conn.execute("UPDATE customer_segments SET segment_name = 'renamed' WHERE org_id = %s AND segment_name = 'vip'",
                           (org,))
        await conn.execute("DELETE FROM customer_interactions WHERE org_id = %s AND customer_id = %s", (org, ids[2]))
        await conn.execute("DELETE FROM customer_segments WHERE org_id = %s AND customer_id = %s", (org, ids[3]))
    await assert_same_answers(db, org, now)
    # Erasing customers cascades to their interactions and segments.
    async with db.tenant(org) as conn:
        await conn.execute("DELETE FROM customers WHERE org_id = %s AND id = ANY(%s)", (org, ids[:3]))
    await assert_same_answers(db, org, now)
    # A later "now" reads the same rollups through other windows.
    await assert_same_answers(db, org, now + timedelta(days=3))


async def test_rollups_are_tenant_isolated(crm: Crm) -> None:
    db = crm.records.db
    org, other = unique_org("crmrolla"), unique_org("crmrollb")
    now = datetime.now(UTC)
    data = await generated.generate(crm.records, org, seed=12, customers=3, now=now)
    await crm.records.add_interaction(org, InteractionDraft(next(iter(data.names)), "call", interaction_date=now))
    assert await _rows(db, org, "SELECT 1 FROM customer_interaction_days WHERE org_id = %(org)s", {})
    for table in ("customer_interaction_days", "customer_segment_interaction_days"):
        assert not await _rows(db, other, f"SELECT 1 FROM {table} WHERE org_id = %(a)s", {"a": org})
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        async with db.tenant(other) as conn:
            await conn.execute("""INSERT INTO customer_interaction_days (org_id, day, interaction_type, interaction_count)
                                  VALUES (%s, current_date, 'call', 5)""", (org,))
    assert (await CustomerAnalyticsService(db, other).get_organization_summary()).total_interactions == 0


async def _wait_blocked_or_done(db: Database, task: asyncio.Task[Any]) -> None:
    """Until `task` waits on a lock (or has finished: then the race is lost and the rollups tell)."""
    deadline = asyncio.get_running_loop().time() + 30
    while not task.done():
        async with db.system() as conn:
            cur = await conn.execute("SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                     "AND datname = current_database()")
            if await cur.fetchone():
                return
        assert asyncio.get_running_loop().time() < deadline, "the second writer neither blocked nor finished"
        await asyncio.sleep(0.01)


@pytest.mark.parametrize("interaction_first", [True, False])
async def test_concurrent_interaction_and_segment_join_are_both_counted(crm: Crm, interaction_first: bool) -> None:
    """Two transactions in flight at once, one adding an interaction and one adding its customer to a segment:
    whichever commits first, the interaction ends up in the segment's rollup."""
    db = crm.records.db
    org = unique_org("crmrace")
    now = datetime.now(UTC)
    data = await generated.generate(crm.records, org, seed=13, customers=2, now=now)
    cid = min(data.names)
    join = SegmentAssignment(cid, "racers")
    add = InteractionDraft(cid, "feedback", "race", interaction_date=now)
    async with db.tenant(org) as conn:
        if interaction_first:
            await conn.execute("""INSERT INTO customer_interactions (org_id, customer_id, interaction_type, subject)
                                  VALUES (%s, %s, 'feedback', 'race')""", (org, cid))
            second = asyncio.create_task(crm.records.assign_segment(org, join))
        else:
            await conn.execute("""INSERT INTO customer_segments (org_id, customer_id, segment_name)
                                  VALUES (%s, %s, 'racers')""", (org, cid))
            second = asyncio.create_task(crm.records.add_interaction(org, add))
        await _wait_blocked_or_done(db, second)
    await second
    await assert_rollups_recomputed(db, org)
    got = await CustomerAnalyticsService(db, org).get_segment_analytics("racers")
    assert got.total_customers == 1 and got.interaction_distribution.get("feedback", 0) >= 1
