"""Customers' protobuf <-> wire conversions, shared by its REST routes and GraphQL types: the seed's
journeys rows and conversion texts, filters, transactions."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from footfall.graph.core.convert import unix
from footfall.graph.core.errors import invalid_parameter
from footfall.services.core.timestamps import to_timestamp
from footfall.v1 import customers_pb2

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
STATUS_NAMES = {v: k for k, v in STATUSES.items()}
# The seed's conversion texts (its reports and `/api/customers` rows).
CONVERSION_TEXT: dict[int, str] = {
    customers_pb2.CONVERSION_STATUS_PENDING: "Pending",
    customers_pb2.CONVERSION_STATUS_PURCHASED: "Purchased",
    customers_pb2.CONVERSION_STATUS_NO_PURCHASE: "No Purchase",
}
#: The seed's `GET /api/customers` returns the latest 100 journeys.
SEED_CUSTOMERS_LIMIT = 100
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")

timestamp = to_timestamp


def created_at_text(ts: Any) -> str:
    """The seed's TIMESTAMP text (`YYYY-MM-DD HH:MM:SS[.ffffff]`, UTC)."""
    return datetime.fromtimestamp(ts.ToNanoseconds() / 1e9, UTC).replace(tzinfo=None).isoformat(" ")


def seed_row(j: customers_pb2.Journey) -> list[Any]:
    """One row of the seed's journeys table: [id, customer_id, entry_time, exit_time, duration, zones (JSON
    text), behavior, conversion, created_at]; a journey in progress has null exit and duration."""
    completed = j.HasField("exit_time")
    return [
        j.id, j.customer_id, j.entry_time.ToNanoseconds() / 1e9,
        j.exit_time.ToNanoseconds() / 1e9 if completed else None,
        j.duration_seconds if completed else None, json.dumps(list(j.zones_visited)), j.behavior,
        CONVERSION_TEXT.get(j.conversion, ""), created_at_text(j.created_at),
    ]


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
        raise invalid_parameter(name, "not an ISO 8601 time or Unix seconds") from None


def choice(raw: str | None, name: str, choices: dict[str, int]) -> int:
    if raw is None or not raw.strip():
        return 0
    key = raw.strip().lower().replace(" ", "_").replace("-", "_")
    if key not in choices:
        raise invalid_parameter(name, f"use one of {', '.join(choices)}")
    return choices[key]


def time_range(request: Any, since: str | None, until: str | None) -> None:
    """Sets `start_time`/`end_time` from the `since`/`until` query parameters (absent or empty: unbounded)."""
    if since and since.strip():
        request.start_time.CopyFrom(timestamp(parse_time(since, "since")))
    if until and until.strip():
        request.end_time.CopyFrom(timestamp(parse_time(until, "until")))


__all__ = ["unix"]
