"""Domain <-> protobuf for the promotions service (loyalty statuses travel as `footfall.v1.LoyaltyStatus`)."""

from __future__ import annotations

from datetime import datetime

from footfall.services.core.errors import InvalidArgument
from footfall.services.core.timestamps import to_timestamp
from footfall.services.promotions.domain import (
    EVERYONE,
    LOYALTY_STATUSES,
    Action,
    Display,
    DisplayContent,
    NewPromotion,
    Promotion,
    StoreZone,
)
from footfall.v1 import customers_pb2, promotions_pb2

_PREFIX = "LOYALTY_STATUS_"


def loyalty_number(word: str) -> int:
    """`gold` -> LOYALTY_STATUS_GOLD; `all` (everyone) -> UNSPECIFIED."""
    if word == EVERYONE:
        return customers_pb2.LOYALTY_STATUS_UNSPECIFIED
    return customers_pb2.LoyaltyStatus.Value(_PREFIX + word.upper())


def loyalty_word(number: int) -> str:
    """LOYALTY_STATUS_GOLD -> `gold`; UNSPECIFIED -> `all`."""
    if number == customers_pb2.LOYALTY_STATUS_UNSPECIFIED:
        return EVERYONE
    try:
        word = customers_pb2.LoyaltyStatus.Name(number).removeprefix(_PREFIX).lower()
    except ValueError:
        raise InvalidArgument(f"unknown loyalty status {number}") from None
    if word not in LOYALTY_STATUSES:  # pragma: no cover - a status added to the enum but not here
        raise InvalidArgument(f"unknown loyalty status {number}")
    return word


def new_promotion(pb: promotions_pb2.Promotion, now: datetime) -> NewPromotion:
    if not pb.HasField("valid_until"):
        raise InvalidArgument("validity end is required")
    return NewPromotion(
        title=pb.title, description=pb.description, discount=pb.discount,
        valid_from=pb.valid_from.ToDatetime(tzinfo=now.tzinfo) if pb.HasField("valid_from") else now,
        valid_until=pb.valid_until.ToDatetime(tzinfo=now.tzinfo),
        target_loyalty_status=loyalty_word(pb.target_loyalty_status), zone=pb.zone,
    )


def promotion(p: Promotion) -> promotions_pb2.Promotion:
    return promotions_pb2.Promotion(
        id=p.id, title=p.title, description=p.description, discount=p.discount,
        valid_from=to_timestamp(p.valid_from), valid_until=to_timestamp(p.valid_until),
        target_loyalty_status=loyalty_number(p.target_loyalty_status), zone=p.zone,
        created_at=to_timestamp(p.created_at),
    )


def store_zone(z: StoreZone) -> promotions_pb2.StoreZone:
    return promotions_pb2.StoreZone(zone=z.zone, products=list(z.products), camera_ids=list(z.camera_ids),
                                    updated_at=to_timestamp(z.updated_at))


def display(d: Display) -> promotions_pb2.Display:
    return promotions_pb2.Display(id=d.id, name=d.name, zone=d.zone, created_at=to_timestamp(d.created_at))


def content(c: DisplayContent) -> promotions_pb2.DisplayContent:
    out = promotions_pb2.DisplayContent(
        display=display(c.display), promotions=[promotion(p) for p in c.promotions], as_of=to_timestamp(c.as_of),
        mode=promotions_pb2.DISPLAY_MODE_PERSONAL if c.personal else promotions_pb2.DISPLAY_MODE_DEFAULT,
    )
    if c.personal is not None:
        out.customer_id = c.personal.customer_id
        out.recommended_products.extend(c.personal.recommended_products)
        out.personal_until.CopyFrom(to_timestamp(c.personal.personal_until))
    return out


def action(a: Action) -> promotions_pb2.PromotionAction:
    return promotions_pb2.PromotionAction(
        customer_id=a.customer_id, store_zone=a.store_zone, recommended_products=list(a.recommended_products),
        timestamp=to_timestamp(a.identified_at), camera_id=a.camera_id, confidence=a.confidence,
        loyalty_status=loyalty_number(a.loyalty_status), identification_event_id=a.identification_event_id,
        event_id=a.event_id,
    )
