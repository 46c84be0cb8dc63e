"""Protobuf <-> domain conversions of the customers service (used by the servicer and the outbox)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from footfall.v1 import common_pb2, customers_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from footfall.services.core.errors import InvalidArgument
from footfall.services.customers.conversion import NO_PURCHASE, PENDING, PURCHASED, POSTransaction
from footfall.services.customers.models import (
    JourneyFilter,
    JourneyRecord,
    JourneyStats,
    TransactionRecord,
    Webhook,
    WebhookDelivery,
)

_CONVERSION_TO_PB = {
    PENDING: customers_pb2.CONVERSION_STATUS_PENDING,
    PURCHASED: customers_pb2.CONVERSION_STATUS_PURCHASED,
    NO_PURCHASE: customers_pb2.CONVERSION_STATUS_NO_PURCHASE,
}
_CONVERSION_FROM_PB = {v: k for k, v in _CONVERSION_TO_PB.items()}
_STATUS_FROM_PB = {
    customers_pb2.JOURNEY_STATUS_ACTIVE: "active",
    customers_pb2.JOURNEY_STATUS_COMPLETED: "completed",
}
_DELIVERY_TO_PB = {
    "pending": customers_pb2.DELIVERY_STATUS_PENDING,
    "delivered": customers_pb2.DELIVERY_STATUS_DELIVERED,
    "failed": customers_pb2.DELIVERY_STATUS_FAILED,
}


def ts(value: float | datetime | None) -> Timestamp | None:
    if value is None:
        return None
    out = Timestamp()
    if isinstance(value, datetime):
        out.FromDatetime(value.astimezone(UTC))
    else:
        out.FromNanoseconds(round(value * 1e9))
    return out


def unix(value: Timestamp) -> float:
    return value.ToNanoseconds() / 1e9


def optional_unix(message: object, field: str) -> float | None:
    return unix(getattr(message, field)) if message.HasField(field) else None  # type: ignore[attr-defined]


def conversion_pb(status: str) -> int:
    if PURCHASED in status:
        return customers_pb2.CONVERSION_STATUS_PURCHASED
    return _CONVERSION_TO_PB.get(status, customers_pb2.CONVERSION_STATUS_UNSPECIFIED)


def journey_pb(rec: JourneyRecord) -> customers_pb2.Journey:
    j = rec.journey
    msg = customers_pb2.Journey(
        id=rec.id, customer_id=j.customer_id, session_id=j.session_id, camera_id=rec.camera_id,
        status=customers_pb2.JOURNEY_STATUS_ACTIVE if j.exit_time is None else customers_pb2.JOURNEY_STATUS_COMPLETED,
        duration_seconds=j.total_duration or 0.0, zones_visited=j.zones_visited,
        path=[common_pb2.Point(x=float(p[0]), y=float(p[1])) for p in j.path_coordinates],
        dwell_seconds=j.dwell_times, behavior=j.behavior_pattern, conversion=conversion_pb(j.conversion_status),
        transaction_ids=rec.transaction_ids, purchase_amount=rec.purchase_amount,
    )
    msg.entry_time.CopyFrom(ts(j.entry_time))
    if j.exit_time is not None:
        msg.exit_time.CopyFrom(ts(j.exit_time))
    for stay in rec.zone_stays:
        pb = msg.zone_stays.add(zone_name=stay.zone, dwell_seconds=stay.seconds)
        pb.enter_time.CopyFrom(ts(stay.enter_time))
        if stay.exit_time is not None:
            pb.exit_time.CopyFrom(ts(stay.exit_time))
    msg.created_at.CopyFrom(ts(rec.created_at))
    msg.updated_at.CopyFrom(ts(rec.updated_at))
    return msg


def journey_filter(request: object) -> JourneyFilter:
    """A JourneyFilter from any request with the list/export filter fields."""
    get = lambda name, default=None: getattr(request, name, default)
    status = _STATUS_FROM_PB.get(get("status", 0))
    conversion = _CONVERSION_FROM_PB.get(get("conversion", 0))
    start = optional_unix(request, "start_time") if hasattr(request, "start_time") else None
    end = optional_unix(request, "end_time") if hasattr(request, "end_time") else None
    if start is not None and end is not None and end <= start:
        raise InvalidArgument("end_time must be after start_time")
    return JourneyFilter(
        start_time=start, end_time=end, camera_id=get("camera_id") or None, customer_id=get("customer_id") or None,
        status=status, behavior=get("behavior") or None, conversion=conversion, zone=get("zone_name") or None,
    )


def transaction_domain(msg: customers_pb2.Transaction) -> POSTransaction:
    if not msg.HasField("transaction_time"):
        raise InvalidArgument("transaction_time is required")
    items = tuple(
        {"sku": i.sku, "name": i.name, "quantity": i.quantity, "unit_price": i.unit_price} for i in msg.items
    )
    return POSTransaction(
        transaction_id=msg.transaction_id.strip(), time=unix(msg.transaction_time), amount=msg.amount,
        zone=msg.zone_name or None, till_id=msg.till_id or None, camera_id=msg.camera_id or None, items=items,
        currency=msg.currency,
    )


def transaction_pb(rec: TransactionRecord) -> customers_pb2.Transaction:
    msg = customers_pb2.Transaction(
        transaction_id=rec.transaction_id, amount=rec.amount, currency=rec.currency, till_id=rec.till_id,
        zone_name=rec.zone, camera_id=rec.camera_id, journey_id=rec.journey_id or 0,
        items=[
            customers_pb2.TransactionItem(
                sku=str(i.get("sku", "")), name=str(i.get("name", "")), quantity=float(i.get("quantity", 0) or 0),
                unit_price=float(i.get("unit_price", 0) or 0),
            )
            for i in rec.items
        ],
    )
    msg.transaction_time.CopyFrom(ts(rec.time))
    msg.created_at.CopyFrom(ts(rec.created_at))
    return msg


def stats_pb(stats: JourneyStats) -> customers_pb2.JourneyStats:
    return customers_pb2.JourneyStats(
        total_customers=stats.total_customers, active_customers=stats.active_customers,
        completed_journeys=stats.completed_journeys, converted_journeys=stats.converted_journeys,
        conversion_rate_percent=stats.conversion_rate_percent, average_duration_seconds=stats.average_duration_s,
        behavior_counts=stats.behavior_counts,
        zones=[customers_pb2.ZoneVisitStats(zone_name=z.zone, journeys=z.journeys, average_dwell_seconds=z.average_dwell_s)
               for z in stats.zones],
        transactions=stats.transactions, unmatched_transactions=stats.unmatched_transactions, revenue=stats.revenue,
    )


def webhook_pb(hook: Webhook) -> customers_pb2.Webhook:
    msg = customers_pb2.Webhook(id=hook.id, url=hook.url, events=hook.events, is_active=hook.is_active)
    msg.created_at.CopyFrom(ts(hook.created_at))
    return msg


def delivery_pb(d: WebhookDelivery) -> customers_pb2.WebhookDelivery:
    msg = customers_pb2.WebhookDelivery(
        id=d.id, webhook_id=d.webhook_id, event=d.event, event_id=d.event_id, status=_DELIVERY_TO_PB[d.status],
        attempts=d.attempts, last_status_code=d.last_status_code, last_error=d.last_error,
        payload_json=json.dumps(d.body),
    )
    if d.next_attempt_at is not None:
        msg.next_attempt_at.CopyFrom(ts(d.next_attempt_at))
    if d.delivered_at is not None:
        msg.delivered_at.CopyFrom(ts(d.delivered_at))
    msg.created_at.CopyFrom(ts(d.created_at))
    return msg
