"""Protobuf <-> domain conversions of the customer records and their analytics.

Enums travel as protobuf enums and live in the domain as seed 004's words: `LOYALTY_STATUS_GOLD` is "gold",
`INTERACTION_TYPE_SUPPORT_TICKET` is "support_ticket".
"""

from __future__ import annotations

from datetime import UTC, datetime

from footfall.services.core.errors import InvalidArgument
from footfall.services.core.timestamps import to_timestamp
from footfall.services.customers.records.domain import (
    Customer,
    CustomerAnalytics,
    CustomerChanges,
    CustomerDraft,
    DashboardMetrics,
    DayCount,
    Interaction,
    InteractionDraft,
    OrganizationSummary,
    Segment,
    SegmentAnalytics,
    SegmentAssignment,
)
from footfall.v1 import customers_pb2
from google.protobuf.timestamp_pb2 import Timestamp

_LOYALTY = customers_pb2.LoyaltyStatus
_TYPE = customers_pb2.InteractionType
_STATUS = customers_pb2.InteractionStatus
_LOYALTY_PREFIX, _TYPE_PREFIX, _STATUS_PREFIX = "LOYALTY_STATUS_", "INTERACTION_TYPE_", "INTERACTION_STATUS_"
UPDATABLE = ("name", "email", "phone", "loyalty_status", "external_ids")


def _word(enum: object, prefix: str, number: int, field: str) -> str | None:
    """The seed's word for an enum number; None for UNSPECIFIED; an unknown number is the caller's error."""
    if number == 0:
        return None
    try:
        return enum.Name(number).removeprefix(prefix).lower()  # type: ignore[attr-defined, no-any-return]
    except ValueError:
        raise InvalidArgument(f"unknown {field}") from None


def _number(enum: object, prefix: str, word: str) -> int:
    return enum.Value(prefix + word.upper())  # type: ignore[attr-defined, no-any-return]


def _time(value: Timestamp, present: bool) -> datetime | None:
    return value.ToDatetime(tzinfo=UTC) if present else None


def loyalty_word(number: int) -> str | None:
    return _word(_LOYALTY, _LOYALTY_PREFIX, number, "loyalty_status")


def customer_pb(c: Customer) -> customers_pb2.Customer:
    return customers_pb2.Customer(
        id=c.id, name=c.name, email=c.email or "", phone=c.phone or "",
        loyalty_status=_number(_LOYALTY, _LOYALTY_PREFIX, c.loyalty_status), external_ids=c.external_ids,
        created_at=to_timestamp(c.created_at), updated_at=to_timestamp(c.updated_at),
    )


def draft_of(pb: customers_pb2.Customer) -> CustomerDraft:
    return CustomerDraft(
        name=pb.name, email=pb.email or None, phone=pb.phone or None,
        loyalty_status=loyalty_word(pb.loyalty_status) or "bronze", external_ids=dict(pb.external_ids),
    )


def changes_of(pb: customers_pb2.Customer, paths: list[str]) -> CustomerChanges:
    """The fields `paths` names (or, without paths, every field set in `pb`)."""
    unknown = sorted(set(paths) - set(UPDATABLE))
    if unknown:
        raise InvalidArgument(f"update_mask may name only: {', '.join(UPDATABLE)}")
    if not paths:
        paths = [p for p in UPDATABLE if (dict(pb.external_ids) if p == "external_ids" else getattr(pb, p))]
    chosen = set(paths)
    return CustomerChanges(
        name=pb.name if "name" in chosen else None,
        email=pb.email if "email" in chosen else None,
        phone=pb.phone if "phone" in chosen else None,
        loyalty_status=(loyalty_word(pb.loyalty_status) or "") if "loyalty_status" in chosen else None,
        external_ids=dict(pb.external_ids) if "external_ids" in chosen else None,
    )


