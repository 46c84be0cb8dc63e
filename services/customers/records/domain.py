"""The customer record (seed 004's CRM customer, seed 002's user-service customer): plain data and the rules
every write obeys, with no SQL and no transport.

A customer has a name, an optional email and phone, a loyalty status and keys in other systems; interactions
(calls, emails, meetings, tickets, complaints, feedback) and segments ("premium", "vip") hang off it. The
analytics records are what seed 004's five analytics documents report.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from footfall.services.core.errors import InvalidArgument

LOYALTY_STATUSES = ("bronze", "silver", "gold", "platinum")
INTERACTION_TYPES = ("call", "email", "meeting", "support_ticket", "complaint", "feedback")
INTERACTION_STATUSES = ("pending", "in_progress", "completed", "cancelled")
DEFAULT_LOYALTY = "bronze"
DEFAULT_INTERACTION_STATUS = "pending"

MAX_NAME = 200
MAX_EMAIL = 254
MAX_PHONE = 32
MAX_SUBJECT = 500
MAX_SEGMENT_NAME = 100
MAX_DESCRIPTION = 1000
MAX_EXTERNAL_IDS = 16
MAX_EXTERNAL_KEY = 64
MAX_EXTERNAL_VALUE = 256

#: Seed 004's bounds on the analytics options.
RECENT_LIMIT_RANGE = (1, 20)
DEFAULT_RECENT_LIMIT = 5
TIMELINE_DAYS_RANGE = (7, 365)
DEFAULT_TIMELINE_DAYS = 30
#: Days of the organisation summary's trend and of the dashboard's recent activity; top segments shown.
SUMMARY_TREND_DAYS = 30
DASHBOARD_ACTIVITY_DAYS = 7
DASHBOARD_TOP_SEGMENTS = 5

_EMAIL = re.compile(r"^[^@\s\x00]{1,64}@[^@\s\x00]+\.[^@\s\x00]+$")
_PHONE = re.compile(r"^\+?[0-9 ()./-]{3,32}$")
# Segment names travel in URL paths (`/analytics/segments/{name}/analytics`): keep them path-safe.
_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,99}$")
_EXTERNAL_KEY = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class Customer:
    id: int
    name: str
    email: str | None
    phone: str | None
    loyalty_status: str
    external_ids: dict[str, str]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class CustomerDraft:
    """What a new customer is created from (validated by :func:`checked_draft`)."""

    name: str
    email: str | None = None
    phone: str | None = None
    loyalty_status: str = DEFAULT_LOYALTY
    external_ids: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CustomerChanges:
    """A partial update: only the fields not None change (an empty email/phone clears it)."""

    name: str | None = None
    email: str | None = None
    phone: str | None = None
    loyalty_status: str | None = None
    external_ids: Mapping[str, str] | None = None

    @property
    def empty(self) -> bool:
        return all(v is None for v in (self.name, self.email, self.phone, self.loyalty_status, self.external_ids))


@dataclass(frozen=True)
class Interaction:
    id: int
    customer_id: int
    interaction_type: str
    subject: str
    status: str
    interaction_date: datetime
    created_at: datetime


@dataclass(frozen=True)
class InteractionDraft:
    customer_id: int
    interaction_type: str
    subject: str = ""
    status: str = DEFAULT_INTERACTION_STATUS
    interaction_date: datetime | None = None  # None: now


@dataclass(frozen=True)
class Segment:
    id: int
    customer_id: int
    segment_name: str
    segment_value: float | None
    description: str
    assigned_date: datetime
    is_active: bool


@dataclass(frozen=True)
class SegmentAssignment:
    customer_id: int
    segment_name: str
    segment_value: float | None = None
    description: str = ""
    assigned_date: datetime | None = None  # None: now
    is_active: bool = True


# Analytics (seed 004's documents)


@dataclass(frozen=True)
class DayCount:
    day: date
    interaction_count: int


@dataclass(frozen=True)
class CustomerAnalytics:
    customer_id: int
    customer_name: str
    total_interactions: int
    last_interaction_date: datetime | None
    interaction_types: dict[str, int]
    interaction_status: dict[str, int]
    segments: list[Segment]
    recent_interactions: list[Interaction]
    calculated_at: datetime


@dataclass(frozen=True)
class SegmentAnalytics:
    segment_name: str
    total_customers: int
    total_interactions: int
    avg_interactions_per_customer: float
    interaction_distribution: dict[str, int]
    activity_timeline: list[DayCount]
    calculated_at: datetime


@dataclass(frozen=True)
class OrganizationSummary:
    organization_id: str
    total_customers: int
    total_interactions: int
    segment_distribution: dict[str, int]
    interaction_trends: list[DayCount]
    calculated_at: datetime


@dataclass(frozen=True)
class SegmentSize:
    segment_name: str
    customer_count: int


@dataclass(frozen=True)
class DashboardMetrics:
    total_customers: int
    total_interactions_today: int
    total_interactions_week: int
    total_interactions_month: int
    top_segments: list[SegmentSize]
    recent_activity: list[DayCount]
    calculated_at: datetime


@dataclass(frozen=True)
class DayWindow:
    """The UTC days [first, last] a timeline or count covers, as the half-open instants [start, end)."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        return datetime(self.first.year, self.first.month, self.first.day, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        nxt = self.last + timedelta(days=1)
        return datetime(nxt.year, nxt.month, nxt.day, tzinfo=UTC)


