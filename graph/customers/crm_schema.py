"""The customer record and seed 004's analytics in GraphQL: thin resolvers over CustomersService.

    query { customers(first: 20, loyaltyStatus: GOLD) { totalCount edges { node { id name email } }
                                                        pageInfo { hasNextPage endCursor } } }
    query { customer(id: "7") { name loyaltyStatus } }
    query { customerAnalytics(customerId: "7", recentInteractionsLimit: 3) { totalInteractions
            interactionTypes { name count } recentInteractions { interactionType subject } } }
    query { segmentAnalytics(segmentName: "premium", timelineDays: 7) { totalCustomers activityTimeline { date interactionCount } } }
    query { segments organizationSummary { totalCustomers } dashboardMetrics { totalInteractionsToday } }
    mutation { createCustomer(input: {name: "Ada", email: "ada@example.com", loyaltyStatus: GOLD}) { id } }
    mutation { updateCustomer(id: "7", input: {loyaltyStatus: PLATINUM}) { loyaltyStatus } }
    mutation { addInteraction(customerId: "7", input: {interactionType: CALL, subject: "Hi"}) { id } }
    mutation { assignSegment(customerId: "7", input: {segmentName: "vip", segmentValue: 150}) { id } }

Like the REST routes, every analytics field is recorded in the audit log (`crm_access.audited`).
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

import strawberry
from footfall.graph.core.context import Info
from footfall.graph.core.convert import parse_id
from footfall.graph.core.pagination import DEFAULT_FIRST, AfterArg, Connection, FirstArg, check_first
from footfall.graph.core.schema import CanRead, CanWrite, SchemaModule
from footfall.graph.customers.client import CustomersClient
from footfall.graph.customers.crm_access import audited
from footfall.graph.customers.crm_types import (
    Customer,
    CustomerAnalytics,
    CustomerInput,
    CustomerSegment,
    CustomerUpdateInput,
    DashboardMetrics,
    ExternalIdInput,
    Interaction,
    InteractionInput,
    LoyaltyStatus,
    OrganizationSummary,
    SegmentAnalytics,
    SegmentInput,
)
from footfall.services.core.errors import NotFound
from footfall.services.customers.records.domain import DEFAULT_RECENT_LIMIT, DEFAULT_TIMELINE_DAYS
from footfall.v1 import customers_pb2
from google.protobuf.timestamp_pb2 import Timestamp
from strawberry.tools import merge_types

T = TypeVar("T")


def _client(info: Info) -> CustomersClient:
    return info.context.client(CustomersClient)


def _audited(info: Info, field: str, call: Awaitable[T], detail: dict[str, object]) -> Awaitable[T]:
    return audited(info.context.clients, info.context.caller, f"graphql:{field}", call, detail)


def _ids(ids: list[ExternalIdInput] | None) -> dict[str, str]:
    return {i.system: i.value for i in ids or ()}


def _stamp(value: object) -> Timestamp:
    out = Timestamp()
    out.FromDatetime(value)  # type: ignore[arg-type]
    return out


@strawberry.type
class CrmQuery:
    @strawberry.field(permission_classes=[CanRead], description="The organisation's customers by id, oldest first")
    async def customers(
        self, info: Info, first: FirstArg = DEFAULT_FIRST, after: AfterArg = None,
        loyalty_status: LoyaltyStatus | None = None, email: str | None = None,
    ) -> Connection[Customer]:
        request = customers_pb2.ListCustomersRequest(
            page_size=check_first(first), page_token=after or "", email=email or "",
            loyalty_status=loyalty_status.value if loyalty_status else 0,  # type: ignore[arg-type]
        )
        reply = await _client(info).list_customers(info.context.caller, request)
        return Connection.of_page([Customer.from_proto(c) for c in reply.customers], reply.next_page_token,
                                  reply.total_size)

    @strawberry.field(permission_classes=[CanRead], description="One customer; null when the organisation has none")
    async def customer(self, info: Info, id: strawberry.ID) -> Customer | None:
        try:
            return Customer.from_proto(await _client(info).get_customer(info.context.caller, parse_id(id)))
        except NotFound:
            return None

    @strawberry.field(permission_classes=[CanRead], description="Seed 004's customer analytics (audited)")
    async def customer_analytics(
        self, info: Info, customer_id: strawberry.ID, include_recent_interactions: bool = True,
        recent_interactions_limit: int = DEFAULT_RECENT_LIMIT,
    ) -> CustomerAnalytics:
        cid = parse_id(customer_id)
        call = _client(info).customer_analytics(
            info.context.caller, cid, include_recent_interactions, recent_interactions_limit
        )
        reply = await _audited(info, "customerAnalytics", call, {"report": "customer", "customer_id": cid})
        return CustomerAnalytics.from_proto(reply)

    @strawberry.field(permission_classes=[CanRead], description="Seed 004's segment analytics (audited)")
    async def segment_analytics(
        self, info: Info, segment_name: str, include_timeline: bool = True, timeline_days: int = DEFAULT_TIMELINE_DAYS,
    ) -> SegmentAnalytics:
        call = _client(info).segment_analytics(info.context.caller, segment_name, include_timeline, timeline_days)
        reply = await _audited(info, "segmentAnalytics", call, {"report": "segment"})
        return SegmentAnalytics.from_proto(reply)

    @strawberry.field(permission_classes=[CanRead], description="Segments with an active member (audited)")
    async def segments(self, info: Info) -> list[str]:
        return await _audited(info, "segments", _client(info).segment_names(info.context.caller), {"report": "segments"})

    @strawberry.field(permission_classes=[CanRead], description="Seed 004's organization summary (audited)")
    async def organization_summary(self, info: Info) -> OrganizationSummary:
        call = _client(info).organization_summary(info.context.caller)
        return OrganizationSummary.from_proto(
            await _audited(info, "organizationSummary", call, {"report": "organization_summary"})
        )

    @strawberry.field(permission_classes=[CanRead], description="Seed 004's dashboard metrics (audited)")
    async def dashboard_metrics(self, info: Info) -> DashboardMetrics:
        call = _client(info).dashboard_metrics(info.context.caller)
        return DashboardMetrics.from_proto(await _audited(info, "dashboardMetrics", call, {"report": "dashboard"}))


@strawberry.type
class CrmMutation:
    @strawberry.mutation(permission_classes=[CanWrite], description="Create a customer (ALREADY_EXISTS: email taken)")
    async def create_customer(self, info: Info, input: CustomerInput) -> Customer:
        customer = customers_pb2.Customer(
            name=input.name, email=input.email or "", phone=input.phone or "",
            loyalty_status=input.loyalty_status.value if input.loyalty_status else 0,  # type: ignore[arg-type]
            external_ids=_ids(input.external_ids),
        )
        return Customer.from_proto(await _client(info).create_customer(info.context.caller, customer))

    @strawberry.mutation(permission_classes=[CanWrite], description="Change the fields given")
    async def update_customer(self, info: Info, id: strawberry.ID, input: CustomerUpdateInput) -> Customer:
        given = {name for name in ("name", "email", "phone", "loyalty_status", "external_ids")
                 if getattr(input, name) is not None}
        customer = customers_pb2.Customer(
            id=parse_id(id), name=input.name or "", email=input.email or "", phone=input.phone or "",
            loyalty_status=input.loyalty_status.value if input.loyalty_status else 0,  # type: ignore[arg-type]
            external_ids=_ids(input.external_ids),
        )
        paths = sorted(given)
        return Customer.from_proto(await _client(info).update_customer(info.context.caller, customer, paths))

    @strawberry.mutation(permission_classes=[CanWrite], description="Log an interaction with a customer")
    async def add_interaction(self, info: Info, customer_id: strawberry.ID, input: InteractionInput) -> Interaction:
        interaction = customers_pb2.Interaction(
            customer_id=parse_id(customer_id), interaction_type=input.interaction_type.value,
            subject=input.subject, status=input.status.value if input.status else 0,  # type: ignore[arg-type]
        )
        if input.interaction_date is not None:
            interaction.interaction_date.CopyFrom(_stamp(input.interaction_date))
        return Interaction.from_proto(await _client(info).add_interaction(info.context.caller, interaction))

    @strawberry.mutation(permission_classes=[CanWrite], description="Put a customer in a segment")
    async def assign_segment(self, info: Info, customer_id: strawberry.ID, input: SegmentInput) -> CustomerSegment:
        segment = customers_pb2.CustomerSegment(
            customer_id=parse_id(customer_id), segment_name=input.segment_name, description=input.description,
            is_active=input.is_active,
        )
        if input.segment_value is not None:
            segment.segment_value = input.segment_value
        if input.assigned_date is not None:
            segment.assigned_date.CopyFrom(_stamp(input.assigned_date))
        return CustomerSegment.from_proto(await _client(info).assign_segment(info.context.caller, segment))


def with_crm(module: SchemaModule) -> SchemaModule:
    """The customers module with the CRM's root fields merged in (one GraphQL module per gateway domain)."""
    query = merge_types("CustomersQuery", tuple(t for t in (module.query, CrmQuery) if t is not None))
    mutation = merge_types("CustomersMutation", tuple(t for t in (module.mutation, CrmMutation) if t is not None))
    return SchemaModule(module.name, query=query, mutation=mutation, subscription=module.subscription,
                        types=(*module.types, Customer))
