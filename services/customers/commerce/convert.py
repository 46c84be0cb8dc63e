"""Protobuf <-> domain conversions of commerce. Ids are UUID strings; prices travel as doubles and live in
the domain as decimals of two places; an unset optional is None."""

from __future__ import annotations

from datetime import UTC, datetime

from footfall.services.core.errors import InvalidArgument
from footfall.services.core.timestamps import to_timestamp
from footfall.services.customers.commerce.domain import (
    Cart,
    CartDraft,
    CartProduct,
    CartProductDraft,
    Order,
    PersonActivity,
    PersonSummary,
    Product,
    ProductDraft,
    VisitBucket,
    VisitPeriod,
    price_of,
)
from footfall.services.customers.commerce.service import Checkout
from footfall.v1 import customers_pb2

_PERIODS = {
    customers_pb2.VISIT_COUNT_PERIOD_LAST_6_HOURS: VisitPeriod.LAST_6_HOURS,
    customers_pb2.VISIT_COUNT_PERIOD_DAY: VisitPeriod.DAY,
    customers_pb2.VISIT_COUNT_PERIOD_WEEK: VisitPeriod.WEEK,
    customers_pb2.VISIT_COUNT_PERIOD_MONTH: VisitPeriod.MONTH,
}


def _set_time(target: object, field: str, value: datetime | None) -> None:
    if value is not None:
        getattr(target, field).CopyFrom(to_timestamp(value))


def product_draft_of(msg: customers_pb2.Product) -> ProductDraft:
    return ProductDraft(msg.name, msg.category, price_of(msg.price) if msg.HasField("price") else None)


def product_pb(p: Product) -> customers_pb2.Product:
    out = customers_pb2.Product(id=p.id, name=p.name, category=p.category)
    if p.price is not None:
        out.price = float(p.price)
    _set_time(out, "created_at", p.created_at)
    _set_time(out, "updated_at", p.updated_at)
    return out


def cart_draft_of(msg: customers_pb2.Cart) -> CartDraft:
    return CartDraft(msg.person_id or None, msg.customer_id or None,
                     msg.table_number if msg.HasField("table_number") else None)


def cart_pb(c: Cart) -> customers_pb2.Cart:
    out = customers_pb2.Cart(id=c.id, person_id=c.person_id or "", customer_id=c.customer_id or 0,
                             transaction_id=c.transaction_id or "")
    if c.table_number is not None:
        out.table_number = c.table_number
    _set_time(out, "created_at", c.created_at)
    _set_time(out, "updated_at", c.updated_at)
    _set_time(out, "checked_out_at", c.checked_out_at)
    return out


def cart_product_drafts_of(msgs: list[customers_pb2.CartProduct]) -> list[CartProductDraft]:
    return [CartProductDraft(m.cart_id, m.product_id, m.quantity) for m in msgs]


def cart_product_pb(cp: CartProduct) -> customers_pb2.CartProduct:
    out = customers_pb2.CartProduct(id=cp.id, cart_id=cp.cart_id, product_id=cp.product_id, quantity=cp.quantity)
    _set_time(out, "created_at", cp.created_at)
    _set_time(out, "updated_at", cp.updated_at)
    return out


def order_pb(o: Order) -> customers_pb2.Order:
    out = customers_pb2.Order(cart=cart_pb(o.cart), total_items=o.total_items)
    for line in o.lines:
        pb = out.lines.add(id=line.id, product_id=line.product_id, product_name=line.product_name,
                           quantity=line.quantity)
        _set_time(pb, "added_at", line.added_at)
    return out


def person_pb(a: PersonActivity) -> customers_pb2.PersonActivity:
    out = customers_pb2.PersonActivity(person_id=a.person_id, name=a.name or "", phone=a.phone or "",
                                       customer_id=a.customer_id or 0)
    for field in ("entry_time", "exit_time", "first_seen", "last_seen"):
        _set_time(out, field, getattr(a, field))
    return out


def summary_pb(s: PersonSummary) -> customers_pb2.PersonSummary:
    out = customers_pb2.PersonSummary(
        person_id=s.person_id, person_name=s.person_name or "", total_visits=s.total_visits,
        ai_summary=s.ai_summary, total_spent_items=s.total_spent_items,
        favorite_dishes=[customers_pb2.DishCount(dish=d.dish, count=d.count) for d in s.favorite_dishes],
    )
    if s.favorite_table is not None:
        out.favorite_table = s.favorite_table
    _set_time(out, "last_visit", s.last_visit)
    return out


def period_of(number: int) -> VisitPeriod:
    period = _PERIODS.get(number)  # type: ignore[call-overload]
    if period is None:
        raise InvalidArgument("period must be one of last_6_hours, day, week, month")
    return period


def bucket_pb(b: VisitBucket, unit: str) -> customers_pb2.VisitBucket:
    return customers_pb2.VisitBucket(start=to_timestamp(b.start), date=b.label(unit), visits=b.visits)


def checkout_of(request: customers_pb2.CheckoutCartRequest) -> Checkout:
    when = request.transaction_time.ToDatetime(tzinfo=UTC) if request.HasField("transaction_time") else None
    return Checkout(when, request.till_id, request.zone_name, request.camera_id, request.currency)
