"""Seed 004's REST bodies for the customer record and its analytics (field names as the seed writes them:
`customer_name`, `loyalty_status`, `interaction_type`, `segment_name`...).

Inputs are checked by the same domain rules the service applies (`records.domain`), inside pydantic, so a bad
field is answered 422 `{"detail": [{"field", "message"}]}` like every other invalid input of seed 004.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

from footfall.graph.core.convert import iso
from footfall.graph.customers.crm_convert import (
    interaction_status_name,
    interaction_status_number,
    interaction_type_name,
    interaction_type_number,
    loyalty_name,
    loyalty_number,
)
from footfall.services.core.errors import InvalidArgument
from footfall.services.customers.records import domain
from footfall.v1 import customers_pb2
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

LoyaltyStatus = Literal["bronze", "silver", "gold", "platinum"]
InteractionType = Literal["call", "email", "meeting", "support_ticket", "complaint", "feedback"]
InteractionStatus = Literal["pending", "in_progress", "completed", "cancelled"]


def _domain_rule(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A pydantic validator from a domain check: its message becomes the field's message, word for word."""

    def validate(value: Any) -> Any:
        if value is None:
            return value
        try:
            return check(value)
        except InvalidArgument as err:
            raise PydanticCustomError("invalid", str(err)) from None

    return validate


def _aware(value: datetime | None) -> datetime | None:
    """A time without an offset is UTC (as seed 004's examples, which always end in `Z`)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _name(value: str) -> str:
    return domain.checked_draft(domain.CustomerDraft(name=value)).name


def _email(value: str) -> str:
    return domain.checked_changes(domain.CustomerChanges(email=value)).email or ""


def _phone(value: str) -> str:
    return domain.checked_changes(domain.CustomerChanges(phone=value)).phone or ""


_RULES: dict[str, Callable[[Any], Any]] = {
    "customer_name": _domain_rule(_name),
    "email": _domain_rule(_email),
    "phone": _domain_rule(_phone),
    "external_ids": _domain_rule(domain.check_external_ids),
    "segment_name": _domain_rule(domain.check_segment_name),
    "subject": _domain_rule(lambda v: _no_nul(v, "subject")),
    "description": _domain_rule(lambda v: _no_nul(v, "description")),
}


def _no_nul(value: str, field: str) -> str:
    if "\x00" in value:
        raise InvalidArgument(f"{field} must not contain NUL characters")
    return value


class _Checked(BaseModel):
    """Runs the domain rule of every field named in `_RULES`; times without an offset are UTC."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*")
    @classmethod
    def check_field(cls, value: Any, info: ValidationInfo) -> Any:
        rule = _RULES.get(info.field_name or "")
        if rule is not None:
            return rule(value)
        return _aware(value) if isinstance(value, datetime) else value


class _CustomerFields(_Checked):
    pass


class CustomerIn(_CustomerFields):
    customer_name: str = Field(description="The customer's name (1-200 characters)")
    email: str | None = Field(None, description="Unique within the organisation (case-insensitive)")
    phone: str | None = None
    loyalty_status: LoyaltyStatus = "bronze"
    external_ids: dict[str, str] = Field(default_factory=dict, description='Keys in other systems, e.g. {"pos": "C-1"}')

    def to_proto(self) -> customers_pb2.Customer:
        return customers_pb2.Customer(
            name=self.customer_name, email=self.email or "", phone=self.phone or "",
            loyalty_status=loyalty_number(self.loyalty_status), external_ids=self.external_ids,
        )


class CustomerUpdateIn(_CustomerFields):
    """Only the fields present change; `email` or `phone` null clears it."""

    customer_name: str | None = None
    email: str | None = None
    phone: str | None = None
    loyalty_status: LoyaltyStatus | None = None
    external_ids: dict[str, str] | None = None

    @field_validator("customer_name", "loyalty_status", "external_ids")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise PydanticCustomError("invalid", "may not be null")
        return value

    def to_proto(self, customer_id: int) -> tuple[customers_pb2.Customer, list[str]]:
        given = self.model_fields_set
        paths = [_PATHS[f] for f in _PATHS if f in given]
        customer = customers_pb2.Customer(
            id=customer_id, name=self.customer_name or "", email=self.email or "", phone=self.phone or "",
            loyalty_status=loyalty_number(self.loyalty_status) if self.loyalty_status else 0,
            external_ids=self.external_ids or {},
        )
        return customer, paths


