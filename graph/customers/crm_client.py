"""The CRM calls of `footfall.v1.CustomersService` (customer records and seed 004's analytics), mixed into
`CustomersClient` so the gateway keeps one typed client per service."""

from __future__ import annotations

from footfall.graph.core.client import Identity
from footfall.v1 import customers_pb2, customers_pb2_grpc
from google.protobuf.field_mask_pb2 import FieldMask


class CustomerRecordsCalls:
    """Needs `stub` and `unary` from `ServiceClient`/`CustomersClient`."""

    stub: customers_pb2_grpc.CustomersServiceStub

    async def create_customer(self, caller: Identity, customer: customers_pb2.Customer) -> customers_pb2.Customer:
        request = customers_pb2.CreateCustomerRequest(customer=customer)
        return (await self.unary(self.stub.CreateCustomer, request, caller)).customer  # type: ignore[attr-defined]

    async def get_customer(self, caller: Identity, customer_id: int) -> customers_pb2.Customer:
        request = customers_pb2.GetCustomerRequest(id=customer_id)
        return (await self.unary(self.stub.GetCustomer, request, caller)).customer  # type: ignore[attr-defined]

    async def update_customer(
        self, caller: Identity, customer: customers_pb2.Customer, paths: list[str]
    ) -> customers_pb2.Customer:
        request = customers_pb2.UpdateCustomerRequest(customer=customer, update_mask=FieldMask(paths=paths))
        return (await self.unary(self.stub.UpdateCustomer, request, caller)).customer  # type: ignore[attr-defined]

    async def list_customers(
        self, caller: Identity, request: customers_pb2.ListCustomersRequest
    ) -> customers_pb2.ListCustomersResponse:
        return await self.unary(self.stub.ListCustomers, request, caller)  # type: ignore[attr-defined, no-any-return]

    async def add_interaction(
        self, caller: Identity, interaction: customers_pb2.Interaction
    ) -> customers_pb2.Interaction:
        request = customers_pb2.AddInteractionRequest(interaction=interaction)
        return (await self.unary(self.stub.AddInteraction, request, caller)).interaction  # type: ignore[attr-defined]

    async def assign_segment(
        self, caller: Identity, segment: customers_pb2.CustomerSegment
    ) -> customers_pb2.CustomerSegment:
        request = customers_pb2.AssignSegmentRequest(segment=segment)
        return (await self.unary(self.stub.AssignSegment, request, caller)).segment  # type: ignore[attr-defined]

    async def customer_analytics(
        self, caller: Identity, customer_id: int, include_recent: bool, recent_limit: int
    ) -> customers_pb2.CustomerAnalytics:
        request = customers_pb2.GetCustomerAnalyticsRequest(
            customer_id=customer_id, include_recent_interactions=include_recent, recent_interactions_limit=recent_limit
        )
        return (await self.unary(self.stub.GetCustomerAnalytics, request, caller)).analytics  # type: ignore[attr-defined]

    async def segment_analytics(
        self, caller: Identity, segment_name: str, include_timeline: bool, timeline_days: int
    ) -> customers_pb2.SegmentAnalytics:
        request = customers_pb2.GetSegmentAnalyticsRequest(
            segment_name=segment_name, include_timeline=include_timeline, timeline_days=timeline_days
        )
        return (await self.unary(self.stub.GetSegmentAnalytics, request, caller)).analytics  # type: ignore[attr-defined]

    async def segment_names(self, caller: Identity) -> list[str]:
        """Every segment name with an active member (all pages)."""
        names: list[str] = []
        token = ""
        while True:
            request = customers_pb2.ListSegmentsRequest(page_size=1000, page_token=token)
            reply = await self.unary(self.stub.ListSegments, request, caller)  # type: ignore[attr-defined]
            names += reply.segment_names
            token = reply.next_page_token
            if not token:
                return names

    async def organization_summary(self, caller: Identity) -> customers_pb2.OrganizationSummary:
        request = customers_pb2.GetOrganizationSummaryRequest()
        return (await self.unary(self.stub.GetOrganizationSummary, request, caller)).summary  # type: ignore[attr-defined]

    async def dashboard_metrics(self, caller: Identity) -> customers_pb2.DashboardMetrics:
        request = customers_pb2.GetDashboardMetricsRequest()
        return (await self.unary(self.stub.GetDashboardMetrics, request, caller)).metrics  # type: ignore[attr-defined]
