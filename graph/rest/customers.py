"""REST routes of the customers service (seed 000, "IntelliSight API"), thin adapters over CustomersService.

The seed's two documents, exactly (built by ``footfall.services.customers.rest_shapes``):

* ``GET /api/customers`` -> ``{"customers": [[id, customer_id, entry_time, exit_time, duration, zones, behavior,
  conversion, created_at], ...]}``: the latest 100 journeys, newest entry first.
* ``GET /api/stats`` -> ``{"total_customers": N}``.

And the rest of the service, documented in ``/openapi.json``:

* ``GET /api/journeys``: a page of journeys (``page_size``, ``page_token``; ``since``/``until`` on the entry
  time as ISO 8601 or Unix seconds; ``camera_id``, ``customer_id``, ``status``, ``behavior``, ``conversion``,
  ``zone``) -> ``{"journeys": [...], "next_page_token": ...}``, each journey with the seed's
  ``CustomerJourney`` fields (Unix-second times, ``behavior_pattern``, ``conversion_status`` as the seed
  writes it: ``Purchased``, ``No Purchase``, ``Pending``) plus ``id``, ``camera_id``, ``status``...
* ``GET /api/journeys/{journey_id}``: one journey (404 when the organisation has none with that id).
* ``GET /api/journeys/export?format=csv|xlsx``: the filtered journeys as a file download, streamed as the
  service produces it (``Content-Disposition: attachment; filename=...``).
* ``POST /api/transactions``: records a point-of-sale transaction (idempotent by ``transaction_id``) and
  returns the journey it converted, if any.
* ``POST /api/webhooks``, ``GET /api/webhooks``, ``DELETE /api/webhooks/{webhook_id}``,
  ``GET /api/webhooks/{webhook_id}/deliveries``.

Errors are ``{"detail": "..."}``: 400 (bad body or organisation, or the service rejected an argument), 404, 422
(bad path or query parameter), 503 (``Customers service not initialized``). The organisation is the
``X-Footfall-Org`` header, else the default.

Mount with ``create_app(settings, channel, extra_routes=routes(channel, settings))``.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import AsyncGenerator, AsyncIterator, Iterable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import grpc
from footfall.v1 import customers_pb2, customers_pb2_grpc
from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import BaseModel, ConfigDict, Field, GetJsonSchemaHandler, field_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from footfall.graph.clients import Clients, ServiceClient
from footfall.graph.convert import iso
from footfall.graph.rest.errors import RequestValidationError, domain_error_response, error_response
from footfall.graph.rest.routing import Path, Query, RestCall, RestRouter, org_from_request
from footfall.services.core import errors
from footfall.services.core.config import Settings
from footfall.services.core.timestamps import to_timestamp
from footfall.services.customers import rest_shapes

log = logging.getLogger(__name__)

EXPORT_PATH = "/api/journeys/export"
# The whole export (the service builds the file before its first chunk) may take longer than a unary call.
EXPORT_TIMEOUT_S = 120.0

STATUSES: dict[str, int] = {
    "active": customers_pb2.JOURNEY_STATUS_ACTIVE,
    "completed": customers_pb2.JOURNEY_STATUS_COMPLETED,
}
CONVERSIONS: dict[str, int] = {
    "pending": customers_pb2.CONVERSION_STATUS_PENDING,
    "purchased": customers_pb2.CONVERSION_STATUS_PURCHASED,
    "no_purchase": customers_pb2.CONVERSION_STATUS_NO_PURCHASE,
}
EXPORT_FORMATS: dict[str, int] = {
    "csv": customers_pb2.EXPORT_FORMAT_CSV,
    "xlsx": customers_pb2.EXPORT_FORMAT_XLSX,
}
DELIVERY_STATUSES: dict[int, str] = {
    customers_pb2.DELIVERY_STATUS_PENDING: "pending",
    customers_pb2.DELIVERY_STATUS_DELIVERED: "delivered",
    customers_pb2.DELIVERY_STATUS_FAILED: "failed",
}
_STATUS_NAMES = {v: k for k, v in STATUSES.items()}
# The seed's conversion texts (its reports and `/api/customers` rows).
CONVERSION_TEXT: dict[int, str] = {
    customers_pb2.CONVERSION_STATUS_PENDING: "Pending",
    customers_pb2.CONVERSION_STATUS_PURCHASED: "Purchased",
    customers_pb2.CONVERSION_STATUS_NO_PURCHASE: "No Purchase",
}
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


# --------------------------------------------------------------------------------------------------
# The gRPC client


class CustomersClient(ServiceClient):
    """`footfall.v1.CustomersService`: journeys, transactions, stats, exports and webhooks."""

    service_name = "Customers"
    grpc_service = "footfall.v1.CustomersService"

    def __init__(self, channel: grpc.aio.Channel, *, timeout: float = 10.0) -> None:
        super().__init__(channel, timeout=timeout)
        self.stub = customers_pb2_grpc.CustomersServiceStub(channel)

    async def seed_customers(self, org: str) -> dict[str, list[list[Any]]]:
        """The seed's ``GET /api/customers`` body."""
        try:
            return await rest_shapes.fetch_customers(self.stub, org)
        except grpc.aio.AioRpcError as err:
            raise self._error(err) from None

    async def seed_stats(self, org: str) -> dict[str, int]:
        """The seed's ``GET /api/stats`` body."""
        try:
            return await rest_shapes.fetch_stats(self.stub, org)
        except grpc.aio.AioRpcError as err:
            raise self._error(err) from None

    async def list_journeys(
        self, org: str, request: customers_pb2.ListJourneysRequest
    ) -> customers_pb2.ListJourneysResponse:
        return await self._unary(self.stub.ListJourneys, request, org)

    async def get_journey(self, org: str, journey_id: int) -> customers_pb2.Journey:
        return (
            await self._unary(self.stub.GetJourney, customers_pb2.GetJourneyRequest(id=journey_id), org)
        ).journey

    async def record_transaction(
        self, org: str, transaction: customers_pb2.Transaction
    ) -> customers_pb2.RecordTransactionResponse:
        request = customers_pb2.RecordTransactionRequest(transaction=transaction)
        return await self._unary(self.stub.RecordTransaction, request, org)

    async def stats(
        self, org: str, request: customers_pb2.GetJourneyStatsRequest
    ) -> customers_pb2.JourneyStats:
        return (await self._unary(self.stub.GetJourneyStats, request, org)).stats

    def export(
        self, org: str, request: customers_pb2.ExportJourneysRequest
    ) -> AsyncGenerator[customers_pb2.ExportJourneysResponse, None]:
        """The file's chunks (the first names it); closing the iterator cancels the call."""
        timeout = max(self.timeout, EXPORT_TIMEOUT_S)
        return self._stream(self.stub.ExportJourneys, request, org, timeout=timeout)

    async def create_webhook(
        self, org: str, url: str, events: list[str] | None = None, secret: str = ""
    ) -> customers_pb2.CreateWebhookResponse:
        request = customers_pb2.CreateWebhookRequest(url=url, events=events or [], secret=secret)
        return await self._unary(self.stub.CreateWebhook, request, org)

    async def list_webhooks(
        self, org: str, page_size: int = 0, page_token: str = ""
    ) -> customers_pb2.ListWebhooksResponse:
        request = customers_pb2.ListWebhooksRequest(page_size=page_size, page_token=page_token)
        return await self._unary(self.stub.ListWebhooks, request, org)

    async def delete_webhook(self, org: str, webhook_id: int) -> None:
        await self._unary(self.stub.DeleteWebhook, customers_pb2.DeleteWebhookRequest(id=webhook_id), org)

    async def list_deliveries(
        self, org: str, webhook_id: int, page_size: int = 0, page_token: str = ""
    ) -> customers_pb2.ListWebhookDeliveriesResponse:
        request = customers_pb2.ListWebhookDeliveriesRequest(
            webhook_id=webhook_id, page_size=page_size, page_token=page_token
        )
        return await self._unary(self.stub.ListWebhookDeliveries, request, org)


