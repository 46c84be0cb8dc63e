"""SQL of seed 004's analytics: every count and breakdown is grouped by PostgreSQL, so an organisation with a
million interactions sends back a few dozen rows, never its interactions.

Segment, organisation and dashboard figures read the per-day rollups of migration 0013
(`customer_interaction_days`, `customer_segment_interaction_days`), which triggers keep equal to the
interactions at every commit: a segment's answer reads a few thousand rollup rows whatever its members'
history. One customer's breakdown reads their own interactions (an index range).

Days are UTC calendar days (`interaction_date AT TIME ZONE 'UTC'`); windows are whole days computed once by the
caller (`domain.last_days`) so that every figure of one answer uses the same "now". Rollup rows whose count
fell to zero are left out like days without interactions.

On TimescaleDB the rollups stay these trigger-kept tables, not continuous aggregates: against TimescaleDB 2.29.2
a real-time continuous aggregate of `customer_interaction_days` missed interactions added, moved or deleted in
days its refresh policy had already materialized until the next refresh (not the same answers as here), and
TimescaleDB refuses one over a table with row security. Its SkipScan failed on `active_segment_names` under row
security, so 0013's TimescaleDB variant turns SkipScan off. The suite runs on TimescaleDB with
`FOOTFALL_TEST_POSTGRES_BIN` (see tests/conftest.py); the analytics tests pass on both paths.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from footfall.services.customers.records.domain import DayCount, DayWindow, SegmentSize

Conn = psycopg.AsyncConnection[Any]

async def customer_breakdown(
    conn: Conn, org: str, customer_id: int
) -> tuple[int, datetime | None, dict[str, int], dict[str, int]]:
    """(total, last interaction date, count by type, count by status) of one customer, in one grouped scan."""
    cur = await conn.execute(
        """SELECT interaction_type, status, GROUPING(interaction_type, status) AS level,
                  count(*) AS n, max(interaction_date) AS last_date
           FROM customer_interactions WHERE org_id = %s AND customer_id = %s
           GROUP BY GROUPING SETS ((interaction_type), (status), ())""",
        (org, customer_id),
    )
    total, last, by_type, by_status = 0, None, {}, {}
    for row in await cur.fetchall():
        # GROUPING(): bit 1 set = interaction_type aggregated away, bit 0 set = status aggregated away.
        if row["level"] == 1:
            by_type[row["interaction_type"]] = int(row["n"])
        elif row["level"] == 2:
            by_status[row["status"]] = int(row["n"])
        else:
            total, last = int(row["n"]), row["last_date"]
    return total, last, by_type, by_status


async def segment_breakdown(
    conn: Conn, org: str, segment: str, window: DayWindow
) -> tuple[int, dict[str, int], list[DayCount]]:
    """(customers in the segment, their interactions by type, and per UTC day of `window`, days with none left
    out, oldest first)."""
    params = {"org": org, "segment": segment, "first": window.first, "last": window.last}
    cur = await conn.execute(
        """SELECT (SELECT count(*) FROM customer_segments
                   WHERE org_id = %(org)s AND segment_name = %(segment)s AND is_active) AS customers,
                  interaction_type AS kind, CASE WHEN day BETWEEN %(first)s AND %(last)s THEN day END AS in_window,
                  GROUPING(interaction_type) AS by_day, sum(interaction_count) AS n
           FROM customer_segment_interaction_days WHERE org_id = %(org)s AND segment_name = %(segment)s
           GROUP BY GROUPING SETS ((interaction_type), (in_window))
           HAVING sum(interaction_count) > 0 ORDER BY in_window""",
        params,
    )
    rows = await cur.fetchall()
    if not rows:
        cur = await conn.execute(
            """SELECT count(*) AS customers FROM customer_segments
               WHERE org_id = %(org)s AND segment_name = %(segment)s AND is_active""",
            params,
        )
        row = await cur.fetchone()
        return (int(row["customers"]) if row else 0), {}, []
    by_type = {r["kind"]: int(r["n"]) for r in rows if not r["by_day"]}
    timeline = [DayCount(r["in_window"], int(r["n"])) for r in rows if r["by_day"] and r["in_window"] is not None]
    return int(rows[0]["customers"]), by_type, timeline


async def org_timeline(conn: Conn, org: str, window: DayWindow) -> list[DayCount]:
    cur = await conn.execute(
        """SELECT day, sum(interaction_count) AS n FROM customer_interaction_days
           WHERE org_id = %s AND day BETWEEN %s AND %s GROUP BY day HAVING sum(interaction_count) > 0 ORDER BY day""",
        (org, window.first, window.last),
    )
    return [DayCount(r["day"], int(r["n"])) for r in await cur.fetchall()]


async def active_segment_names(conn: Conn, org: str, after: str, limit: int) -> list[str]:
    """Names of segments with at least one active member, alphabetically after `after`."""
    cur = await conn.execute(
        """SELECT DISTINCT segment_name FROM customer_segments
           WHERE org_id = %s AND is_active AND segment_name > %s ORDER BY segment_name LIMIT %s""",
        (org, after, limit),
    )
    return [r["segment_name"] for r in await cur.fetchall()]


async def segment_sizes(conn: Conn, org: str, limit: int | None = None) -> list[SegmentSize]:
    """Active members per segment, largest first (ties by name)."""
    cur = await conn.execute(
        """SELECT segment_name, count(*) AS n FROM customer_segments WHERE org_id = %s AND is_active
           GROUP BY segment_name ORDER BY n DESC, segment_name LIMIT %s""",
        (org, limit),
    )
    return [SegmentSize(r["segment_name"], int(r["n"])) for r in await cur.fetchall()]


async def customer_count(conn: Conn, org: str) -> int:
    cur = await conn.execute("SELECT count(*) AS n FROM customers WHERE org_id = %s", (org,))
    row = await cur.fetchone()
    return int(row["n"]) if row else 0


async def totals(conn: Conn, org: str) -> tuple[int, int]:
    """(customers, interactions) of the organisation."""
    cur = await conn.execute(
        """SELECT (SELECT count(*) FROM customers WHERE org_id = %(org)s) AS customers,
                  (SELECT coalesce(sum(interaction_count), 0) FROM customer_interaction_days
                   WHERE org_id = %(org)s) AS interactions""",
        {"org": org},
    )
    row = await cur.fetchone()
    assert row is not None
    return int(row["customers"]), int(row["interactions"])


async def window_counts(conn: Conn, org: str, today: DayWindow, week: DayWindow, month: DayWindow) -> tuple[int, int, int]:
    """Interactions dated in each window (the month window contains the other two)."""
    cur = await conn.execute(
        """SELECT coalesce(sum(interaction_count) FILTER (WHERE day >= %(today)s), 0) AS today,
                  coalesce(sum(interaction_count) FILTER (WHERE day >= %(week)s), 0) AS week,
                  coalesce(sum(interaction_count), 0) AS month
           FROM customer_interaction_days
           WHERE org_id = %(org)s AND day BETWEEN %(month)s AND %(last)s""",
        {"org": org, "today": today.first, "week": week.first, "month": month.first, "last": month.last},
    )
    row = await cur.fetchone()
    assert row is not None
    return int(row["today"]), int(row["week"]), int(row["month"])