def interaction_pb(i: Interaction) -> customers_pb2.Interaction:
    return customers_pb2.Interaction(
        id=i.id, customer_id=i.customer_id, interaction_type=_number(_TYPE, _TYPE_PREFIX, i.interaction_type),
        subject=i.subject, status=_number(_STATUS, _STATUS_PREFIX, i.status),
        interaction_date=to_timestamp(i.interaction_date), created_at=to_timestamp(i.created_at),
    )


def interaction_draft_of(pb: customers_pb2.Interaction) -> InteractionDraft:
    kind = _word(_TYPE, _TYPE_PREFIX, pb.interaction_type, "interaction_type")
    if kind is None:
        raise InvalidArgument("interaction_type is required")
    return InteractionDraft(
        customer_id=pb.customer_id, interaction_type=kind, subject=pb.subject,
        status=_word(_STATUS, _STATUS_PREFIX, pb.status, "status") or "pending",
        interaction_date=_time(pb.interaction_date, pb.HasField("interaction_date")),
    )


def segment_pb(s: Segment) -> customers_pb2.CustomerSegment:
    out = customers_pb2.CustomerSegment(
        id=s.id, customer_id=s.customer_id, segment_name=s.segment_name, description=s.description,
        assigned_date=to_timestamp(s.assigned_date), is_active=s.is_active,
    )
    if s.segment_value is not None:
        out.segment_value = s.segment_value
    return out


def assignment_of(pb: customers_pb2.CustomerSegment) -> SegmentAssignment:
    return SegmentAssignment(
        customer_id=pb.customer_id, segment_name=pb.segment_name,
        segment_value=pb.segment_value if pb.HasField("segment_value") else None,
        description=pb.description, assigned_date=_time(pb.assigned_date, pb.HasField("assigned_date")),
        is_active=pb.is_active,
    )


def _days(days: list[DayCount]) -> list[customers_pb2.DayCount]:
    return [customers_pb2.DayCount(date=d.day.isoformat(), interaction_count=d.interaction_count) for d in days]


def customer_analytics_pb(a: CustomerAnalytics) -> customers_pb2.CustomerAnalytics:
    out = customers_pb2.CustomerAnalytics(
        customer_id=a.customer_id, customer_name=a.customer_name, total_interactions=a.total_interactions,
        interaction_types=a.interaction_types, interaction_status=a.interaction_status,
        segments=[segment_pb(s) for s in a.segments],
        recent_interactions=[interaction_pb(i) for i in a.recent_interactions],
        calculated_at=to_timestamp(a.calculated_at),
    )
    if a.last_interaction_date is not None:
        out.last_interaction_date.CopyFrom(to_timestamp(a.last_interaction_date))
    return out


def segment_analytics_pb(a: SegmentAnalytics) -> customers_pb2.SegmentAnalytics:
    return customers_pb2.SegmentAnalytics(
        segment_name=a.segment_name, total_customers=a.total_customers, total_interactions=a.total_interactions,
        avg_interactions_per_customer=a.avg_interactions_per_customer,
        interaction_distribution=a.interaction_distribution, activity_timeline=_days(a.activity_timeline),
        calculated_at=to_timestamp(a.calculated_at),
    )


def summary_pb(s: OrganizationSummary) -> customers_pb2.OrganizationSummary:
    return customers_pb2.OrganizationSummary(
        organization_id=s.organization_id, total_customers=s.total_customers,
        total_interactions=s.total_interactions, segment_distribution=s.segment_distribution,
        interaction_trends=_days(s.interaction_trends), calculated_at=to_timestamp(s.calculated_at),
    )


def dashboard_pb(m: DashboardMetrics) -> customers_pb2.DashboardMetrics:
    return customers_pb2.DashboardMetrics(
        total_customers=m.total_customers, total_interactions_today=m.total_interactions_today,
        total_interactions_week=m.total_interactions_week, total_interactions_month=m.total_interactions_month,
        top_segments=[customers_pb2.SegmentSize(segment_name=s.segment_name, customer_count=s.customer_count)
                      for s in m.top_segments],
        recent_activity=_days(m.recent_activity), calculated_at=to_timestamp(m.calculated_at),
    )
