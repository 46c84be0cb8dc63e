"""The segment list on a table large enough for an index plan of its `SELECT DISTINCT`: on TimescaleDB that
plan was SkipScan, which failed under row-level security ("unsupported subplan type for SkipScan: Result")
until migration 0013's TimescaleDB variant turned it off. Same answers on plain PostgreSQL."""

from __future__ import annotations

from footfall.services.core.db import Database
from footfall.services.customers.records import CustomerAnalyticsService

from tests.conftest import unique_org

SEGMENTS = ["at_risk", "high_value", "new", "premium", "regular", "vip"]


async def test_segment_list_and_sizes_of_an_org_with_thousands_of_members(database: Database) -> None:
    org = unique_org("crmscale")
    async with database.system() as conn:
        await conn.execute(
            """INSERT INTO customers (org_id, name, email) SELECT %(org)s, 'Customer ' || g, 'c' || g || '@scale.example'
               FROM generate_series(1, 3000) g""", {"org": org})
        await conn.execute(
            """INSERT INTO customer_segments (org_id, customer_id, segment_name)
               SELECT %(org)s, id, (%(names)s::text[])[1 + id %% 6] FROM customers WHERE org_id = %(org)s""",
            {"org": org, "names": SEGMENTS})
    async with database.system() as conn:
        await conn.execute("ANALYZE customer_segments")  # the planner sees the rows: an index plan for DISTINCT

    analytics = CustomerAnalyticsService(database, org)
    assert await analytics.get_available_segments() == SEGMENTS
    summary = await analytics.get_organization_summary()
    assert summary.segment_distribution == {name: 500 for name in SEGMENTS}
