"""Promotions in plain Python: offers, store zones, displays, recommendations (no SQL, no transport).

A promotion is shown during its validity period `[valid_from, valid_until)` to everyone (`all`) or to one
loyalty status, in one store zone or in every zone. A display belongs to a zone: while an identified customer
is there (until the `personal_until` of the newest recommendation for that zone) it shows the customer's
offer, else the zone's promotions for everyone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from footfall.services.core.errors import InvalidArgument

LOYALTY_STATUSES = ("bronze", "silver", "gold", "platinum")
EVERYONE = "all"
TARGETS = (EVERYONE, *LOYALTY_STATUSES)
MAX_TEXT = 2000
MAX_PRODUCTS = 500
MAX_NAME = 200


@dataclass(frozen=True)
class NewPromotion:
    title: str
    description: str
    discount: str
    valid_from: datetime
    valid_until: datetime
    target_loyalty_status: str = EVERYONE
    zone: str = ""


@dataclass(frozen=True)
class Promotion:
    id: int
    title: str
    description: str
    discount: str
    valid_from: datetime
    valid_until: datetime
    target_loyalty_status: str
    zone: str
    created_at: datetime

    def valid_at(self, at: datetime) -> bool:
        return self.valid_from <= at < self.valid_until

    def for_status(self, status: str | None) -> bool:
        """Shown to a customer of `status` (None: to anyone, i.e. only promotions for everyone)."""
        return self.target_loyalty_status == EVERYONE or self.target_loyalty_status == status

    def in_zone(self, zone: str) -> bool:
        return not self.zone or self.zone == zone


@dataclass(frozen=True)
class StoreZone:
    zone: str
    products: tuple[str, ...]
    camera_ids: tuple[str, ...]
    updated_at: datetime


@dataclass(frozen=True)
class Display:
    id: int
    name: str
    zone: str
    created_at: datetime


@dataclass(frozen=True)
class Identification:
    """A `customer_identified` event."""

    event_id: str
    customer_id: int
    confidence: float
    camera_id: str
    identified_at: datetime


@dataclass(frozen=True)
class Action:
    """A recommendation made for an identified customer in a zone."""

    event_id: str
    identification_event_id: str
    customer_id: int
    loyalty_status: str
    store_zone: str
    camera_id: str
    confidence: float
    recommended_products: tuple[str, ...]
    identified_at: datetime
    personal_until: datetime


@dataclass(frozen=True)
class ProductHistory:
    """What the organisation's purchases say about one candidate product for one customer."""

    product: str
    # The customer's transactions that contained it.
    bought: int
    # Transactions of anyone that contained it together with a product the customer has bought.
    co_occurrences: int


@dataclass(frozen=True)
class DisplayContent:
    display: Display
    personal: Action | None
    promotions: tuple[Promotion, ...]
    as_of: datetime
    # When this content changes by itself next (an offer or a promotion starts or ends); None: never.
    next_change_at: datetime | None


# ------------------------------------------------------------------------------------------ validation


def text(value: str, field: str, *, required: bool = False, most: int = MAX_TEXT) -> str:
    value = value.strip()
    if required and not value:
        raise InvalidArgument(f"{field} is required")
    if len(value) > most:
        raise InvalidArgument(f"{field} is longer than {most} characters")
    return value


def zone_name(value: str) -> str:
    return text(value, "zone", required=True, most=MAX_NAME)


def loyalty_target(value: str) -> str:
    value = (value or EVERYONE).strip().lower()
    if value not in TARGETS:
        raise InvalidArgument(f"target_loyalty_status must be one of {', '.join(TARGETS)}")
    return value


def checked_promotion(new: NewPromotion) -> NewPromotion:
    if new.valid_until <= new.valid_from:
        raise InvalidArgument("validity must end after it starts")
    return NewPromotion(
        title=text(new.title, "title", required=True, most=MAX_NAME),
        description=text(new.description, "description"),
        discount=text(new.discount, "discount", most=MAX_NAME),
        valid_from=new.valid_from, valid_until=new.valid_until,
        target_loyalty_status=loyalty_target(new.target_loyalty_status),
        zone=text(new.zone, "zone", most=MAX_NAME),
    )


def product_list(products: Iterable[str], field: str = "products") -> tuple[str, ...]:
    """Trimmed, non-empty, first occurrence kept, in the order given."""
    out = tuple(dict.fromkeys(p.strip() for p in products if p.strip()))
    if len(out) > MAX_PRODUCTS:
        raise InvalidArgument(f"at most {MAX_PRODUCTS} {field}")
    if any(len(p) > MAX_NAME for p in out):
        raise InvalidArgument(f"{field} must be at most {MAX_NAME} characters each")
    return out


# ------------------------------------------------------------------------------------- recommendations


def recommend(zone_products: Sequence[str], history: Mapping[str, ProductHistory], limit: int) -> tuple[str, ...]:
    """The zone's products ranked for the customer, best first, at most `limit`.

    A product scores what the org's baskets say: how often it was bought together with something the customer
    buys (co-occurrence) plus how often the customer bought it. Ties, and customers without history, keep the
    zone's own order, so a stranger to the shop still gets the zone's leading products.
    """
    if limit <= 0:
        return ()

    def score(item: tuple[int, str]) -> tuple[int, int]:
        position, product = item
        seen = history.get(product)
        return (-(seen.co_occurrences + seen.bought) if seen else 0, position)

    ranked = sorted(enumerate(zone_products), key=score)
    return tuple(product for _, product in ranked[:limit])


def build_action(ident: Identification, loyalty_status: str, zone: str, products: Sequence[str],
                 offer_ttl: timedelta) -> Action:
    return Action(
        event_id=action_event_id(ident.event_id), identification_event_id=ident.event_id,
        customer_id=ident.customer_id, loyalty_status=loyalty_status, store_zone=zone, camera_id=ident.camera_id,
        confidence=ident.confidence, recommended_products=tuple(products), identified_at=ident.identified_at,
        personal_until=ident.identified_at + offer_ttl,
    )


def action_event_id(identification_event_id: str) -> str:
    """Deterministic, so a re-published action is dropped by JetStream's duplicate window."""
    return f"promotion-action:{identification_event_id}"


# ------------------------------------------------------------------------------------------- displays


def customer_promotions(promotions: Iterable[Promotion], status: str, at: datetime) -> tuple[Promotion, ...]:
    return tuple(p for p in promotions if p.valid_at(at) and p.for_status(status))


def display_content(display: Display, personal: Action | None, promotions: Iterable[Promotion],
                    at: datetime) -> DisplayContent:
    """What `display` shows at `at`: the personal offer of `personal` while it lasts, else the zone's defaults.

    `promotions` are the organisation's candidates (any validity); the ones shown are valid at `at`, in the
    display's zone or in every zone, for everyone or (personal) for the customer's loyalty status.
    """
    if personal is not None and not (personal.store_zone == display.zone and personal.identified_at <= at
                                     < personal.personal_until):
        personal = None
    status = personal.loyalty_status if personal else None
    candidates = [p for p in promotions if p.in_zone(display.zone) and p.for_status(status)]
    shown = tuple(p for p in candidates if p.valid_at(at))
    boundaries = [t for p in candidates for t in (p.valid_from, p.valid_until) if t > at]
    if personal is not None:
        boundaries.append(personal.personal_until)
    return DisplayContent(display, personal, shown, at, min(boundaries) if boundaries else None)


def same_screen(a: DisplayContent, b: DisplayContent) -> bool:
    """Whether two contents look the same on the screen (only `as_of` and the next change differ)."""
    return (a.display == b.display and a.personal == b.personal
            and [p.id for p in a.promotions] == [p.id for p in b.promotions])
