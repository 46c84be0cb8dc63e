"""Commerce behind every transport (gRPC, and through it REST): products, carts, cart products, checkout, a
person's orders, detail and summary, visit counts. Each call is one tenant transaction (checkout: two, see
:meth:`Commerce.checkout`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from footfall.services.core.db import Database
from footfall.services.core.errors import InvalidArgument, NotFound
from footfall.services.customers import store as journey_store
from footfall.services.customers.commerce import store
from footfall.services.customers.commerce.domain import (
    Cart,
    CartDraft,
    CartProduct,
    CartProductDraft,
    Order,
    OrderLine,
    PersonActivity,
    PersonSummary,
    Product,
    ProductDraft,
    VisitBucket,
    VisitPeriod,
    bucket_starts,
    check_person_id,
    check_person_name,
    check_uuid,
    checked_cart,
    checked_cart_products,
    checked_product,
    person_not_found,
    person_summary,
)
from footfall.services.customers.commerce.summary import GeneratedSummaries, SummaryWriter
from footfall.services.customers.conversion import POSTransaction
from footfall.services.customers.models import JourneyRecord, TransactionRecord
from footfall.services.customers.service import Customers, decode_token, encode_token

MAX_PAGE = 1000
DEFAULT_PAGE = 100
CART_NOT_FOUND = "Cart not found"
PRODUCT_NOT_FOUND = "Product not found"
CUSTOMER_NOT_FOUND = "Customer not found"
CHECKED_OUT = "cart is checked out"
#: The transaction a checked-out cart records: one per cart, so checking out again changes nothing.
TRANSACTION_PREFIX = "cart-"

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def page_size(requested: int) -> int:
    if requested < 0:
        raise InvalidArgument("page_size must not be negative")
    return min(requested or DEFAULT_PAGE, MAX_PAGE)


@dataclass(frozen=True)
class Checkout:
    """Where and when a cart is paid (what its transaction records)."""

    time: datetime | None = None
    till_id: str = ""
    zone: str = ""
    camera_id: str = ""
    currency: str = ""


def _page_after(token: str, key: str) -> tuple[str, str] | None:
    if not token:
        return None
    data = decode_token(token)
    first, second = data.get(key), data.get("id")
    if not isinstance(first, str) or not isinstance(second, str):
        raise InvalidArgument("invalid page_token")
    return first, check_uuid(second, "page_token")


class Commerce:
    """Seed 003's commerce of one platform: every method acts inside one organisation."""

    def __init__(
        self, db: Database, customers: Customers, *, summaries: SummaryWriter | None = None,
        clock: Clock = utc_now, zone: tzinfo | str = "UTC",
    ) -> None:
        self.db = db
        self.customers = customers
        self.summaries = summaries or GeneratedSummaries()
        self.clock = clock
        self.zone = ZoneInfo(zone) if isinstance(zone, str) else zone

    # ---- products and carts -----------------------------------------------------------------------

    async def create_product(self, org: str, draft: ProductDraft) -> Product:
        draft = checked_product(draft)
        async with self.db.tenant(org) as conn:
            return await store.insert_product(conn, org, draft)

    async def list_products(self, org: str, requested_page_size: int = 0, token: str = "") -> tuple[list[Product], str]:
        limit = page_size(requested_page_size)
        after = _page_after(token, "name")
        async with self.db.tenant(org) as conn:
            rows = await store.list_products(conn, org, after=after, limit=limit)
        if len(rows) > limit:
            last = rows[limit - 1]
            return rows[:limit], encode_token({"name": last.name, "id": last.id})
        return rows, ""

    async def create_cart(self, org: str, draft: CartDraft) -> Cart:
        draft = checked_cart(draft)
        async with self.db.tenant(org) as conn:
            if draft.customer_id is not None and not await store.customer_exists(conn, org, draft.customer_id):
                raise NotFound(CUSTOMER_NOT_FOUND)
            return await store.insert_cart(conn, org, draft)

    async def add_cart_products(self, org: str, drafts: Sequence[CartProductDraft]) -> list[CartProduct]:
        """All or none: every cart and product must exist, and no cart may be checked out."""
        checked = checked_cart_products(drafts)
        async with self.db.tenant(org) as conn:
            carts = {c.id: c for c in await store.lock_carts(conn, org, sorted({d.cart_id for d in checked}))}
            products = await store.existing_products(conn, org, sorted({d.product_id for d in checked}))
            for draft in checked:
                cart = carts.get(draft.cart_id)
                if cart is None:
                    raise NotFound(CART_NOT_FOUND)
                if cart.checked_out_at is not None:
                    raise InvalidArgument(CHECKED_OUT)
                if draft.product_id not in products:
                    raise NotFound(PRODUCT_NOT_FOUND)
            return await store.insert_cart_products(conn, org, checked)

    async def checkout(
        self, org: str, cart_id: str, checkout: Checkout
    ) -> tuple[Cart, TransactionRecord, JourneyRecord | None]:
        """Record the cart's POS transaction (`cart-<id>`, matched to a journey like any sale) and close it.

        Two steps, each idempotent: the transaction by its id, the cart's mark by the same id. A checkout
        interrupted between them is completed by the next one; a cart already closed returns its
        transaction as recorded."""
        cart_id = check_uuid(cart_id, "cart")
        transaction_id = TRANSACTION_PREFIX + cart_id
        async with self.db.tenant(org) as conn:
            cart = await store.get_cart(conn, org, cart_id)
            if cart is None:
                raise NotFound(CART_NOT_FOUND)
            lines = (await store.order_lines(conn, org, [cart_id])).get(cart_id, [])
        if cart.checked_out_at is None:
            if not lines:
                raise InvalidArgument("an empty cart cannot be checked out")
            await self.customers.record_transaction(org, self._transaction(transaction_id, lines, checkout))
        async with self.db.tenant(org) as conn:
            cart = await store.get_cart(conn, org, cart_id, for_update=True) or cart
            if cart.checked_out_at is None:
                cart = await store.mark_checked_out(conn, org, cart_id, transaction_id)
            recorded = await journey_store.get_transaction(conn, cart.transaction_id or transaction_id)
            if recorded is None:  # a checkout recorded before its transaction's id was taken by hand
                raise InvalidArgument(CHECKED_OUT)
            journey = await journey_store.get_journey(conn, recorded.journey_id) if recorded.journey_id else None
        return cart, recorded, journey

    def _transaction(self, transaction_id: str, lines: Sequence[OrderLine], checkout: Checkout) -> POSTransaction:
        items = tuple(
            {"sku": line.product_id, "name": line.product_name, "quantity": float(line.quantity),
             "unit_price": float(line.price or 0)}
            for line in lines
        )
        when = checkout.time or self.clock()
        return POSTransaction(
            transaction_id=transaction_id, time=when.timestamp(),
            amount=round(sum(i["quantity"] * i["unit_price"] for i in items), 2),
            zone=checkout.zone or None, till_id=checkout.till_id or None,
            camera_id=checkout.camera_id or None, items=items, currency=checkout.currency,
        )

    # ---- persons ----------------------------------------------------------------------------------

    async def person_orders(
        self, org: str, person_id: str, requested_page_size: int = 0, token: str = "", *, enrolled: bool = False
    ) -> tuple[PersonActivity, list[Order], str, int]:
        """The person, a page of their orders (newest first), the next page's token and their total.

        `enrolled`, here and below: the caller knows the person from identity, so a person with neither carts
        nor visits is answered (empty) rather than not found."""
        check_person_id(person_id)
        limit = page_size(requested_page_size)
        after = None
        if token:
            when, cart_id = _page_after(token, "t") or ("", "")
            try:
                after = (datetime.fromisoformat(when), cart_id)
            except ValueError:
                raise InvalidArgument("invalid page_token") from None
        async with self.db.tenant(org) as conn:
            activity = await _activity(conn, org, person_id, enrolled)
            orders = await store.person_orders(conn, org, person_id, with_products_only=True, after=after,
                                               limit=limit)
            total = await store.count_person_orders(conn, org, person_id)
        next_token = ""
        if len(orders) > limit:
            orders = orders[:limit]
            last = orders[-1].cart
            next_token = encode_token({"t": last.created_at.isoformat(), "id": last.id})
        return activity, orders, next_token, total

    async def person_detail(
        self, org: str, person_id: str, *, enrolled: bool = False
    ) -> tuple[PersonActivity, list[Order]]:
        check_person_id(person_id)
        async with self.db.tenant(org) as conn:
            activity = await _activity(conn, org, person_id, enrolled)
            return activity, await store.person_orders(conn, org, person_id, with_products_only=False)

    async def person_summary(
        self, org: str, person_id: str, *, enrolled: bool = False, person_name: str = ""
    ) -> PersonSummary:
        """The figures from the database, then the words from the summary writer (outside the transaction:
        a model may take seconds). `person_name` (identity's) replaces the name of the customer on the carts."""
        check_person_id(person_id)
        name = check_person_name(person_name)
        async with self.db.tenant(org) as conn:
            activity = await _activity(conn, org, person_id, enrolled)
            if name:
                activity = replace(activity, name=name)
            orders = await store.person_orders(conn, org, person_id, with_products_only=False)
            visits = await store.person_visits(conn, org, person_id)
        summary = person_summary(activity, orders, visits)
        return replace(summary, ai_summary=await self.summaries.write(summary))

    # ---- statistics -------------------------------------------------------------------------------

    async def visit_counts(self, org: str, period: VisitPeriod) -> list[VisitBucket]:
        """Journeys entered per bucket of `period` in the service's zone, oldest first, zeros included."""
        starts = bucket_starts(period, self.clock(), self.zone)
        step = timedelta(hours=1) if period.unit == "hour" else None
        stops = [(s.astimezone(UTC) + step) for s in starts] if step else [*starts[1:], _next_day(starts[-1], self.zone)]
        async with self.db.tenant(org) as conn:
            counts = await store.visit_counts(conn, org, starts, stops)
        return [VisitBucket(start, n) for start, n in zip(starts, counts, strict=True)]


async def _activity(conn: store.Conn, org: str, person_id: str, enrolled: bool) -> PersonActivity:
    """What is known of the person here; NotFound when nothing is, unless identity enrolled them."""
    activity = await store.person_activity(conn, org, person_id)
    if activity is not None:
        return activity
    if enrolled:
        return PersonActivity(person_id)
    raise person_not_found()


def _next_day(start: datetime, zone: tzinfo) -> datetime:
    day = start.date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, tzinfo=zone)