# --------------------------------------------------------------------------------------------------
# Wire conversions shared with GraphQL


timestamp = to_timestamp


def transaction_proto(body: Any, items: Iterable[Any]) -> customers_pb2.Transaction:
    """The `Transaction` a REST `TransactionIn` or GraphQL `TransactionInput` stands for.

    `body` has the transaction's fields by their proto names (`transaction_time` a datetime); `items` have
    `sku`, `name`, `quantity` and `unit_price`.
    """
    msg = customers_pb2.Transaction(
        transaction_id=body.transaction_id,
        amount=body.amount,
        currency=body.currency,
        till_id=body.till_id,
        zone_name=body.zone_name,
        camera_id=body.camera_id,
        items=[
            customers_pb2.TransactionItem(sku=i.sku, name=i.name, quantity=i.quantity, unit_price=i.unit_price)
            for i in items
        ],
    )
    msg.transaction_time.CopyFrom(timestamp(body.transaction_time))
    return msg


def unix(ts: Timestamp) -> float | None:
    """Unix seconds, or None when unset."""
    if not ts.seconds and not ts.nanos:
        return None
    return ts.seconds + ts.nanos / 1e9


def parse_time(raw: str, name: str) -> datetime:
    """A query parameter's time: ISO 8601 (`2025-01-15T10:30:00Z`; naive is UTC) or Unix seconds (-> 422)."""
    text = raw.strip()
    try:
        if _NUMBER.match(text):
            value = float(text)
            if not math.isfinite(value):
                raise ValueError(text)
            return datetime.fromtimestamp(value, UTC)
        dt = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        raise RequestValidationError(
            f"Invalid query parameter '{name}': {raw!r} is not an ISO 8601 time or Unix seconds"
        ) from None