def last_days(now: datetime, days: int) -> DayWindow:
    """The `days` UTC calendar days ending with `now`'s day ("the last 7 days" includes today)."""
    today = now.astimezone(UTC).date()
    return DayWindow(today - timedelta(days=days - 1), today)


def average(total: int, count: int) -> float:
    """Seed 004's `avg_interactions_per_customer`: two decimals, 0.0 for an empty segment."""
    return round(total / count, 2) if count else 0.0


# Validation: every write passes here, whichever transport it came from.


def _text(value: str, name: str, most: int, *, required: bool = False) -> str:
    value = value.strip()
    if required and not value:
        raise InvalidArgument(f"{name} is required")
    if len(value) > most:
        raise InvalidArgument(f"{name} must be at most {most} characters")
    if "\x00" in value:
        raise InvalidArgument(f"{name} must not contain NUL characters")
    return value


def _optional(value: str | None, name: str, pattern: re.Pattern[str], most: int) -> str | None:
    """None stays None (absent); an empty string means "no value"; anything else must match `pattern`."""
    if value is None:
        return None
    value = _text(value, name, most)
    if value and not pattern.match(value):
        raise InvalidArgument(f"{name} is not a valid {name}")
    return value


def check_choice(value: str, name: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise InvalidArgument(f"{name} must be one of: {', '.join(choices)}")
    return value


def check_external_ids(ids: Mapping[str, str]) -> dict[str, str]:
    if len(ids) > MAX_EXTERNAL_IDS:
        raise InvalidArgument(f"external_ids holds at most {MAX_EXTERNAL_IDS} keys")
    out = {}
    for key, value in ids.items():
        if not _EXTERNAL_KEY.match(key):
            raise InvalidArgument("external_ids keys are lowercase letters, digits, '_', '.' or '-' (at most 64)")
        out[key] = _text(value, "external_ids value", MAX_EXTERNAL_VALUE, required=True)
    return out


def check_segment_name(name: str) -> str:
    name = name.strip()
    if not _SEGMENT.match(name):
        raise InvalidArgument(
            "segment_name must be 1-100 letters, digits, spaces, '_', '.' or '-', starting with a letter or digit"
        )
    return name


def check_id(value: int, name: str = "customer_id") -> int:
    if not 1 <= value <= 2**63 - 1:
        raise InvalidArgument(f"{name} must be a positive integer")
    return value


def check_range(value: int, name: str, bounds: tuple[int, int]) -> int:
    low, high = bounds
    if not low <= value <= high:
        raise InvalidArgument(f"{name} must be between {low} and {high}")
    return value


def checked_draft(draft: CustomerDraft) -> CustomerDraft:
    return CustomerDraft(
        name=_text(draft.name, "customer_name", MAX_NAME, required=True),
        email=_optional(draft.email, "email", _EMAIL, MAX_EMAIL) or None,
        phone=_optional(draft.phone, "phone", _PHONE, MAX_PHONE) or None,
        loyalty_status=check_choice(draft.loyalty_status or DEFAULT_LOYALTY, "loyalty_status", LOYALTY_STATUSES),
        external_ids=check_external_ids(draft.external_ids),
    )


def checked_changes(changes: CustomerChanges) -> CustomerChanges:
    return CustomerChanges(
        name=None if changes.name is None else _text(changes.name, "customer_name", MAX_NAME, required=True),
        email=_optional(changes.email, "email", _EMAIL, MAX_EMAIL),
        phone=_optional(changes.phone, "phone", _PHONE, MAX_PHONE),
        loyalty_status=None if changes.loyalty_status is None
        else check_choice(changes.loyalty_status, "loyalty_status", LOYALTY_STATUSES),
        external_ids=None if changes.external_ids is None else check_external_ids(changes.external_ids),
    )


def checked_interaction(draft: InteractionDraft, now: datetime) -> InteractionDraft:
    return InteractionDraft(
        customer_id=check_id(draft.customer_id),
        interaction_type=check_choice(draft.interaction_type, "interaction_type", INTERACTION_TYPES),
        subject=_text(draft.subject, "subject", MAX_SUBJECT),
        status=check_choice(draft.status or DEFAULT_INTERACTION_STATUS, "status", INTERACTION_STATUSES),
        interaction_date=draft.interaction_date or now,
    )


def checked_assignment(assignment: SegmentAssignment, now: datetime) -> SegmentAssignment:
    value = assignment.segment_value
    if value is not None and not math.isfinite(value):
        raise InvalidArgument("segment_value must be a finite number")
    return SegmentAssignment(
        customer_id=check_id(assignment.customer_id),
        segment_name=check_segment_name(assignment.segment_name),
        segment_value=value,
        description=_text(assignment.description, "description", MAX_DESCRIPTION),
        assigned_date=assignment.assigned_date or now,
        is_active=assignment.is_active,
    )


def customer_not_found(customer_id: int) -> str:
    """Seed 004's 404 message."""
    return f"Customer with ID {customer_id} not found"
