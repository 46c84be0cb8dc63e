"""gRPC adapter of the customer records and their analytics: the CRM methods of footfall.v1.CustomersService.

A mixin of :class:`footfall.services.customers.servicer.CustomersServicer` (one gRPC service, one servicer),
thin like it: proto -> domain, one call to :class:`CustomerRecords` or :class:`CustomerAnalyticsService`,
domain -> proto.
"""

from __future__ import annotations

import grpc
from footfall.services.core.errors import InvalidArgument
from footfall.services.core.grpc import maps_domain_errors, org_of
from footfall.services.customers.records import convert
from footfall.services.customers.records.analytics import CustomerAnalyticsService
from footfall.services.customers.records.domain import DEFAULT_RECENT_LIMIT, DEFAULT_TIMELINE_DAYS
from footfall.services.customers.records.service import CustomerRecords
from footfall.v1 import customers_pb2


class CustomerRecordsServicer:
    """The CRM RPCs; `records` is set by the servicer that mixes this in."""

    records: CustomerRecords

    def _analytics(self, context: grpc.aio.ServicerContext) -> CustomerAnalyticsService:
        return CustomerAnalyticsService(self.records.db, org_of(context), clock=self.records.clock)

    @maps_domain_errors
    async def CreateCustomer(self, request, context):  # type: ignore[no-untyped-def]
        customer = await self.records.create(org_of(context), convert.draft_of(request.customer))
        return customers_pb2.CreateCustomerResponse(customer=convert.customer_pb(customer))

    @maps_domain_errors
    async def GetCustomer(self, request, context):  # type: ignore[no-untyped-def]
        customer = await self.records.get(org_of(context), request.id)
        return customers_pb2.GetCustomerResponse(customer=convert.customer_pb(customer))

    @maps_domain_errors
    async def UpdateCustomer(self, request, context):  # type: ignore[no-untyped-def]
        if not request.HasField("customer"):
            raise InvalidArgument("customer is required")
        changes = convert.changes_of(request.customer, list(request.update_mask.paths))
        customer = await self.records.update(org_of(context), request.customer.id, changes)
        return customers_pb2.UpdateCustomerResponse(customer=convert.customer_pb(customer))

    @maps_domain_errors
    async def ListCustomers(self, request, context):  # type: ignore[no-untyped-def]
        rows, token, total = await self.records.list(
            org_of(context), request.page_size, request.page_token,
            loyalty_status=convert.loyalty_word(request.loyalty_status) or "", email=request.email,
        )
        return customers_pb2.ListCustomersResponse(
            customers=[convert.customer_pb(c) for c in rows], next_page_token=token, total_size=total
        )

    @maps_domain_errors
    async def AddInteraction(self, request, context):  # type: ignore[no-untyped-def]
        added = await self.records.add_interaction(org_of(context), convert.interaction_draft_of(request.interaction))
        return customers_pb2.AddInteractionResponse(interaction=convert.interaction_pb(added))

    @maps_domain_errors
    async def AssignSegment(self, request, context):  # type: ignore[no-untyped-def]
        if not request.HasField("segment"):
            raise InvalidArgument("segment is required")
        assigned = await self.records.assign_segment(org_of(context), convert.assignment_of(request.segment))
        return customers_pb2.AssignSegmentResponse(segment=convert.segment_pb(assigned))

    @maps_domain_errors
    async def GetCustomerAnalytics(self, request, context):  # type: ignore[no-untyped-def]
        include = request.include_recent_interactions if request.HasField("include_recent_interactions") else True
        analytics = await self._analytics(context).get_customer_metrics(
            request.customer_id, include_recent_interactions=include,
            recent_interactions_limit=request.recent_interactions_limit or DEFAULT_RECENT_LIMIT,
        )
        return customers_pb2.GetCustomerAnalyticsResponse(analytics=convert.customer_analytics_pb(analytics))

    @maps_domain_errors
    async def GetSegmentAnalytics(self, request, context):  # type: ignore[no-untyped-def]
        include = request.include_timeline if request.HasField("include_timeline") else True
        analytics = await self._analytics(context).get_segment_analytics(
            request.segment_name, include_timeline=include,
            timeline_days=request.timeline_days or DEFAULT_TIMELINE_DAYS,
        )
        return customers_pb2.GetSegmentAnalyticsResponse(analytics=convert.segment_analytics_pb(analytics))

    @maps_domain_errors
    async def ListSegments(self, request, context):  # type: ignore[no-untyped-def]
        names, token = await self._analytics(context).list_segments(request.page_size, request.page_token)
        return customers_pb2.ListSegmentsResponse(segment_names=names, next_page_token=token)

    @maps_domain_errors
    async def GetOrganizationSummary(self, request, context):  # type: ignore[no-untyped-def]
        summary = await self._analytics(context).get_organization_summary()
        return customers_pb2.GetOrganizationSummaryResponse(summary=convert.summary_pb(summary))

    @maps_domain_errors
    async def GetDashboardMetrics(self, request, context):  # type: ignore[no-untyped-def]
        metrics = await self._analytics(context).get_dashboard_metrics()
        return customers_pb2.GetDashboardMetricsResponse(metrics=convert.dashboard_pb(metrics))
