"""Domain records of the customers service (what the store returns and the transports render)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from footfall.services.customers.journeys import CustomerJourney, ZoneStay

JourneyState = Literal["active", "completed"]
DeliveryState = Literal["pending", "delivered", "failed"]

CUSTOMER_ENTRY = "customer_entry"
JOURNEY_COMPLETE = "journey_complete"
# Events of other services that webhooks may subscribe to (services/customers/platform_events.py).
PERSON_JOINED = "person_joined"
CUSTOMER_IDENTIFIED = "customer_identified"
PROMOTION_ACTION = "promotion_action"
WEBHOOK_EVENTS = (CUSTOMER_ENTRY, JOURNEY_COMPLETE, PERSON_JOINED, CUSTOMER_IDENTIFIED, PROMOTION_ACTION)
# What a webhook that names no events receives (what such webhooks always received).
DEFAULT_WEBHOOK_EVENTS = (CUSTOMER_ENTRY, JOURNEY_COMPLETE)


def to_datetime(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


def to_unix(dt: datetime | None) -> float | None:
    return None if dt is None else dt.timestamp()


@dataclass
class JourneyRecord:
    """A stored journey: the seed's :class:`CustomerJourney` plus what the platform adds."""

    id: int
    camera_id: str
    journey: CustomerJourney
    zone_stays: list[ZoneStay] = field(default_factory=list)
    transaction_ids: list[str] = field(default_factory=list)
    purchase_amount: float = 0.0
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    updated_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def status(self) -> JourneyState:
        return "active" if self.journey.exit_time is None else "completed"


@dataclass(frozen=True)
class JourneyFilter:
    """Which journeys a list, export or stats call covers (every field optional)."""

    start_time: float | None = None  # entry_time >= start_time
    end_time: float | None = None  # entry_time < end_time
    camera_id: str | None = None
    customer_id: str | None = None
    status: JourneyState | None = None
    behavior: str | None = None
    conversion: str | None = None
    zone: str | None = None


@dataclass(frozen=True)
class TransactionRecord:
    transaction_id: str
    time: float
    amount: float
    currency: str
    till_id: str
    zone: str
    camera_id: str
    items: list[dict[str, Any]]
    journey_id: int | None
    created_at: datetime


@dataclass(frozen=True)
class ZoneStats:
    zone: str
    journeys: int
    average_dwell_s: float


@dataclass(frozen=True)
class JourneyStats:
    total_customers: int
    active_customers: int
    completed_journeys: int
    converted_journeys: int
    average_duration_s: float
    behavior_counts: dict[str, int]
    zones: list[ZoneStats]
    transactions: int
    unmatched_transactions: int
    revenue: float

    @property
    def conversion_rate_percent(self) -> float:
        """The seed's ``calculate_conversion_rate``: converted / completed * 100."""
        return self.converted_journeys / self.completed_journeys * 100 if self.completed_journeys else 0.0


@dataclass(frozen=True)
class Webhook:
    id: int
    url: str
    events: list[str]
    is_active: bool
    created_at: datetime
    secret: str = field(default="", repr=False)


@dataclass(frozen=True)
class WebhookDelivery:
    id: int
    webhook_id: int
    event: str
    event_id: str
    body: dict[str, Any]
    status: DeliveryState
    attempts: int
    last_status_code: int
    last_error: str
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime
