"""Commerce (seed 003): products, carts and what is put in them, a person's orders and summary, visit counts.
Plain data and the rules every write obeys, with no SQL and no transport.

A cart belongs to a person (identity's opaque id: anyone seen), a customer (the record the business keeps) or
both, at an optional table. A cart with products is an order. Visits are the journeys the cameras build: a
person's journeys carry the person id.
"""

from __future__ import annotations

import math
import re
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal
from enum import Enum

from footfall.services.core.errors import InvalidArgument, NotFound

MAX_NAME = 200
MAX_CATEGORY = 100
MAX_PRICE = Decimal("9999999999.99")
MAX_TABLE = 1_000_000
MAX_QUANTITY = 10_000
MAX_BULK = 500
FAVORITE_DISHES = 5
PERSON_NOT_FOUND = "Person not found"

# Identity's person ids travel in URL paths (`/api/client/person/{id}/...`): keep them path-safe.
_PERSON_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")


@dataclass(frozen=True)
class Product:
    id: str
    name: str
    category: str
    price: Decimal | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ProductDraft:
    name: str
    category: str = ""
    price: Decimal | None = None


@dataclass(frozen=True)
class Cart:
    id: str
    person_id: str | None
    customer_id: int | None
    table_number: int | None
    transaction_id: str | None
    checked_out_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class CartDraft:
    person_id: str | None = None
    customer_id: int | None = None
    table_number: int | None = None


@dataclass(frozen=True)
class CartProduct:
    id: str
    cart_id: str
    product_id: str
    quantity: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class CartProductDraft:
    cart_id: str
    product_id: str
    quantity: int = 1


@dataclass(frozen=True)
class OrderLine:
    """A cart product with its product's name and price."""

    id: str
    product_id: str
    product_name: str
    quantity: int
    price: Decimal | None
    added_at: datetime


@dataclass(frozen=True)
class Order:
    cart: Cart
    lines: tuple[OrderLine, ...]

    @property
    def total_items(self) -> int:
        return sum(line.quantity for line in self.lines)


@dataclass(frozen=True)
class PersonActivity:
    """What this service knows of a person: the customer linked on their carts, their visits' span."""

    person_id: str
    name: str | None = None
    phone: str | None = None
    customer_id: int | None = None
    entry_time: datetime | None = None
    exit_time: datetime | None = None
    first_seen: datetime | None = None
    last_seen: datetime | None = None


@dataclass(frozen=True)
class VisitStats:
    count: int
    last_entry: datetime | None


@dataclass(frozen=True)
class DishCount:
    dish: str
    count: int


@dataclass(frozen=True)
class PersonSummary:
    person_id: str
    person_name: str | None
    total_visits: int
    favorite_table: int | None
    favorite_dishes: tuple[DishCount, ...]
    last_visit: datetime | None
    total_spent_items: int
    ai_summary: str = ""


class VisitPeriod(Enum):
    """Seed 003's `type` of visit counts: (bucket size, number of buckets, the current one last)."""

    LAST_6_HOURS = ("hour", 6)
    DAY = ("hour", 24)
    WEEK = ("day", 7)
    MONTH = ("day", 30)

    @property
    def unit(self) -> str:
        return self.value[0]

    @property
    def buckets(self) -> int:
        return self.value[1]


@dataclass(frozen=True)
class VisitBucket:
    start: datetime
    visits: int

    def label(self, unit: str) -> str:
        """`YYYY-MM-DD` for days; the hour's ISO 8601 start (`Z` in UTC) for hours."""
        if unit == "day":
            return self.start.date().isoformat()
        text = self.start.isoformat(timespec="seconds")
        return text[:-6] + "Z" if text.endswith("+00:00") else text


# ---- rules ------------------------------------------------------------------------------------------


def _text(value: str, field: str, limit: int, *, required: bool) -> str:
    value = (value or "").strip()
    if required and not value:
        raise InvalidArgument(f"{field} is required")
    if len(value) > limit:
        raise InvalidArgument(f"{field} must be at most {limit} characters")
    if "\x00" in value:
        raise InvalidArgument(f"{field} must not contain NUL characters")
    return value


def checked_product(draft: ProductDraft) -> ProductDraft:
    price = draft.price
    if price is not None:
        if not price.is_finite() or price < 0 or price > MAX_PRICE:
            raise InvalidArgument(f"price must be between 0 and {MAX_PRICE}")
        price = price.quantize(Decimal("0.01"))
    return ProductDraft(
        name=_text(draft.name, "name", MAX_NAME, required=True),
        category=_text(draft.category, "category", MAX_CATEGORY, required=False),
        price=price,
    )


