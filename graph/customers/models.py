"""The customers REST bodies: the seed's two documents and the rest of the service's shapes."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, Literal

from footfall.graph.core.convert import clean_text, iso, iso_precise, unix
from footfall.graph.customers.convert import (
    CONVERSION_TEXT,
    DELIVERY_STATUSES,
    STATUS_NAMES,
    transaction_proto,
)
from footfall.v1 import customers_pb2
from pydantic import BaseModel, ConfigDict, Field, GetJsonSchemaHandler, field_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

#: The customers service's bound on amounts, item quantities and prices (a sale, not a ledger).
MAX_AMOUNT = 1e9


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
            status=STATUS_NAMES.get(j.status, "unspecified"),  # type: ignore[arg-type]
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


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")

    @field_validator("*")
    @classmethod
    def _printable(cls, value: object) -> object:
        return clean_text(value)


class TransactionItemIn(_Body):

    sku: str = ""
    name: str = ""
    quantity: float = Field(1.0, ge=-MAX_AMOUNT, le=MAX_AMOUNT, allow_inf_nan=False)
    unit_price: float = Field(0.0, ge=-MAX_AMOUNT, le=MAX_AMOUNT, allow_inf_nan=False)


class TransactionIn(_Body):

    transaction_id: str = Field(
        description="Idempotency key: recording the same id again changes nothing", examples=["receipt-0001"]
    )
    transaction_time: datetime = Field(
        description="ISO 8601 (naive is UTC) or Unix seconds", examples=["2025-01-15T10:30:45Z"]
    )
    amount: float = Field(0.0, ge=-MAX_AMOUNT, le=MAX_AMOUNT, examples=[19.99])
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
            transaction_time=iso_precise(t.transaction_time),
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


class WebhookIn(_Body):

    url: str = Field(description="An absolute http(s) URL", examples=["https://example.com/footfall"])
    events: list[str] = Field(
        default_factory=list, description="`customer_entry`, `journey_complete`, `person_joined`, `customer_identified`, `promotion_action`; empty: the two journey events"
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
