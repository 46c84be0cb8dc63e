"""Seed 004's analytics routes, exactly: thin adapters over CustomersService's analytics RPCs.

* `GET /api/v1/analytics/customers/{customer_id}/analytics` (include_recent_interactions, recent_interactions_limit 1-20)
* `GET /api/v1/analytics/segments/{segment_name}/analytics` (include_timeline, timeline_days 7-365)
* `GET /api/v1/analytics/segments` (a JSON list of names)
* `GET /api/v1/analytics/organization/summary`
* `GET /api/v1/analytics/dashboard/metrics`

Any logged-in reader; `organization_id` lets a platform admin pick the organisation (`crm_access`). Errors are
seed 004's: 401 `{"detail": "Not authenticated"}`, 404 `{"detail": "Customer with ID 123 not found"}`, 422
`{"detail": [{"field", "message"}]}`. Every request is in the audit log (`crm_access.audited`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query
from footfall.graph.core.errors import FIELD_LIST, invalid_parameter
from footfall.graph.core.rest import INT64_MAX, client, domain_router, error_responses
from footfall.graph.customers.client import CustomersClient
from footfall.graph.customers.crm_access import analytics_caller, audited
from footfall.graph.customers.crm_models import (
    CustomerAnalyticsOut,
    DashboardMetricsOut,
    OrganizationSummaryOut,
    SegmentAnalyticsOut,
)
from footfall.graph.security.auth import Caller
from footfall.services.core.errors import InvalidArgument
from footfall.services.customers.records import domain
from starlette.requests import Request

router = domain_router("/api/v1/analytics", tags=["analytics"], style=FIELD_LIST)
Customers = Annotated[CustomersClient, Depends(client(CustomersClient))]
AnalyticsCaller = Annotated[Caller, Depends(analytics_caller)]
CustomerId = Annotated[int, Path(ge=1, le=INT64_MAX, description="The customer's id")]
_ERRORS = error_responses(404, 422)


def _within(value: int, name: str, bounds: tuple[int, int]) -> int:
    """Seed 004's range message ("recent_interactions_limit must be between 1 and 20") as a 422 field error."""
    try:
        return domain.check_range(value, name, bounds)
    except InvalidArgument as err:
        raise invalid_parameter(name, str(err)) from None


@router.get("/customers/{customer_id}/analytics", responses=_ERRORS, summary="Get customer analytics")
async def customer_analytics(
    request: Request,
    caller: AnalyticsCaller,
    customers: Customers,
    customer_id: CustomerId,
    include_recent_interactions: Annotated[bool, Query(description="Include recent interactions")] = True,
    recent_interactions_limit: Annotated[int, Query(description="Number of recent interactions (1-20)")] = 5,
) -> CustomerAnalyticsOut:
    """Interaction counts by type and status, the customer's segments and latest interactions."""
    limit = _within(recent_interactions_limit, "recent_interactions_limit", domain.RECENT_LIMIT_RANGE)
    reply = await audited(
        request.app.state.clients, caller, request.url.path,
        customers.customer_analytics(caller, customer_id, include_recent_interactions, limit),
        {"report": "customer", "customer_id": customer_id},
    )
    return CustomerAnalyticsOut.of(reply)


@router.get("/segments/{segment_name}/analytics", responses=_ERRORS, summary="Get segment analytics")
async def segment_analytics(
    request: Request,
    caller: AnalyticsCaller,
    customers: Customers,
    segment_name: Annotated[str, Path(max_length=200, description="Segment name (e.g. premium, vip)")],
    include_timeline: Annotated[bool, Query(description="Include activity timeline")] = True,
    timeline_days: Annotated[int, Query(description="Number of days for timeline (7-365)")] = 30,
) -> SegmentAnalyticsOut:
    """The segment's active members, their interactions by type and per day; an unknown name gives zeros."""
    try:
        name = domain.check_segment_name(segment_name)
    except InvalidArgument as err:
        raise invalid_parameter("segment_name", str(err), where="path") from None
    days = _within(timeline_days, "timeline_days", domain.TIMELINE_DAYS_RANGE)
    reply = await audited(
        request.app.state.clients, caller, request.url.path,
        customers.segment_analytics(caller, name, include_timeline, days),
        {"report": "segment", "segment_name": name},
    )
    return SegmentAnalyticsOut.of(reply)


@router.get("/segments", responses=error_responses(422), summary="List available segments")
async def list_segments(request: Request, caller: AnalyticsCaller, customers: Customers) -> list[str]:
    """Names of the segments with at least one active member, alphabetically."""
    return await audited(
        request.app.state.clients, caller, request.url.path, customers.segment_names(caller), {"report": "segments"}
    )


@router.get("/organization/summary", responses=error_responses(422), summary="Get organization summary")
async def organization_summary(request: Request, caller: AnalyticsCaller, customers: Customers) -> OrganizationSummaryOut:
    """Customers, interactions, members per segment and interactions per day over the last 30 days."""
    reply = await audited(
        request.app.state.clients, caller, request.url.path, customers.organization_summary(caller),
        {"report": "organization_summary"},
    )
    return OrganizationSummaryOut.of(reply)


@router.get("/dashboard/metrics", responses=error_responses(422), summary="Get dashboard metrics")
async def dashboard_metrics(request: Request, caller: AnalyticsCaller, customers: Customers) -> DashboardMetricsOut:
    """Customers; interactions today, in the last 7 and 30 days; the 5 largest segments; the last 7 days."""
    reply = await audited(
        request.app.state.clients, caller, request.url.path, customers.dashboard_metrics(caller),
        {"report": "dashboard"},
    )
    return DashboardMetricsOut.of(reply)
