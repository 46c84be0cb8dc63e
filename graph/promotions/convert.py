"""Protobuf <-> the gateway's shapes for promotions, shared by REST and GraphQL."""

from __future__ import annotations

from datetime import UTC, datetime

from footfall.graph.core.convert import iso
from footfall.services.core.errors import InvalidArgument
from footfall.services.core.timestamps import to_timestamp
from footfall.v1 import customers_pb2, promotions_pb2

LOYALTY_TARGETS: dict[str, int] = {
    "all": customers_pb2.LOYALTY_STATUS_UNSPECIFIED,
    "bronze": customers_pb2.LOYALTY_STATUS_BRONZE,
    "silver": customers_pb2.LOYALTY_STATUS_SILVER,
    "gold": customers_pb2.LOYALTY_STATUS_GOLD,
    "platinum": customers_pb2.LOYALTY_STATUS_PLATINUM,
}
_LOYALTY_NAMES = {v: k for k, v in LOYALTY_TARGETS.items()}


def loyalty_name(number: int) -> str:
    """The seed's word (`all` for everyone); an unknown number (a newer service) reads as `all`."""
    return _LOYALTY_NAMES.get(number, "all")


def utc(dt: datetime) -> datetime:
    """An aware UTC datetime (a naive one is taken as UTC)."""
    return dt.astimezone(UTC) if dt.tzinfo else dt.replace(tzinfo=UTC)


def parse_interval(text: str) -> tuple[datetime | None, datetime]:
    """An ISO 8601 interval `START/END` (seed 002 sent validity as a string); `/END` starts now."""
    start_text, sep, end_text = text.strip().partition("/")
    if not sep or not end_text:
        raise InvalidArgument("validity must be {start, end} or an ISO 8601 interval START/END")
    try:
        start = utc(datetime.fromisoformat(start_text)) if start_text else None
        end = utc(datetime.fromisoformat(end_text))
    except ValueError:
        raise InvalidArgument("validity must be {start, end} or an ISO 8601 interval START/END") from None
    return start, end


def promotion_proto(*, title: str, description: str, discount: str, start: datetime | None, end: datetime,
                    target_loyalty_status: str, zone: str | None) -> promotions_pb2.Promotion:
    pb = promotions_pb2.Promotion(
        title=title, description=description, discount=discount, valid_until=to_timestamp(utc(end)),
        target_loyalty_status=LOYALTY_TARGETS[target_loyalty_status], zone=zone or "",  # type: ignore[arg-type]
    )
    if start is not None:
        pb.valid_from.CopyFrom(to_timestamp(utc(start)))
    return pb


def promotion_json(p: promotions_pb2.Promotion) -> dict[str, object]:
    """Seed 002's promotion object, with its validity as a real period."""
    return {
        "id": p.id, "title": p.title, "description": p.description, "discount": p.discount,
        "validity": {"start": iso(p.valid_from), "end": iso(p.valid_until)},
        "target_loyalty_status": loyalty_name(p.target_loyalty_status), "zone": p.zone or None,
        "created_at": iso(p.created_at),
    }


def display_json(c: promotions_pb2.DisplayContent) -> dict[str, object]:
    personal = c.mode == promotions_pb2.DISPLAY_MODE_PERSONAL
    return {
        "display_id": c.display.id, "name": c.display.name, "zone": c.display.zone,
        "mode": "personal" if personal else "default",
        "customer_id": c.customer_id if personal else None,
        "recommended_products": list(c.recommended_products),
        "personal_until": iso(c.personal_until) if personal else None,
        "promotions": [promotion_json(p) for p in c.promotions],
        "timestamp": iso(c.as_of),
    }
