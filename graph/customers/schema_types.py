"""Customers' GraphQL types, enums and inputs (the root fields are in `schema`).

Every `cameraId` is the camera's public id, `Camera.id`: its key (`GATE_A`). Protobuf enums reach GraphQL
without their UNSPECIFIED: an output the gateway cannot name is null.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from footfall.graph.core.context import Info
from footfall.graph.core.convert import parse_id, to_datetime
from footfall.graph.core.pagination import DEFAULT_FIRST, AfterArg, Connection, FirstArg, check_first
from footfall.graph.core.schema import caller_of, from_proto_enum
from footfall.graph.customers.client import CustomersClient
from footfall.graph.customers.convert import transaction_proto
from footfall.services.core.errors import NotFound
from footfall.services.core.principal import READERS
from footfall.v1 import customers_pb2

CAMERA_ID = "The camera's id (`Camera.id`: its key, e.g. `GATE_A`)"


@strawberry.enum(description="Whether a journey is still going on.")
class JourneyStatus(Enum):
    ACTIVE = customers_pb2.JOURNEY_STATUS_ACTIVE
    COMPLETED = customers_pb2.JOURNEY_STATUS_COMPLETED


@strawberry.enum(description="Whether a journey ended in a purchase.")
class ConversionStatus(Enum):
    PENDING = customers_pb2.CONVERSION_STATUS_PENDING
    PURCHASED = customers_pb2.CONVERSION_STATUS_PURCHASED
    NO_PURCHASE = customers_pb2.CONVERSION_STATUS_NO_PURCHASE


@strawberry.enum
class WebhookDeliveryStatus(Enum):
    PENDING = customers_pb2.DELIVERY_STATUS_PENDING
    DELIVERED = customers_pb2.DELIVERY_STATUS_DELIVERED
    FAILED = customers_pb2.DELIVERY_STATUS_FAILED


@strawberry.enum(description="An event a webhook receives.")
class WebhookEvent(Enum):
    CUSTOMER_ENTRY = "customer_entry"
    JOURNEY_COMPLETE = "journey_complete"
    PERSON_JOINED = "person_joined"
    CUSTOMER_IDENTIFIED = "customer_identified"
    PROMOTION_ACTION = "promotion_action"


_EVENT_NAMES = frozenset(e.value for e in WebhookEvent)


@strawberry.enum(
    description="A journey's behaviour pattern: the built-in rules' labels, IN_PROGRESS while the visit goes on, "
    "CUSTOM for a label of configured rules (`FOOTFALL_CUSTOMERS_BEHAVIOR_RULES`; see `behaviorLabel`)."
)
class Behavior(Enum):
    QUICK_VISIT = "quick visit"
    ENGAGED = "engaged"
    DESTINATION_SHOPPER = "destination shopper"
    BROWSER = "browser"
    IN_PROGRESS = "in progress"
    CUSTOM = "custom"


def behavior_of(label: str) -> Behavior:
    try:
        found = Behavior(label)
    except ValueError:
        return Behavior.CUSTOM
    return Behavior.CUSTOM if found is Behavior.CUSTOM else found


def customers(info: Info) -> CustomersClient:
    return info.context.client(CustomersClient)


class _TransactionFields:
    """A `TransactionInput` as `transaction_proto` reads it (an absent camera is the empty key)."""

    def __init__(self, data: Any) -> None:
        self._data = data
        self.camera_id = str(data.camera_id) if data.camera_id is not None else ""

    def __getattr__(self, name: str) -> Any:
        return getattr(self._data, name)


# Object types


@strawberry.type(description="A sampled foot point in frame pixels.")
class JourneyPoint:
    x: float
    y: float


@strawberry.type(description="One continuous stay in a zone.")
class ZoneStay:
    zone_name: str
    enter_time: datetime | None
    exit_time: datetime | None = strawberry.field(description="Null while the customer is still inside")
    dwell_seconds: float


@strawberry.type(description="Seconds spent in one zone over the journey.")
class ZoneDwell:
    zone_name: str
    seconds: float


@strawberry.federation.type(keys=["id"], description="One customer's visit through one camera's view.")
class Journey:
    id: strawberry.ID
    customer_id: str = strawberry.field(description="Anonymous per visit unless the person was recognised")
    session_id: str
    camera_id: strawberry.ID = strawberry.field(description=CAMERA_ID)
    status: JourneyStatus | None = strawberry.field(description="Null for a state this gateway does not know")
    entry_time: datetime | None
    exit_time: datetime | None = strawberry.field(description="Null while active")
    duration_seconds: float | None = strawberry.field(description="Null while active")
    zones_visited: list[str] = strawberry.field(description="In the order entered; re-entries repeat")
    path: list[JourneyPoint]
    dwell_seconds: list[ZoneDwell]
    zone_stays: list[ZoneStay]
    behavior: Behavior = strawberry.field(description="The behaviour pattern; IN_PROGRESS while active")
    behavior_label: str = strawberry.field(description="The pattern's label (a configured rule's own for CUSTOM)")
    conversion: ConversionStatus | None = strawberry.field(description="Null for a state this gateway does not know")
    transaction_ids: list[str]
    purchase_amount: float
    created_at: datetime | None
    updated_at: datetime | None

    @classmethod
    def from_proto(cls, j: customers_pb2.Journey) -> Journey:
        completed = j.HasField("exit_time")
        return cls(
            id=strawberry.ID(str(j.id)),
            customer_id=j.customer_id,
            session_id=j.session_id,
            camera_id=strawberry.ID(j.camera_id),
            status=from_proto_enum(JourneyStatus, j.status),
            entry_time=to_datetime(j.entry_time),
            exit_time=to_datetime(j.exit_time) if completed else None,
            duration_seconds=j.duration_seconds if completed else None,
            zones_visited=list(j.zones_visited),
            path=[JourneyPoint(x=p.x, y=p.y) for p in j.path],
            dwell_seconds=[ZoneDwell(zone_name=k, seconds=v) for k, v in sorted(j.dwell_seconds.items())],
            zone_stays=[
                ZoneStay(
                    zone_name=s.zone_name,
                    enter_time=to_datetime(s.enter_time),
                    exit_time=to_datetime(s.exit_time),
                    dwell_seconds=s.dwell_seconds,
                )
                for s in j.zone_stays
            ],
            behavior=behavior_of(j.behavior),
            behavior_label=j.behavior,
            conversion=from_proto_enum(ConversionStatus, j.conversion),
            transaction_ids=list(j.transaction_ids),
            purchase_amount=j.purchase_amount,
            created_at=to_datetime(j.created_at),
            updated_at=to_datetime(j.updated_at),
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Journey | None:
        caller_of(info).principal.require(READERS)
        return await journey_or_none(info, parse_id(id))


async def journey_or_none(info: Info, journey_id: int) -> Journey | None:
    try:
        return Journey.from_proto(await customers(info).get_journey(info.context.caller, journey_id))
    except NotFound:
        return None


@strawberry.type
class BehaviorCount:
    behavior: Behavior
    label: str
    journeys: int


@strawberry.type
class ZoneVisitStats:
    zone_name: str
    journeys: int = strawberry.field(description="Completed journeys that entered the zone")
    average_dwell_seconds: float


@strawberry.type(description="Totals over the journeys that entered in a time range.")
class JourneyStats:
    total_customers: int = strawberry.field(description="Every visit, active ones included")
    active_customers: int
    completed_journeys: int
    converted_journeys: int
    conversion_rate_percent: float = strawberry.field(description="converted / completed * 100")
    average_duration_seconds: float
    behaviors: list[BehaviorCount]
    zones: list[ZoneVisitStats]
    transactions: int
    unmatched_transactions: int
    revenue: float

    @classmethod
    def from_proto(cls, s: customers_pb2.JourneyStats) -> JourneyStats:
        return cls(
            total_customers=s.total_customers,
            active_customers=s.active_customers,
            completed_journeys=s.completed_journeys,
            converted_journeys=s.converted_journeys,
            conversion_rate_percent=s.conversion_rate_percent,
            average_duration_seconds=s.average_duration_seconds,
            behaviors=[
                BehaviorCount(behavior=behavior_of(k), label=k, journeys=v) for k, v in sorted(s.behavior_counts.items())
            ],
            zones=[
                ZoneVisitStats(
                    zone_name=z.zone_name, journeys=z.journeys, average_dwell_seconds=z.average_dwell_seconds
                )
                for z in s.zones
            ],
            transactions=s.transactions,
            unmatched_transactions=s.unmatched_transactions,
            revenue=s.revenue,
        )


@strawberry.type
class TransactionItem:
    sku: str
    name: str
    quantity: float
    unit_price: float


@strawberry.type(description="A point-of-sale transaction.")
class Transaction:
    transaction_id: str
    transaction_time: datetime | None
    amount: float
    currency: str
    till_id: str
    zone_name: str
    camera_id: strawberry.ID | None = strawberry.field(description="Null when the till names no camera")
    items: list[TransactionItem]
    journey_id: strawberry.ID | None = strawberry.field(
        description="The converted journey; null when none matched"
    )
    created_at: datetime | None

    @classmethod
    def from_proto(cls, t: customers_pb2.Transaction) -> Transaction:
        return cls(
            transaction_id=t.transaction_id,
            transaction_time=to_datetime(t.transaction_time),
            amount=t.amount,
            currency=t.currency,
            till_id=t.till_id,
            zone_name=t.zone_name,
            camera_id=strawberry.ID(t.camera_id) if t.camera_id else None,
            items=[
                TransactionItem(sku=i.sku, name=i.name, quantity=i.quantity, unit_price=i.unit_price)
                for i in t.items
            ],
            journey_id=strawberry.ID(str(t.journey_id)) if t.journey_id else None,
            created_at=to_datetime(t.created_at),
        )


@strawberry.type
class TransactionRecorded:
    transaction: Transaction
    journey: Journey | None = strawberry.field(description="The converted journey; null when none matched")
    created: bool = strawberry.field(description="False when this transactionId was recorded before")


@strawberry.type(description="A URL that receives the events it subscribes to (journeys, person joined, customer identified, promotion action).")
class Webhook:
    id: strawberry.ID
    url: str
    events: list[WebhookEvent] = strawberry.field(description="Empty: every event")
    is_active: bool
    created_at: datetime | None

    @classmethod
    def from_proto(cls, w: customers_pb2.Webhook) -> Webhook:
        return cls(
            id=strawberry.ID(str(w.id)),
            url=w.url,
            events=[WebhookEvent(e) for e in w.events if e in _EVENT_NAMES],
            is_active=w.is_active,
            created_at=to_datetime(w.created_at),
        )

    @strawberry.field(description="The delivery log, newest first")
    async def deliveries(
        self, info: Info, first: FirstArg = DEFAULT_FIRST, after: AfterArg = None
    ) -> Connection[WebhookDelivery]:
        reply = await customers(info).list_deliveries(
            info.context.caller, int(self.id), check_first(first), after or ""
        )
        nodes = [WebhookDelivery.from_proto(d) for d in reply.deliveries]
        return Connection.of_page(nodes, reply.next_page_token)


@strawberry.type
class WebhookDelivery:
    id: strawberry.ID
    event: WebhookEvent | None = strawberry.field(description="Null for an event this gateway does not know")
    event_id: str
    status: WebhookDeliveryStatus | None = strawberry.field(description="Null for a state this gateway does not know")
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime | None
    payload_json: str

    @classmethod
    def from_proto(cls, d: customers_pb2.WebhookDelivery) -> WebhookDelivery:
        return cls(
            id=strawberry.ID(str(d.id)),
            event=WebhookEvent(d.event) if d.event in _EVENT_NAMES else None,
            event_id=d.event_id,
            status=from_proto_enum(WebhookDeliveryStatus, d.status),
            attempts=d.attempts,
            last_status_code=d.last_status_code or None,
            last_error=d.last_error or None,
            next_attempt_at=to_datetime(d.next_attempt_at),
            delivered_at=to_datetime(d.delivered_at),
            created_at=to_datetime(d.created_at),
            payload_json=d.payload_json,
        )


@strawberry.type
class WebhookCreated:
    webhook: Webhook
    secret: str = strawberry.field(
        description="The HMAC-SHA256 key (`X-Footfall-Signature`); only returned here"
    )


# Inputs


@strawberry.input
class TransactionItemInput:
    sku: str = ""
    name: str = ""
    quantity: float = 1.0
    unit_price: float = 0.0


@strawberry.input(
    description="A point-of-sale transaction; recording the same transactionId again changes nothing."
)
class TransactionInput:
    transaction_id: str
    transaction_time: datetime
    amount: float = 0.0
    currency: str = ""
    till_id: str = ""
    zone_name: str = strawberry.field(
        default="", description="The till's zone; empty matches on the visit alone"
    )
    camera_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only match this camera's journeys (`Camera.id`: its key)"
    )
    items: list[TransactionItemInput] | None = None

    def to_proto(self) -> customers_pb2.Transaction:
        return transaction_proto(_TransactionFields(self), self.items or ())


@strawberry.input
class WebhookInput:
    url: str
    events: list[WebhookEvent] | None = strawberry.field(default=None, description="Empty or omitted: every event")
    secret: str | None = strawberry.field(default=None, description="Omitted: one is generated")