_PATHS = {"customer_name": "name", "email": "email", "phone": "phone", "loyalty_status": "loyalty_status",
          "external_ids": "external_ids"}


class CustomerOut(BaseModel):
    id: int
    customer_name: str
    email: str | None
    phone: str | None
    loyalty_status: str
    external_ids: dict[str, str]
    organization_id: str
    created_at: str | None
    updated_at: str | None

    @classmethod
    def of(cls, c: customers_pb2.Customer, org: str) -> CustomerOut:
        return cls(
            id=c.id, customer_name=c.name, email=c.email or None, phone=c.phone or None,
            loyalty_status=loyalty_name(c.loyalty_status), external_ids=dict(c.external_ids), organization_id=org,
            created_at=iso(c.created_at), updated_at=iso(c.updated_at),
        )


class CustomerPageOut(BaseModel):
    customers: list[CustomerOut]
    total_count: int = Field(description="Customers matching the filters")
    next_page_token: str | None = Field(description="Pass as `page_token` for the next page; null on the last")


class InteractionIn(_Checked):
    interaction_type: InteractionType
    subject: str = Field("", max_length=domain.MAX_SUBJECT)
    status: InteractionStatus = "pending"
    interaction_date: datetime | None = Field(None, description="Default: now")

    def to_proto(self, customer_id: int) -> customers_pb2.Interaction:
        out = customers_pb2.Interaction(
            customer_id=customer_id, interaction_type=interaction_type_number(self.interaction_type),
            subject=self.subject, status=interaction_status_number(self.status),
        )
        if self.interaction_date is not None:
            out.interaction_date.FromDatetime(self.interaction_date.astimezone(UTC))
        return out


class InteractionOut(BaseModel):
    id: int
    customer_id: int
    interaction_type: str
    subject: str
    status: str
    interaction_date: str | None
    created_at: str | None

    @classmethod
    def of(cls, i: customers_pb2.Interaction) -> InteractionOut:
        return cls(
            id=i.id, customer_id=i.customer_id, interaction_type=interaction_type_name(i.interaction_type),
            subject=i.subject, status=interaction_status_name(i.status), interaction_date=iso(i.interaction_date),
            created_at=iso(i.created_at),
        )


class SegmentIn(_Checked):
    segment_name: str
    segment_value: float | None = Field(None, allow_inf_nan=False)
    description: str = Field("", max_length=domain.MAX_DESCRIPTION)
    assigned_date: datetime | None = Field(None, description="Default: now")
    is_active: bool = True

    def to_proto(self, customer_id: int) -> customers_pb2.CustomerSegment:
        out = customers_pb2.CustomerSegment(
            customer_id=customer_id, segment_name=self.segment_name, description=self.description,
            is_active=self.is_active,
        )
        if self.segment_value is not None:
            out.segment_value = self.segment_value
        if self.assigned_date is not None:
            out.assigned_date.FromDatetime(self.assigned_date.astimezone(UTC))
        return out


class SegmentOut(BaseModel):
    id: int
    customer_id: int
    segment_name: str
    segment_value: float | None
    description: str
    assigned_date: str | None
    is_active: bool

    @classmethod
    def of(cls, s: customers_pb2.CustomerSegment) -> SegmentOut:
        return cls(
            id=s.id, customer_id=s.customer_id, segment_name=s.segment_name,
            segment_value=s.segment_value if s.HasField("segment_value") else None, description=s.description,
            assigned_date=iso(s.assigned_date), is_active=s.is_active,
        )


# Analytics (seed 004's documents, exactly)


class CustomerSegmentOut(BaseModel):
    segment_name: str
    segment_value: float | None
    assigned_date: str | None
    description: str


class RecentInteractionOut(BaseModel):
    interaction_type: str
    subject: str
    status: str
    interaction_date: str | None


class DayCountOut(BaseModel):
    date: str
    interaction_count: int


def _days(days: Any) -> list[DayCountOut]:
    return [DayCountOut(date=d.date, interaction_count=d.interaction_count) for d in days]


class CustomerAnalyticsOut(BaseModel):
    customer_id: int
    customer_name: str
    total_interactions: int
    last_interaction_date: str | None
    interaction_types: dict[str, int]
    interaction_status: dict[str, int]
    segments: list[CustomerSegmentOut]
    recent_interactions: list[RecentInteractionOut]
    calculated_at: str | None

    @classmethod
    def of(cls, a: customers_pb2.CustomerAnalytics) -> CustomerAnalyticsOut:
        return cls(
            customer_id=a.customer_id, customer_name=a.customer_name, total_interactions=a.total_interactions,
            last_interaction_date=iso(a.last_interaction_date), interaction_types=dict(a.interaction_types),
            interaction_status=dict(a.interaction_status),
            segments=[
                CustomerSegmentOut(
                    segment_name=s.segment_name, segment_value=s.segment_value if s.HasField("segment_value") else None,
                    assigned_date=iso(s.assigned_date), description=s.description,
                )
                for s in a.segments
            ],
            recent_interactions=[
                RecentInteractionOut(
                    interaction_type=interaction_type_name(i.interaction_type), subject=i.subject,
                    status=interaction_status_name(i.status), interaction_date=iso(i.interaction_date),
                )
                for i in a.recent_interactions
            ],
            calculated_at=iso(a.calculated_at),
        )


class SegmentAnalyticsOut(BaseModel):
    segment_name: str
    total_customers: int
    total_interactions: int
    avg_interactions_per_customer: float
    interaction_distribution: dict[str, int]
    activity_timeline: list[DayCountOut]
    calculated_at: str | None

    @classmethod
    def of(cls, a: customers_pb2.SegmentAnalytics) -> SegmentAnalyticsOut:
        return cls(
            segment_name=a.segment_name, total_customers=a.total_customers, total_interactions=a.total_interactions,
            avg_interactions_per_customer=a.avg_interactions_per_customer,
            interaction_distribution=dict(a.interaction_distribution), activity_timeline=_days(a.activity_timeline),
            calculated_at=iso(a.calculated_at),
        )


class OrganizationSummaryOut(BaseModel):
    organization_id: str = Field(description="The organisation's id (a slug on this platform)")
    total_customers: int
    total_interactions: int
    segment_distribution: dict[str, int]
    interaction_trends: list[DayCountOut]
    calculated_at: str | None

    @classmethod
    def of(cls, s: customers_pb2.OrganizationSummary) -> OrganizationSummaryOut:
        return cls(
            organization_id=s.organization_id, total_customers=s.total_customers,
            total_interactions=s.total_interactions, segment_distribution=dict(s.segment_distribution),
            interaction_trends=_days(s.interaction_trends), calculated_at=iso(s.calculated_at),
        )


class SegmentSizeOut(BaseModel):
    segment_name: str
    customer_count: int


class DashboardMetricsOut(BaseModel):
    total_customers: int
    total_interactions_today: int
    total_interactions_week: int
    total_interactions_month: int
    top_segments: list[SegmentSizeOut]
    recent_activity: list[DayCountOut]
    calculated_at: str | None

    @classmethod
    def of(cls, m: customers_pb2.DashboardMetrics) -> DashboardMetricsOut:
        return cls(
            total_customers=m.total_customers, total_interactions_today=m.total_interactions_today,
            total_interactions_week=m.total_interactions_week, total_interactions_month=m.total_interactions_month,
            top_segments=[SegmentSizeOut(segment_name=s.segment_name, customer_count=s.customer_count)
                          for s in m.top_segments],
            recent_activity=_days(m.recent_activity), calculated_at=iso(m.calculated_at),
        )