def _choice(raw: str | None, name: str, choices: dict[str, int]) -> int:
    if raw is None or not raw.strip():
        return 0
    key = raw.strip().lower().replace(" ", "_").replace("-", "_")
    if key not in choices:
        raise RequestValidationError(f"Invalid query parameter '{name}': use one of {', '.join(choices)}")
    return choices[key]


def _time_range(request: Any, since: str | None, until: str | None) -> None:
    """Sets `start_time`/`end_time` from the `since`/`until` query parameters (absent or empty: unbounded)."""
    if since and since.strip():
        request.start_time.CopyFrom(timestamp(parse_time(since, "since")))
    if until and until.strip():
        request.end_time.CopyFrom(timestamp(parse_time(until, "until")))


# --------------------------------------------------------------------------------------------------
# Shapes


class SeedCustomers(BaseModel):
    customers: list[list[Any]] = Field(
        description="Journeys rows, newest entry first: [id, customer_id, entry_time, exit_time, duration, zones "
        "(JSON text), behavior, conversion, created_at]",
        examples=[
            [
                [
                    1,
                    "cust-1",
                    1700200000.0,
                    1700200060.0,
                    60.0,
                    '["shelves", "checkout"]',
                    "browser",
                    "Purchased",
                    "2023-11-17 05:46:40.000000",
                ]
            ]
        ],
    )


class SeedStats(BaseModel):
    model_config = ConfigDict(extra="forbid")

    total_customers: int = Field(description="Every visit, active ones included")


class ZoneStayOut(BaseModel):
    zone_name: str
    enter_time: float | None
    exit_time: float | None = Field(description="Null while the customer is still inside")
    dwell_seconds: float


class JourneyOut(BaseModel):
    """A journey with the seed's `CustomerJourney` fields first (times in Unix seconds)."""

    customer_id: str
    session_id: str
    entry_time: float | None
    exit_time: float | None = Field(description="Null while active")
    total_duration: float | None = Field(description="Seconds; null while active")
    zones_visited: list[str]
    path_coordinates: list[list[float]] = Field(description="Sampled foot points [x, y] in frame pixels")
    dwell_times: dict[str, float] = Field(description="Seconds spent in each zone")
    behavior_pattern: str = Field(examples=["browser"])
    conversion_status: str = Field(
        description="`Purchased`, `No Purchase` or `Pending`", examples=["Purchased"]
    )
    id: int
    camera_id: str
    status: Literal["active", "completed", "unspecified"]
    zone_stays: list[ZoneStayOut]
    transaction_ids: list[str]
    purchase_amount: float
    created_at: str | None
    updated_at: str | None

    @classmethod
    def of(cls, j: customers_pb2.Journey) -> JourneyOut:
        completed = j.HasField("exit_time")
        return cls(
            customer_id=j.customer_id,
            session_id=j.session_id,
            entry_time=unix(j.entry_time),
            exit_time=unix(j.exit_time) if completed else None,
            total_duration=j.duration_seconds if completed else None,
            zones_visited=list(j.zones_visited),
            path_coordinates=[[p.x, p.y] for p in j.path],
            dwell_times=dict(j.dwell_seconds),
            behavior_pattern=j.behavior,
            conversion_status=CONVERSION_TEXT.get(j.conversion, ""),
            id=j.id,
            camera_id=j.camera_id,
            status=_STATUS_NAMES.get(j.status, "unspecified"),  # type: ignore[arg-type]
            zone_stays=[
                ZoneStayOut(
                    zone_name=s.zone_name,
                    enter_time=unix(s.enter_time),
                    exit_time=unix(s.exit_time),
                    dwell_seconds=s.dwell_seconds,
                )
                for s in j.zone_stays
            ],
            transaction_ids=list(j.transaction_ids),
            purchase_amount=j.purchase_amount,
            created_at=iso(j.created_at),
            updated_at=iso(j.updated_at),
        )


