"""Customers in GraphQL: journeys (a federation entity), their totals, POS transactions and webhooks.

Resolvers are thin: one call to `CustomersService` over gRPC (`CustomersClient`) with the caller's credential,
then the reply as GraphQL types; root fields check the caller's role.

    query { journeys(first: 20, since: "2025-01-15T00:00:00Z") { nodes { id customerId zonesVisited conversion }
                                                                 pageInfo { hasNextPage endCursor } } }
    query { journey(id: "42") { behavior durationSeconds zoneStays { zoneName dwellSeconds } } }
    query { journeyStats { totalCustomers conversionRatePercent zones { zoneName journeys } } }
    mutation { recordTransaction(input: {transactionId: "r-1", transactionTime: "...", amount: 19.99,
                                         zoneName: "checkout"}) { created journey { id conversion } } }
    mutation { createWebhook(input: {url: "https://example.com/h"}) { secret webhook { id events } } }
    mutation { deleteWebhook(id: "7") }

No subscription: CustomersService has no streaming watch RPC, and the gateway reaches services over gRPC only
(the `journey_complete` NATS subject is not available to it).
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry
from footfall.graph.core.context import Info
from footfall.graph.core.convert import parse_id, to_datetime
from footfall.graph.core.schema import CanRead, CanWrite, SchemaModule, caller_of
from footfall.graph.customers.client import CustomersClient
from footfall.graph.customers.convert import CONVERSIONS, STATUSES, timestamp, transaction_proto
from footfall.services.core.errors import InvalidArgument, NotFound
from footfall.services.core.principal import READERS
from footfall.v1 import customers_pb2


@strawberry.enum(description="Whether a journey is still going on.")
class JourneyStatus(Enum):
    ACTIVE = "active"
    COMPLETED = "completed"
    UNSPECIFIED = "unspecified"


@strawberry.enum(description="Whether a journey ended in a purchase.")
class ConversionStatus(Enum):
    PENDING = "pending"
    PURCHASED = "purchased"
    NO_PURCHASE = "no_purchase"
    UNSPECIFIED = "unspecified"


@strawberry.enum
class WebhookDeliveryStatus(Enum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    UNSPECIFIED = "unspecified"


_STATUS = {v: JourneyStatus(k) for k, v in STATUSES.items()}
_CONVERSION = {v: ConversionStatus(k) for k, v in CONVERSIONS.items()}
_DELIVERY = {
    customers_pb2.DELIVERY_STATUS_PENDING: WebhookDeliveryStatus.PENDING,
    customers_pb2.DELIVERY_STATUS_DELIVERED: WebhookDeliveryStatus.DELIVERED,
    customers_pb2.DELIVERY_STATUS_FAILED: WebhookDeliveryStatus.FAILED,
}
MAX_PAGE = 1000


def _customers(info: Info) -> CustomersClient:
    return info.context.client(CustomersClient)


def _range(request: object, since: datetime | None, until: datetime | None) -> None:
    if since is not None:
        request.start_time.CopyFrom(timestamp(since))  # type: ignore[attr-defined]
    if until is not None:
        request.end_time.CopyFrom(timestamp(until))  # type: ignore[attr-defined]


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
    camera_id: str = strawberry.field(description="The camera's external key")
    status: JourneyStatus
    entry_time: datetime | None
    exit_time: datetime | None = strawberry.field(description="Null while active")
    duration_seconds: float | None = strawberry.field(description="Null while active")
    zones_visited: list[str] = strawberry.field(description="In the order entered; re-entries repeat")
    path: list[JourneyPoint]
    dwell_seconds: list[ZoneDwell]
    zone_stays: list[ZoneStay]
    behavior: str = strawberry.field(description="The behaviour pattern; `in progress` while active")
    conversion: ConversionStatus
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
            camera_id=j.camera_id,
            status=_STATUS.get(j.status, JourneyStatus.UNSPECIFIED),
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
            behavior=j.behavior,
            conversion=_CONVERSION.get(j.conversion, ConversionStatus.UNSPECIFIED),
            transaction_ids=list(j.transaction_ids),
            purchase_amount=j.purchase_amount,
            created_at=to_datetime(j.created_at),
            updated_at=to_datetime(j.updated_at),
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Journey | None:
        caller_of(info).principal.require(READERS)
        return await _journey_or_none(info, parse_id(id))


async def _journey_or_none(info: Info, journey_id: int) -> Journey | None:
    try:
        return Journey.from_proto(await _customers(info).get_journey(info.context.caller, journey_id))
    except NotFound:
        return None


@strawberry.type
class JourneyPageInfo:
    has_next_page: bool
    end_cursor: str | None = strawberry.field(description="Pass as `after` for the next page")


@strawberry.type(description="A page of journeys, newest entry first.")
class JourneyConnection:
    nodes: list[Journey]
    page_info: JourneyPageInfo


@strawberry.type
class BehaviorCount:
    behavior: str
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
            behaviors=[BehaviorCount(behavior=k, journeys=v) for k, v in sorted(s.behavior_counts.items())],
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
    camera_id: str
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
            camera_id=t.camera_id,
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


@strawberry.type(description="A URL that receives `customer_entry` and `journey_complete` events.")
class Webhook:
    id: strawberry.ID
    url: str
    events: list[str]
    is_active: bool
    created_at: datetime | None

    @classmethod
    def from_proto(cls, w: customers_pb2.Webhook) -> Webhook:
        return cls(
            id=strawberry.ID(str(w.id)),
            url=w.url,
            events=list(w.events),
            is_active=w.is_active,
            created_at=to_datetime(w.created_at),
        )

    @strawberry.field(description="The delivery log, newest first")
    async def deliveries(self, info: Info, first: int = 50) -> list[WebhookDelivery]:
        reply = await _customers(info).list_deliveries(info.context.caller, int(self.id), _first(first))
        return [WebhookDelivery.from_proto(d) for d in reply.deliveries]


@strawberry.type
class WebhookDelivery:
    id: strawberry.ID
    event: str
    event_id: str
    status: WebhookDeliveryStatus
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
            event=d.event,
            event_id=d.event_id,
            status=_DELIVERY.get(d.status, WebhookDeliveryStatus.UNSPECIFIED),
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
    camera_id: str = strawberry.field(default="", description="Only match this camera's journeys")
    items: list[TransactionItemInput] | None = None

    def to_proto(self) -> customers_pb2.Transaction:
        return transaction_proto(self, self.items or ())


@strawberry.input
class WebhookInput:
    url: str
    events: list[str] | None = strawberry.field(default=None, description="Empty or omitted: every event")
    secret: str | None = strawberry.field(default=None, description="Omitted: one is generated")


def _first(first: int) -> int:
    if not 1 <= first <= MAX_PAGE:
        raise InvalidArgument(f"first must be between 1 and {MAX_PAGE}, not {first}")
    return first


# Root types


@strawberry.type
class CustomersQuery:
    @strawberry.field(
        permission_classes=[CanRead],
        description="Journeys newest entry first, entered in [since, until) and matching the filters"
    )
    async def journeys(
        self,
        info: Info,
        first: int = 50,
        after: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        camera_id: str | None = None,
        customer_id: str | None = None,
        status: JourneyStatus | None = None,
        conversion: ConversionStatus | None = None,
        behavior: str | None = None,
        zone: str | None = None,
    ) -> JourneyConnection:
        request = customers_pb2.ListJourneysRequest(
            page_size=_first(first),
            page_token=after or "",
            camera_id=camera_id or "",
            customer_id=customer_id or "",
            status=STATUSES.get(status.value, 0) if status else 0,  # type: ignore[arg-type]
            conversion=CONVERSIONS.get(conversion.value, 0) if conversion else 0,  # type: ignore[arg-type]
            behavior=behavior or "",
            zone_name=zone or "",
        )
        _range(request, since, until)
        reply = await _customers(info).list_journeys(info.context.caller, request)
        return JourneyConnection(
            nodes=[Journey.from_proto(j) for j in reply.journeys],
            page_info=JourneyPageInfo(
                has_next_page=bool(reply.next_page_token), end_cursor=reply.next_page_token or None
            ),
        )

    @strawberry.field(permission_classes=[CanRead], description="One journey; null when the organisation has none with this id")
    async def journey(self, info: Info, id: strawberry.ID) -> Journey | None:
        return await _journey_or_none(info, parse_id(id))

    @strawberry.field(permission_classes=[CanRead], description="Totals over the journeys that entered in [since, until)")
    async def journey_stats(
        self,
        info: Info,
        since: datetime | None = None,
        until: datetime | None = None,
        camera_id: str | None = None,
    ) -> JourneyStats:
        request = customers_pb2.GetJourneyStatsRequest(camera_id=camera_id or "")
        _range(request, since, until)
        return JourneyStats.from_proto(await _customers(info).stats(info.context.caller, request))

    @strawberry.field(permission_classes=[CanRead], description="The organisation's webhooks, oldest first")
    async def webhooks(self, info: Info) -> list[Webhook]:
        out: list[Webhook] = []
        token = ""
        while True:
            reply = await _customers(info).list_webhooks(info.context.caller, MAX_PAGE, token)
            out += [Webhook.from_proto(w) for w in reply.webhooks]
            token = reply.next_page_token
            if not token:
                return out


@strawberry.type
class CustomersMutation:
    @strawberry.mutation(
        permission_classes=[CanWrite],
        description="Record a POS transaction; it converts the journey present at its time "
        "(in its zone when it names one)"
    )
    async def record_transaction(self, info: Info, input: TransactionInput) -> TransactionRecorded:
        reply = await _customers(info).record_transaction(info.context.caller, input.to_proto())
        return TransactionRecorded(
            transaction=Transaction.from_proto(reply.transaction),
            journey=Journey.from_proto(reply.journey) if reply.HasField("journey") else None,
            created=reply.created,
        )

    @strawberry.mutation(permission_classes=[CanWrite], description="Register a URL for `customer_entry` and `journey_complete` events")
    async def create_webhook(self, info: Info, input: WebhookInput) -> WebhookCreated:
        reply = await _customers(info).create_webhook(
            info.context.caller, input.url, input.events, input.secret or ""
        )
        return WebhookCreated(webhook=Webhook.from_proto(reply.webhook), secret=reply.secret)

    @strawberry.mutation(permission_classes=[CanWrite], description="Delete a webhook; returns its id (NOT_FOUND when there is none)")
    async def delete_webhook(self, info: Info, id: strawberry.ID) -> strawberry.ID:
        webhook_id = parse_id(id)
        await _customers(info).delete_webhook(info.context.caller, webhook_id)
        return strawberry.ID(str(webhook_id))


TYPES = (Journey, JourneyStats, Transaction, Webhook)
MODULE = SchemaModule("customers", query=CustomersQuery, mutation=CustomersMutation, types=TYPES)
