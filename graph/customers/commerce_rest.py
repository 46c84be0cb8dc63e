"""Seed 003's commerce over REST, thin adapters over CustomersService:

* `POST /api/client/products/` (201), `POST /api/client/carts/` (201: `person`, `table_number`),
  `POST /api/client/cart-products/bulk/` (201, all or none)
* `GET /api/client/person/{person_id}/orders/`, `.../detail/`, `.../summary/`
* `GET /api/client/statistics/visit-count/?type=last_6_hours|day|week|month`

Writers write, readers read. Errors are seed 003's: `{"error": "Person not found"}` (404), 400
`{"error": "Invalid data provided", "details": {field: [messages]}}`, 401/403 `{"error": ...}`. A body's
`organization` must be the caller's own (a platform admin may name another to act on it).

A person's own fields (name, phone, age, gender, emotion, body type, entry and exit, created and updated)
come from the identity service, the carts, orders and visits from the customers service (`persons`).
"""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import Depends, Path, Query
from footfall.graph.core.errors import ERROR_KEY
from footfall.graph.core.rest import Reader, Writer, client, domain_router, error_responses
from footfall.graph.customers import persons
from footfall.graph.customers.client import CustomersClient
from footfall.graph.customers.commerce_models import (
    PERSON_ID_PATTERN,
    VISIT_PERIODS,
    CartIn,
    CartOut,
    CartProductsIn,
    CartProductsOut,
    OrderOut,
    PersonDetailOut,
    PersonOrdersOut,
    PersonSummaryOut,
    ProductIn,
    ProductOut,
    VisitCountOut,
    VisitType,
)
from footfall.graph.identity.client import IdentityClient
from footfall.graph.security.auth import Caller
from footfall.services.core.errors import InvalidArgument
from pydantic import BaseModel

router = domain_router("/api/client", tags=["commerce (seed 003)"], style=ERROR_KEY)
Customers = Annotated[CustomersClient, Depends(client(CustomersClient))]
Identity = Annotated[IdentityClient, Depends(client(IdentityClient))]
PersonId = Annotated[str, Path(pattern=PERSON_ID_PATTERN, description="Identity's person id")]
#: Orders asked per page while collecting a person's orders (the seed answers them all at once).
ORDERS_PAGE = 1000


class ErrorOut(BaseModel):
    error: str


def _responses(*codes: int) -> dict[int | str, dict[str, object]]:
    return error_responses(*codes, model=ErrorOut)  # type: ignore[return-value]


def acting_on(caller: Caller, *organizations: str | None) -> Caller:
    """`caller`, acting on the organisation the body names (PermissionDenied unless they may)."""
    named = {o for o in organizations if o}
    if len(named) > 1:
        raise InvalidArgument("every cart product must name the same organization")
    if not named or named == {caller.org}:
        return caller
    return dataclasses.replace(caller, org=caller.principal.acting_on(named.pop()))


@router.post("/products/", status_code=201, responses=_responses(400, 403), summary="Create a product")
async def create_product(caller: Writer, customers: Customers, body: ProductIn) -> ProductOut:
    caller = acting_on(caller, body.organization)
    return ProductOut.of(await customers.create_product(caller, body.to_proto()), caller.org)


@router.post("/carts/", status_code=201, responses=_responses(400, 403, 404), summary="Create a cart")
async def create_cart(caller: Writer, customers: Customers, body: CartIn) -> CartOut:
    """A cart for a person (identity's id), a customer record, or both, at an optional table."""
    caller = acting_on(caller, body.organization)
    return CartOut.of(await customers.create_cart(caller, body.to_proto()), caller.org)


@router.post(
    "/cart-products/bulk/", status_code=201, responses=_responses(400, 403, 404), summary="Bulk create cart products"
)
async def bulk_cart_products(caller: Writer, customers: Customers, body: CartProductsIn) -> CartProductsOut:
    """Puts the products in the carts, all or none (404 when a cart or product does not exist)."""
    caller = acting_on(caller, *(item.organization for item in body.cart_products))
    added = await customers.add_cart_products(caller, [item.to_proto() for item in body.cart_products])
    return CartProductsOut.of(added, caller.org)


@router.get("/person/{person_id}/orders/", responses=_responses(400, 404), summary="A person's order history")
async def person_orders(
    caller: Reader, customers: Customers, identity: Identity, person_id: PersonId
) -> PersonOrdersOut:
    """Every cart with products, newest first."""
    person = await persons.enrolled_person(identity, caller, person_id)
    enrolled = person is not None
    reply = await customers.person_orders(caller, person_id, ORDERS_PAGE, enrolled=enrolled)
    orders = [OrderOut.of(o) for o in reply.orders]
    while reply.next_page_token:
        reply = await customers.person_orders(caller, person_id, ORDERS_PAGE, reply.next_page_token,
                                              enrolled=enrolled)
        orders += [OrderOut.of(o) for o in reply.orders]
    name = persons.display_name(person, reply.person.name)
    return PersonOrdersOut(person_id=reply.person.person_id, person_name=name, total_orders=len(orders), orders=orders)


@router.get("/person/{person_id}/detail/", responses=_responses(400, 404), summary="A person with carts")
async def person_detail(
    caller: Reader, customers: Customers, identity: Identity, person_id: PersonId
) -> PersonDetailOut:
    person = await persons.enrolled_person(identity, caller, person_id)
    return PersonDetailOut.of(await customers.person_detail(caller, person_id, enrolled=person is not None), person)


@router.get("/person/{person_id}/summary/", responses=_responses(400, 404), summary="A person's summary")
async def person_summary(
    caller: Reader, customers: Customers, identity: Identity, person_id: PersonId
) -> PersonSummaryOut:
    """Visits, favourite table and dishes, items ordered, and a summary in words (the built-in generator, or
    the configured model: `FOOTFALL_SUMMARY_LLM_URL`) that calls the person by identity's name."""
    return PersonSummaryOut.of(await persons.person_summary(identity, customers, caller, person_id))


@router.get("/statistics/visit-count/", responses=_responses(400), summary="Visits per hour or day")
async def visit_count(
    caller: Reader, customers: Customers,
    period: Annotated[VisitType, Query(alias="type", description="last_6_hours and day: hours; week, month: days")],
) -> list[VisitCountOut]:
    """Visits (journeys by entry time) per bucket, oldest first, the current hour or day last."""
    buckets = await customers.visit_count(caller, VISIT_PERIODS[period])
    return [VisitCountOut(date=b.date, value=b.visits) for b in buckets]