class JourneyPageOut(BaseModel):
    journeys: list[JourneyOut]
    next_page_token: str | None = Field(
        description="Pass as page_token for the next page; null on the last page"
    )


class TransactionItemIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    sku: str = ""
    name: str = ""
    quantity: float = 1.0
    unit_price: float = 0.0


class TransactionIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    transaction_id: str = Field(
        description="Idempotency key: recording the same id again changes nothing", examples=["receipt-0001"]
    )
    transaction_time: datetime = Field(
        description="ISO 8601 (naive is UTC) or Unix seconds", examples=["2025-01-15T10:30:45Z"]
    )
    amount: float = Field(0.0, examples=[19.99])
    currency: str = Field("", examples=["EUR"])
    till_id: str = ""
    zone_name: str = Field(
        "", description="The till's zone (e.g. `checkout`); empty matches on the visit alone"
    )
    camera_id: str = Field("", description="Only match this camera's journeys; empty for any camera")
    items: list[TransactionItemIn] = Field(default_factory=list)

    @field_validator("amount")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("amount must be a finite number")
        return value

    def to_proto(self) -> customers_pb2.Transaction:
        return transaction_proto(self, self.items)


class TransactionItemOut(BaseModel):
    sku: str
    name: str
    quantity: float
    unit_price: float


class TransactionOut(BaseModel):
    transaction_id: str
    transaction_time: str | None
    amount: float
    currency: str
    till_id: str
    zone_name: str
    camera_id: str
    items: list[TransactionItemOut]
    journey_id: int | None = Field(description="The converted journey; null when none matched (yet)")
    created_at: str | None

    @classmethod
    def of(cls, t: customers_pb2.Transaction) -> TransactionOut:
        return cls(
            transaction_id=t.transaction_id,
            transaction_time=_iso_precise(t.transaction_time),
            amount=t.amount,
            currency=t.currency,
            till_id=t.till_id,
            zone_name=t.zone_name,
            camera_id=t.camera_id,
            items=[
                TransactionItemOut(sku=i.sku, name=i.name, quantity=i.quantity, unit_price=i.unit_price)
                for i in t.items
            ],
            journey_id=t.journey_id or None,
            created_at=iso(t.created_at),
        )


class TransactionRecordedOut(BaseModel):
    transaction: TransactionOut
    journey: JourneyOut | None = Field(description="The converted journey; null when none matched")
    created: bool = Field(description="False when this transaction_id was recorded before (nothing changed)")


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    url: str = Field(description="An absolute http(s) URL", examples=["https://example.com/footfall"])
    events: list[str] = Field(
        default_factory=list, description="`customer_entry`, `journey_complete`; empty: all"
    )
    secret: str = Field("", description="The HMAC-SHA256 key; empty generates one (returned once, here)")


class WebhookOut(BaseModel):
    id: int
    url: str
    events: list[str]
    is_active: bool
    created_at: str | None

    @classmethod
    def of(cls, w: customers_pb2.Webhook) -> WebhookOut:
        return cls(
            id=w.id, url=w.url, events=list(w.events), is_active=w.is_active, created_at=iso(w.created_at)
        )


class WebhookCreatedOut(WebhookOut):
    secret: str = Field(description="Signs each POST (`X-Footfall-Signature`); only returned on creation")


