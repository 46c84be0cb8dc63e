"""Seed 004's analytics as a Python API, bound to one organisation like the seed's service:

    analytics = CustomerAnalyticsService(db, organization_id)
    metrics = await analytics.get_customer_metrics(customer_id)
    segment = await analytics.get_segment_analytics("premium")

The gRPC methods, and through them the REST routes and GraphQL fields, call exactly these. Every figure is
grouped in SQL (`analytics_store`); one answer uses one "now" (`calculated_at`) for all its day windows.
"""

from __future__ import annotations

from footfall.services.core.db import Database
from footfall.services.core.errors import InvalidArgument, NotFound
from footfall.services.core.tenancy import validate_org
from footfall.services.customers.records import analytics_store, store
from footfall.services.customers.records.domain import (
    DASHBOARD_ACTIVITY_DAYS,
    DASHBOARD_TOP_SEGMENTS,
    DEFAULT_RECENT_LIMIT,
    DEFAULT_TIMELINE_DAYS,
    RECENT_LIMIT_RANGE,
    SUMMARY_TREND_DAYS,
    TIMELINE_DAYS_RANGE,
    CustomerAnalytics,
    DashboardMetrics,
    OrganizationSummary,
    SegmentAnalytics,
    average,
    check_id,
    check_range,
    check_segment_name,
    customer_not_found,
    last_days,
)
from footfall.services.customers.records.service import Clock, page_size, utc_now
from footfall.services.customers.service import decode_token, encode_token


class CustomerAnalyticsService:
    """Analytics of one organisation's customers (seed 004's `CustomerAnalyticsService(db, organization_id)`)."""

    def __init__(self, db: Database, organization_id: str, *, clock: Clock = utc_now) -> None:
        self.db = db
        self.organization_id = validate_org(organization_id)
        self.clock = clock

    async def get_customer_metrics(
        self, customer_id: int, *, include_recent_interactions: bool = True,
        recent_interactions_limit: int = DEFAULT_RECENT_LIMIT,
    ) -> CustomerAnalytics:
        check_id(customer_id)
        limit = check_range(recent_interactions_limit, "recent_interactions_limit", RECENT_LIMIT_RANGE)
        org, now = self.organization_id, self.clock()
        async with self.db.tenant(org) as conn:
            customer = await store.get_customer(conn, org, customer_id)
            if customer is None:
                raise NotFound(customer_not_found(customer_id))
            total, last, by_type, by_status = await analytics_store.customer_breakdown(conn, org, customer_id)
            segments = await store.customer_segments(conn, org, customer_id)
            recent = await store.recent_interactions(conn, org, customer_id, limit) if include_recent_interactions else []
        return CustomerAnalytics(
            customer_id=customer.id, customer_name=customer.name, total_interactions=total,
            last_interaction_date=last, interaction_types=by_type, interaction_status=by_status,
            segments=segments, recent_interactions=recent, calculated_at=now,
        )

    async def get_segment_analytics(
        self, segment_name: str, *, include_timeline: bool = True, timeline_days: int = DEFAULT_TIMELINE_DAYS
    ) -> SegmentAnalytics:
        """The segment's active members and their interactions; a name nobody has gives zeros."""
        name = check_segment_name(segment_name)
        days = check_range(timeline_days, "timeline_days", TIMELINE_DAYS_RANGE)
        org, now = self.organization_id, self.clock()
        async with self.db.tenant(org) as conn:
            customers, by_type, timeline = await analytics_store.segment_breakdown(conn, org, name, last_days(now, days))
        total = sum(by_type.values())
        return SegmentAnalytics(
            segment_name=name, total_customers=customers, total_interactions=total,
            avg_interactions_per_customer=average(total, customers), interaction_distribution=by_type,
            activity_timeline=timeline if include_timeline else [], calculated_at=now,
        )

    async def list_segments(self, requested_page_size: int = 0, page_token: str = "") -> tuple[list[str], str]:
        """Segment names with an active member, alphabetically, a page at a time."""
        limit = page_size(requested_page_size)
        after = decode_token(page_token).get("after", "") if page_token else ""
        if not isinstance(after, str):
            raise InvalidArgument("invalid page_token")
        async with self.db.tenant(self.organization_id) as conn:
            names = await analytics_store.active_segment_names(conn, self.organization_id, after, limit + 1)
        if len(names) > limit:
            return names[:limit], encode_token({"after": names[limit - 1]})
        return names, ""

    async def get_available_segments(self) -> list[str]:
        """Every segment name with an active member (the seed's `GET /analytics/segments`)."""
        out: list[str] = []
        token = ""
        while True:
            names, token = await self.list_segments(0, token)
            out += names
            if not token:
                return out

    async def get_organization_summary(self) -> OrganizationSummary:
        org, now = self.organization_id, self.clock()
        async with self.db.tenant(org) as conn:
            customers, interactions = await analytics_store.totals(conn, org)
            sizes = await analytics_store.segment_sizes(conn, org)
            trends = await analytics_store.org_timeline(conn, org, last_days(now, SUMMARY_TREND_DAYS))
        return OrganizationSummary(
            organization_id=org, total_customers=customers, total_interactions=interactions,
            segment_distribution={s.segment_name: s.customer_count for s in sizes},
            interaction_trends=trends, calculated_at=now,
        )

    async def get_dashboard_metrics(self) -> DashboardMetrics:
        org, now = self.organization_id, self.clock()
        today, week, month = last_days(now, 1), last_days(now, 7), last_days(now, 30)
        async with self.db.tenant(org) as conn:
            customers = await analytics_store.customer_count(conn, org)
            n_today, n_week, n_month = await analytics_store.window_counts(conn, org, today, week, month)
            top = await analytics_store.segment_sizes(conn, org, DASHBOARD_TOP_SEGMENTS)
            activity = await analytics_store.org_timeline(conn, org, last_days(now, DASHBOARD_ACTIVITY_DAYS))
        return DashboardMetrics(
            total_customers=customers, total_interactions_today=n_today, total_interactions_week=n_week,
            total_interactions_month=n_month, top_segments=top, recent_activity=activity, calculated_at=now,
        )
