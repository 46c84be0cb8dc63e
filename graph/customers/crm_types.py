"""GraphQL types of the customer record and its analytics (root fields in `crm_schema`).

Enums carry the protobuf numbers; maps of seed 004 (`interaction_types`, `segment_distribution`) are lists of
`{name, count}` pairs, since GraphQL has no map type.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import Enum

import strawberry
from footfall.graph.core.convert import to_datetime
from footfall.graph.core.schema import from_proto_enum
from footfall.v1 import customers_pb2


@strawberry.enum(description="A customer's loyalty tier.")
class LoyaltyStatus(Enum):
    BRONZE = customers_pb2.LOYALTY_STATUS_BRONZE
    SILVER = customers_pb2.LOYALTY_STATUS_SILVER
    GOLD = customers_pb2.LOYALTY_STATUS_GOLD
    PLATINUM = customers_pb2.LOYALTY_STATUS_PLATINUM


@strawberry.enum(description="What kind of contact an interaction was.")
class InteractionType(Enum):
    CALL = customers_pb2.INTERACTION_TYPE_CALL
    EMAIL = customers_pb2.INTERACTION_TYPE_EMAIL
    MEETING = customers_pb2.INTERACTION_TYPE_MEETING
    SUPPORT_TICKET = customers_pb2.INTERACTION_TYPE_SUPPORT_TICKET
    COMPLAINT = customers_pb2.INTERACTION_TYPE_COMPLAINT
    FEEDBACK = customers_pb2.INTERACTION_TYPE_FEEDBACK


@strawberry.enum(description="Where an interaction stands.")
class InteractionStatus(Enum):
    PENDING = customers_pb2.INTERACTION_STATUS_PENDING
    IN_PROGRESS = customers_pb2.INTERACTION_STATUS_IN_PROGRESS
    COMPLETED = customers_pb2.INTERACTION_STATUS_COMPLETED
    CANCELLED = customers_pb2.INTERACTION_STATUS_CANCELLED


@strawberry.type(description="A key of the customer in another system (POS, loyalty programme).")
class ExternalId:
    system: str
    value: str


@strawberry.input
class ExternalIdInput:
    system: str
    value: str


@strawberry.type(description="Someone the business knows (seed 004's CRM customer).")
class Customer:
    id: strawberry.ID
    name: str
    email: str | None
    phone: str | None
    loyalty_status: LoyaltyStatus | None
    external_ids: list[ExternalId]
    created_at: datetime | None
    updated_at: datetime | None

    @classmethod
    def from_proto(cls, c: customers_pb2.Customer) -> Customer:
        return cls(
            id=strawberry.ID(str(c.id)), name=c.name, email=c.email or None, phone=c.phone or None,
            loyalty_status=from_proto_enum(LoyaltyStatus, c.loyalty_status),
            external_ids=[ExternalId(system=k, value=v) for k, v in sorted(c.external_ids.items())],
            created_at=to_datetime(c.created_at), updated_at=to_datetime(c.updated_at),
        )


@strawberry.type
class Interaction:
    id: strawberry.ID
    customer_id: strawberry.ID
    interaction_type: InteractionType | None
    subject: str
    status: InteractionStatus | None
    interaction_date: datetime | None
    created_at: datetime | None

    @classmethod
    def from_proto(cls, i: customers_pb2.Interaction) -> Interaction:
        return cls(
            id=strawberry.ID(str(i.id)), customer_id=strawberry.ID(str(i.customer_id)),
            interaction_type=from_proto_enum(InteractionType, i.interaction_type), subject=i.subject,
            status=from_proto_enum(InteractionStatus, i.status), interaction_date=to_datetime(i.interaction_date),
            created_at=to_datetime(i.created_at),
        )


@strawberry.type(description="A customer's membership of a segment.")
class CustomerSegment:
    id: strawberry.ID
    customer_id: strawberry.ID
    segment_name: str
    segment_value: float | None
    description: str
    assigned_date: datetime | None
    is_active: bool

    @classmethod
    def from_proto(cls, s: customers_pb2.CustomerSegment) -> CustomerSegment:
        return cls(
            id=strawberry.ID(str(s.id)), customer_id=strawberry.ID(str(s.customer_id)), segment_name=s.segment_name,
            segment_value=s.segment_value if s.HasField("segment_value") else None, description=s.description,
            assigned_date=to_datetime(s.assigned_date), is_active=s.is_active,
        )


@strawberry.type(description="A count by name (an interaction type or status, a segment).")
class NamedCount:
    name: str
    count: int


def _counts(mapping: object) -> list[NamedCount]:
    return [NamedCount(name=k, count=v) for k, v in sorted(dict(mapping).items())]  # type: ignore[call-overload]


@strawberry.type(description="Interactions on one UTC day.")
class InteractionDayCount:
    date: date
    interaction_count: int


def _days(days: object) -> list[InteractionDayCount]:
    return [InteractionDayCount(date=date.fromisoformat(d.date), interaction_count=d.interaction_count)
            for d in days]  # type: ignore[attr-defined]


@strawberry.type
class CustomerAnalytics:
    customer_id: strawberry.ID
    customer_name: str
    total_interactions: int
    last_interaction_date: datetime | None
    interaction_types: list[NamedCount]
    interaction_status: list[NamedCount]
    segments: list[CustomerSegment]
    recent_interactions: list[Interaction]
    calculated_at: datetime

    @classmethod
    def from_proto(cls, a: customers_pb2.CustomerAnalytics) -> CustomerAnalytics:
        return cls(
            customer_id=strawberry.ID(str(a.customer_id)), customer_name=a.customer_name,
            total_interactions=a.total_interactions, last_interaction_date=to_datetime(a.last_interaction_date),
            interaction_types=_counts(a.interaction_types), interaction_status=_counts(a.interaction_status),
            segments=[CustomerSegment.from_proto(s) for s in a.segments],
            recent_interactions=[Interaction.from_proto(i) for i in a.recent_interactions],
            calculated_at=to_datetime(a.calculated_at) or datetime.now(UTC),
        )


@strawberry.type
class SegmentAnalytics:
    segment_name: str
    total_customers: int
    total_interactions: int
    avg_interactions_per_customer: float
    interaction_distribution: list[NamedCount]
    activity_timeline: list[InteractionDayCount]
    calculated_at: datetime

    @classmethod
    def from_proto(cls, a: customers_pb2.SegmentAnalytics) -> SegmentAnalytics:
        return cls(
            segment_name=a.segment_name, total_customers=a.total_customers, total_interactions=a.total_interactions,
            avg_interactions_per_customer=a.avg_interactions_per_customer,
            interaction_distribution=_counts(a.interaction_distribution), activity_timeline=_days(a.activity_timeline),
            calculated_at=to_datetime(a.calculated_at) or datetime.now(UTC),
        )


@strawberry.type
class OrganizationSummary:
    organization_id: str
    total_customers: int
    total_interactions: int
    segment_distribution: list[NamedCount]
    interaction_trends: list[InteractionDayCount]
    calculated_at: datetime

    @classmethod
    def from_proto(cls, s: customers_pb2.OrganizationSummary) -> OrganizationSummary:
        return cls(
            organization_id=s.organization_id, total_customers=s.total_customers,
            total_interactions=s.total_interactions, segment_distribution=_counts(s.segment_distribution),
            interaction_trends=_days(s.interaction_trends), calculated_at=to_datetime(s.calculated_at) or datetime.now(UTC),
        )


@strawberry.type
class DashboardMetrics:
    total_customers: int
    total_interactions_today: int
    total_interactions_week: int
    total_interactions_month: int
    top_segments: list[NamedCount]
    recent_activity: list[InteractionDayCount]
    calculated_at: datetime

    @classmethod
    def from_proto(cls, m: customers_pb2.DashboardMetrics) -> DashboardMetrics:
        return cls(
            total_customers=m.total_customers, total_interactions_today=m.total_interactions_today,
            total_interactions_week=m.total_interactions_week, total_interactions_month=m.total_interactions_month,
            top_segments=[NamedCount(name=s.segment_name, count=s.customer_count) for s in m.top_segments],
            recent_activity=_days(m.recent_activity), calculated_at=to_datetime(m.calculated_at) or datetime.now(UTC),
        )


@strawberry.input(description="A new customer.")
class CustomerInput:
    name: str
    email: str | None = None
    phone: str | None = None
    loyalty_status: LoyaltyStatus | None = strawberry.field(default=None, description="Omitted: BRONZE")
    external_ids: list[ExternalIdInput] | None = None


@strawberry.input(description="The fields to change; omitted fields keep their value, an empty email/phone clears it.")
class CustomerUpdateInput:
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    loyalty_status: LoyaltyStatus | None = None
    external_ids: list[ExternalIdInput] | None = None


@strawberry.input
class InteractionInput:
    interaction_type: InteractionType
    subject: str = ""
    status: InteractionStatus | None = strawberry.field(default=None, description="Omitted: PENDING")
    interaction_date: datetime | None = strawberry.field(default=None, description="Omitted: now")


@strawberry.input
class SegmentInput:
    segment_name: str
    segment_value: float | None = None
    description: str = ""
    assigned_date: datetime | None = strawberry.field(default=None, description="Omitted: now")
    is_active: bool = True