class WebhookPageOut(BaseModel):
    webhooks: list[WebhookOut]
    next_page_token: str | None


class WebhookDeletedOut(BaseModel):
    status: Literal["deleted"] = "deleted"
    id: int


class DeliveryOut(BaseModel):
    id: int
    webhook_id: int
    event: str
    event_id: str
    status: Literal["pending", "delivered", "failed", "unspecified"]
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: str | None
    delivered_at: str | None
    created_at: str | None
    payload: str = Field(description="The JSON body sent")

    @classmethod
    def of(cls, d: customers_pb2.WebhookDelivery) -> DeliveryOut:
        return cls(
            id=d.id,
            webhook_id=d.webhook_id,
            event=d.event,
            event_id=d.event_id,
            status=DELIVERY_STATUSES.get(d.status, "unspecified"),  # type: ignore[arg-type]
            attempts=d.attempts,
            last_status_code=d.last_status_code or None,
            last_error=d.last_error or None,
            next_attempt_at=iso(d.next_attempt_at),
            delivered_at=iso(d.delivered_at),
            created_at=iso(d.created_at),
            payload=d.payload_json,
        )


class DeliveryPageOut(BaseModel):
    deliveries: list[DeliveryOut]
    next_page_token: str | None


class JourneyExportFile(BaseModel):
    """Documents the export download: the body is the file itself, not JSON (see the operation)."""

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {
            "type": "string",
            "format": "binary",
            "title": "JourneyExportFile",
            "description": "The file, sent as `text/csv` or `application/vnd.openxmlformats-officedocument."
            "spreadsheetml.sheet` with `Content-Disposition: attachment; filename=...`",
        }


def _iso_precise(ts: Timestamp) -> str | None:
    if not ts.seconds and not ts.nanos:
        return None
    return ts.ToDatetime(tzinfo=UTC).isoformat().replace("+00:00", "Z")


# --------------------------------------------------------------------------------------------------
# Routes


class _CustomersRouter(RestRouter):
    """A `RestRouter` whose export operation is served as a streamed file (documented like the others).

    The export route also comes before `/api/journeys/{journey_id}`, so `export` is never taken for an id.
    """

    def starlette_routes(self, clients: Clients, settings: Settings) -> list[Route]:
        plain = [r for r in super().starlette_routes(clients, settings) if r.path != EXPORT_PATH]
        return [
            Route(EXPORT_PATH, _export_app(clients, settings), methods=["GET"], name="export_journeys"),
            *plain,
        ]


router = _CustomersRouter("/api", tags=["customers"])

Since = Annotated[
    str | None,
    Query(None, description="Journeys that entered at or after this time (ISO 8601 or Unix seconds)"),
]
Until = Annotated[str | None, Query(None, description="Journeys that entered before this time")]
CameraFilter = Annotated[str | None, Query(None, description="The camera's external key")]
StatusFilter = Annotated[str | None, Query(None, description="`active` or `completed`")]
BehaviorFilter = Annotated[str | None, Query(None, description="A behaviour pattern, e.g. `browser`")]
ConversionFilter = Annotated[str | None, Query(None, description="`purchased`, `no_purchase` or `pending`")]
ZoneFilter = Annotated[str | None, Query(None, description="Only journeys that visited this zone")]
PageSize = Annotated[int, Query(100, ge=1, le=1000, description="At most 1000")]
PageToken = Annotated[str | None, Query(None, description="next_page_token of the previous page")]
JourneyId = Annotated[int, Path(description="The journey's id")]
WebhookId = Annotated[int, Path(description="The webhook's id")]


def _customers(call: RestCall) -> CustomersClient:
    return call.clients.get(CustomersClient)


@router.get("/customers", response=SeedCustomers, errors=(503,), summary="Latest 100 journeys as seed rows")
async def get_customers(call: RestCall) -> SeedCustomers:
    """The seed's `GET /api/customers`: the latest 100 journeys (newest entry first), each a row of the seed's
    journeys table."""
    return SeedCustomers.model_validate(await _customers(call).seed_customers(call.org))


@router.get("/stats", response=SeedStats, errors=(503,), summary="Total customers")
async def get_stats(call: RestCall) -> SeedStats:
    """The seed's `GET /api/stats`: every visit, active ones included."""
    return SeedStats.model_validate(await _customers(call).seed_stats(call.org))


@router.get("/journeys", response=JourneyPageOut, errors=(422,), summary="Journeys, newest entry first")
async def list_journeys(
    call: RestCall,
    page_size: PageSize,
    page_token: PageToken,
    since: Since,
    until: Until,
    camera_id: CameraFilter,
    customer_id: Annotated[str | None, Query(None, description="One customer's journeys")],
    status: StatusFilter,
    behavior: BehaviorFilter,
    conversion: ConversionFilter,
    zone: ZoneFilter,
) -> JourneyPageOut:
    """A page of the organisation's journeys, filtered by entry time and the other filters given."""
    request = customers_pb2.ListJourneysRequest(
        page_size=page_size,
        page_token=page_token or "",
        camera_id=camera_id or "",
        customer_id=customer_id or "",
        status=_choice(status, "status", STATUSES),  # type: ignore[arg-type]
        behavior=behavior or "",
        conversion=_choice(conversion, "conversion", CONVERSIONS),  # type: ignore[arg-type]
        zone_name=zone or "",
    )
    _time_range(request, since, until)
    reply = await _customers(call).list_journeys(call.org, request)
    return JourneyPageOut(
        journeys=[JourneyOut.of(j) for j in reply.journeys], next_page_token=reply.next_page_token or None
    )


@router.get(
    "/journeys/export",
    response=JourneyExportFile,
    errors=(422,),
    summary="Download the journeys as CSV or XLSX",
)
async def export_journeys(
    call: RestCall,
    format: Annotated[str, Query("csv", description="`csv` or `xlsx`")],
    since: Since,
    until: Until,
    camera_id: CameraFilter,
    status: StatusFilter,
    behavior: BehaviorFilter,
    conversion: ConversionFilter,
    zone: ZoneFilter,
) -> AsyncIterator[customers_pb2.ExportJourneysResponse]:
    """The filtered journeys as a file (the seed's report columns first), oldest entry first, streamed as the
    service sends it: `text/csv` or XLSX, with `Content-Disposition: attachment; filename=journeys-....csv`."""
    fmt = (format or "csv").strip().lower()
    if fmt not in EXPORT_FORMATS:
        raise RequestValidationError("Invalid query parameter 'format': use csv or xlsx")
    request = customers_pb2.ExportJourneysRequest(
        format=EXPORT_FORMATS[fmt],
        camera_id=camera_id or "",  # type: ignore[arg-type]
        status=_choice(status, "status", STATUSES),  # type: ignore[arg-type]
        behavior=behavior or "",
        conversion=_choice(conversion, "conversion", CONVERSIONS),  # type: ignore[arg-type]
        zone_name=zone or "",
    )
    _time_range(request, since, until)
    return _customers(call).export(call.org, request)


@router.get("/journeys/{journey_id}", response=JourneyOut, errors=(404, 422), summary="One journey")
async def get_journey(call: RestCall, journey_id: JourneyId) -> JourneyOut:
    """One journey of the organisation by id."""
    return JourneyOut.of(await _customers(call).get_journey(call.org, journey_id))


@router.post(
    "/transactions",
    response=TransactionRecordedOut,
    errors=(400,),
    summary="Record a point-of-sale transaction",
)
async def record_transaction(call: RestCall, body: TransactionIn) -> TransactionRecordedOut:
    """Records the transaction (idempotent by `transaction_id`) and matches it to the journey present at its
    time, in its zone when it names one; that journey converts (`Purchased`)."""
    reply = await _customers(call).record_transaction(call.org, body.to_proto())
    return TransactionRecordedOut(
        transaction=TransactionOut.of(reply.transaction),
        journey=JourneyOut.of(reply.journey) if reply.HasField("journey") else None,
        created=reply.created,
    )


@router.post(
    "/webhooks", response=WebhookCreatedOut, status_code=201, errors=(400,), summary="Register a webhook"
)
async def create_webhook(call: RestCall, body: WebhookIn) -> WebhookCreatedOut:
    """Registers a URL that receives `customer_entry` and `journey_complete` events as signed JSON POSTs."""
    reply = await _customers(call).create_webhook(call.org, body.url, body.events, body.secret)
    return WebhookCreatedOut(**WebhookOut.of(reply.webhook).model_dump(), secret=reply.secret)