def price_of(value: float | None) -> Decimal | None:
    """A price from a transport's float (None stays None); InvalidArgument when it is not a finite number."""
    if value is None:
        return None
    if not math.isfinite(value):
        raise InvalidArgument("price must be a finite number")
    return Decimal(str(value))


def check_person_id(person_id: str) -> str:
    if not isinstance(person_id, str) or not _PERSON_ID.match(person_id):
        raise InvalidArgument("person id must be 1-64 letters, digits, '_', '.', ':' or '-'")
    return person_id


def check_person_name(name: str) -> str:
    """A display name passed in (identity's person name), stripped; empty means none."""
    name = name.strip()
    if len(name) > MAX_NAME or "\x00" in name:
        raise InvalidArgument(f"person_name must be at most {MAX_NAME} characters, without NUL")
    return name


def check_uuid(value: str, field: str) -> str:
    """The canonical form of a UUID id; InvalidArgument when `value` is not one."""
    try:
        return str(uuid.UUID(value))
    except (ValueError, TypeError, AttributeError):
        raise InvalidArgument(f"{field} must be a UUID") from None


def checked_cart(draft: CartDraft) -> CartDraft:
    person = check_person_id(draft.person_id) if draft.person_id else None
    customer = draft.customer_id or None
    if person is None and customer is None:
        raise InvalidArgument("a cart needs a person or a customer")
    if customer is not None and customer < 1:
        raise InvalidArgument("customer must be a positive id")
    table = draft.table_number
    if table is not None and not 0 <= table <= MAX_TABLE:
        raise InvalidArgument(f"table_number must be between 0 and {MAX_TABLE}")
    return CartDraft(person, customer, table)


def checked_cart_products(drafts: Sequence[CartProductDraft]) -> list[CartProductDraft]:
    if not drafts:
        raise InvalidArgument("cart_products must not be empty")
    if len(drafts) > MAX_BULK:
        raise InvalidArgument(f"at most {MAX_BULK} cart products at once")
    out = []
    for draft in drafts:
        quantity = draft.quantity or 1
        if not 1 <= quantity <= MAX_QUANTITY:
            raise InvalidArgument(f"quantity must be between 1 and {MAX_QUANTITY}")
        out.append(replace(draft, cart_id=check_uuid(draft.cart_id, "cart"),
                           product_id=check_uuid(draft.product_id, "product"), quantity=quantity))
    return out


def person_not_found() -> NotFound:
    return NotFound(PERSON_NOT_FOUND)


# ---- summaries --------------------------------------------------------------------------------------


def favorite_table(carts: Iterable[Cart]) -> int | None:
    """The table of most carts; the lowest number on a tie; None without carts at tables."""
    counts = Counter(c.table_number for c in carts if c.table_number is not None)
    if not counts:
        return None
    return min(counts, key=lambda table: (-counts[table], table))


def favorite_dishes(orders: Iterable[Order], limit: int = FAVORITE_DISHES) -> tuple[DishCount, ...]:
    """The products bought most (by quantity), most first, by name on a tie."""
    counts: Counter[str] = Counter()
    for order in orders:
        for line in order.lines:
            counts[line.product_name] += line.quantity
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return tuple(DishCount(dish, count) for dish, count in ranked[:limit])


def person_summary(activity: PersonActivity, orders: Sequence[Order], visits: VisitStats) -> PersonSummary:
    """Everything of the summary but its text (see `footfall.services.customers.commerce.summary`)."""
    return PersonSummary(
        person_id=activity.person_id,
        person_name=activity.name,
        total_visits=visits.count,
        favorite_table=favorite_table(o.cart for o in orders),
        favorite_dishes=favorite_dishes(orders),
        last_visit=visits.last_entry,
        total_spent_items=sum(o.total_items for o in orders),
    )


# ---- visit counts -----------------------------------------------------------------------------------


def bucket_starts(period: VisitPeriod, now: datetime, zone: tzinfo) -> list[datetime]:
    """The starts of the period's buckets in `zone`, oldest first, the one holding `now` last.

    Days are calendar days of the zone (23 or 25 hours around daylight-saving changes)."""
    local = now.astimezone(zone)
    if period.unit == "hour":
        current = local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)  # hours step in UTC
        return [(current - timedelta(hours=n)).astimezone(zone) for n in reversed(range(period.buckets))]
    today = local.date()
    days = [today - timedelta(days=n) for n in range(period.buckets)]
    return [datetime(d.year, d.month, d.day, tzinfo=zone) for d in reversed(days)]