@router.get("/webhooks", response=WebhookPageOut, errors=(422,), summary="The organisation's webhooks")
async def list_webhooks(
    call: RestCall, page_size: Annotated[int, Query(100, ge=1, le=1000)], page_token: PageToken
) -> WebhookPageOut:
    """The organisation's webhooks, oldest first."""
    reply = await _customers(call).list_webhooks(call.org, page_size, page_token or "")
    return WebhookPageOut(
        webhooks=[WebhookOut.of(w) for w in reply.webhooks], next_page_token=reply.next_page_token or None
    )


@router.route(
    "DELETE",
    "/webhooks/{webhook_id}",
    response=WebhookDeletedOut,
    errors=(404, 422),
    summary="Delete a webhook",
)
async def delete_webhook(call: RestCall, webhook_id: WebhookId) -> WebhookDeletedOut:
    """Deletes the webhook; nothing more is posted to it."""
    await _customers(call).delete_webhook(call.org, webhook_id)
    return WebhookDeletedOut(id=webhook_id)


@router.get(
    "/webhooks/{webhook_id}/deliveries",
    response=DeliveryPageOut,
    errors=(404, 422),
    summary="A webhook's delivery log",
)
async def list_webhook_deliveries(
    call: RestCall,
    webhook_id: WebhookId,
    page_size: Annotated[int, Query(100, ge=1, le=1000)],
    page_token: PageToken,
) -> DeliveryPageOut:
    """The webhook's deliveries, newest first."""
    reply = await _customers(call).list_deliveries(call.org, webhook_id, page_size, page_token or "")
    return DeliveryPageOut(
        deliveries=[DeliveryOut.of(d) for d in reply.deliveries],
        next_page_token=reply.next_page_token or None,
    )


def _export_app(clients: Clients, settings: Settings) -> Any:
    """The export operation as a streamed download; errors before the first chunk answer `{"detail": ...}`."""
    ep = next(e for e in router.endpoints if e.path == EXPORT_PATH)

    async def endpoint(request: Request) -> Response:
        chunks: AsyncIterator[customers_pb2.ExportJourneysResponse] | None = None
        try:
            kwargs = {p.name: request.query_params.get(p.name, p.default) for p in ep.params}
            call = RestCall(request, org_from_request(request, settings), clients, settings)
            chunks = await ep.handler(call, **kwargs)
            first = await anext(chunks)
        except RequestValidationError as err:
            return error_response(err.status_code, err.detail)
        except StopAsyncIteration:
            return domain_error_response(errors.FootfallError("the export produced no file"))
        except errors.FootfallError as err:
            if chunks is not None:
                await chunks.aclose()  # type: ignore[attr-defined]
            return domain_error_response(err)
        stream = chunks

        async def body() -> AsyncIterator[bytes]:
            try:
                yield first.chunk
                async for part in stream:
                    yield part.chunk
            except errors.FootfallError as err:  # after the headers: all we can do is cut the download short
                log.warning("journeys export for %s failed mid-stream: %s", call.org, err)
                raise
            finally:
                await stream.aclose()  # type: ignore[attr-defined]

        filename = first.filename or "journeys"
        return StreamingResponse(
            body(),
            media_type=first.content_type or "application/octet-stream",
            headers={
                "Content-Disposition": f'attachment; filename="{filename}"',
                "Cache-Control": "no-store",
            },
        )

    endpoint.__name__ = ep.operation_id
    return endpoint


def routes(
    channel_or_clients: grpc.aio.Channel | Clients, settings: Settings
) -> list[BaseRoute | RestRouter]:
    """Everything customers adds to the gateway, for `create_app(..., extra_routes=routes(channel, settings))`.

    One `RestRouter` (it joins `/openapi.json`); the export download is served by the router itself.
    """
    return [router]


def starlette_routes(channel_or_clients: grpc.aio.Channel | Clients, settings: Settings) -> list[BaseRoute]:
    """The same routes as plain Starlette routes (for an app that is not `footfall.graph.app.create_app`)."""
    clients = channel_or_clients if isinstance(channel_or_clients, Clients) else Clients(channel_or_clients)
    return list(router.starlette_routes(clients, settings))
