"""Seed 003's REST bodies for commerce: products, carts, bulk cart products, a person's orders, detail and summary,
visit counts (field names and nesting as the seed writes them; times `2024-12-01T10:00:00Z`).

Additions the seed does not name, each documented on its field: a product's `category` and `price`, a cart's
`customer` (the customer record) and `table_number`, a cart product's `quantity` (default 1; totals count
items). The person fields that identity owns (age, gender, emotion, body type) are null until the gateway
composes them from the identity service.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from footfall.graph.core.convert import iso
from footfall.services.customers.commerce import domain
from footfall.v1 import customers_pb2, identity_pb2
from pydantic import BaseModel, ConfigDict, Field

VisitType = Literal["last_6_hours", "day", "week", "month"]
VISIT_PERIODS: dict[str, int] = {
    "last_6_hours": customers_pb2.VISIT_COUNT_PERIOD_LAST_6_HOURS,
    "day": customers_pb2.VISIT_COUNT_PERIOD_DAY,
    "week": customers_pb2.VISIT_COUNT_PERIOD_WEEK,
    "month": customers_pb2.VISIT_COUNT_PERIOD_MONTH,
}
PERSON_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
ORG_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
PersonRef = Annotated[str, Field(pattern=PERSON_ID_PATTERN, description="Identity's person id")]
Organization = Annotated[
    str | None,
    Field(pattern=ORG_PATTERN, description="Your organisation (platform admins: the one to act on); default yours"),
]
Text = Annotated[str, Field(pattern=r"^[^\x00]*$")]


# ---- inputs ------------------------------------------------------------------------------------------


class ProductIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[Text, Field(min_length=1, max_length=domain.MAX_NAME)]
    category: Annotated[Text, Field(max_length=domain.MAX_CATEGORY, description="e.g. `pizza`, `drinks`")] = ""
    price: Annotated[float | None, Field(ge=0, le=float(domain.MAX_PRICE), description="Unit price")] = None
    organization: Organization = None

    def to_proto(self) -> customers_pb2.Product:
        out = customers_pb2.Product(name=self.name, category=self.category)
        if self.price is not None:
            out.price = self.price
        return out


class CartIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    person: PersonRef | None = None
    customer: Annotated[int | None, Field(ge=1, le=2**63 - 1, description="The customer record's id")] = None
    table_number: Annotated[int | None, Field(ge=0, le=domain.MAX_TABLE)] = None
    organization: Organization = None

    def to_proto(self) -> customers_pb2.Cart:
        out = customers_pb2.Cart(person_id=self.person or "", customer_id=self.customer or 0)
        if self.table_number is not None:
            out.table_number = self.table_number
        return out


class CartProductIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    organization: Organization = None
    cart: uuid.UUID
    product: uuid.UUID
    quantity: Annotated[int, Field(ge=1, le=domain.MAX_QUANTITY, description="Items of the product (default 1)")] = 1

    def to_proto(self) -> customers_pb2.CartProduct:
        return customers_pb2.CartProduct(cart_id=str(self.cart), product_id=str(self.product), quantity=self.quantity)


class CartProductsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cart_products: Annotated[list[CartProductIn], Field(min_length=1, max_length=domain.MAX_BULK)]


# ---- outputs -----------------------------------------------------------------------------------------


class ProductOut(BaseModel):
    id: str
    organization: str
    name: str
    category: str
    price: float | None
    created_at: str | None
    updated_at: str | None

    @classmethod
    def of(cls, p: customers_pb2.Product, org: str) -> ProductOut:
        return cls(id=p.id, organization=org, name=p.name, category=p.category,
                   price=p.price if p.HasField("price") else None,
                   created_at=iso(p.created_at), updated_at=iso(p.updated_at))


class CartOut(BaseModel):
    id: str
    organization: str
    person: str | None
    customer: int | None
    table_number: int | None
    created_at: str | None
    updated_at: str | None

    @classmethod
    def of(cls, c: customers_pb2.Cart, org: str) -> CartOut:
        return cls(id=c.id, organization=org, person=c.person_id or None, customer=c.customer_id or None,
                   table_number=c.table_number if c.HasField("table_number") else None,
                   created_at=iso(c.created_at), updated_at=iso(c.updated_at))


class CartProductOut(BaseModel):
    id: str
    organization: str
    cart: str
    product: str
    quantity: int
    created_at: str | None
    updated_at: str | None

    @classmethod
    def of(cls, cp: customers_pb2.CartProduct, org: str) -> CartProductOut:
        return cls(id=cp.id, organization=org, cart=cp.cart_id, product=cp.product_id, quantity=cp.quantity,
                   created_at=iso(cp.created_at), updated_at=iso(cp.updated_at))


class CartProductsOut(BaseModel):
    message: str
    created_count: int
    cart_products: list[CartProductOut]

    @classmethod
    def of(cls, added: list[customers_pb2.CartProduct], org: str) -> CartProductsOut:
        noun = "cart product" if len(added) == 1 else "cart products"
        return cls(message=f"Successfully created {len(added)} {noun}", created_count=len(added),
                   cart_products=[CartProductOut.of(cp, org) for cp in added])


class OrderProductOut(BaseModel):
    product_id: str
    product_name: str
    quantity: int
    added_at: str | None


class OrderOut(BaseModel):
    cart_id: str
    cart_created_at: str | None
    cart_updated_at: str | None
    products: list[OrderProductOut]
    total_products: int

    @classmethod
    def of(cls, o: customers_pb2.Order) -> OrderOut:
        return cls(
            cart_id=o.cart.id, cart_created_at=iso(o.cart.created_at), cart_updated_at=iso(o.cart.updated_at),
            products=[OrderProductOut(product_id=line.product_id, product_name=line.product_name,
                                      quantity=line.quantity, added_at=iso(line.added_at)) for line in o.lines],
            total_products=o.total_items,
        )


class PersonOrdersOut(BaseModel):
    person_id: str
    person_name: str | None
    total_orders: int
    orders: list[OrderOut]


class DetailProductOut(BaseModel):
    id: str
    name: str
    quantity: int
    created_at: str | None


class DetailCartOut(BaseModel):
    id: str
    table_number: int | None
    created_at: str | None
    updated_at: str | None
    products: list[DetailProductOut]

    @classmethod
    def of(cls, o: customers_pb2.Order) -> DetailCartOut:
        c = o.cart
        return cls(
            id=c.id, table_number=c.table_number if c.HasField("table_number") else None,
            created_at=iso(c.created_at), updated_at=iso(c.updated_at),
            products=[DetailProductOut(id=line.product_id, name=line.product_name, quantity=line.quantity,
                                       created_at=iso(line.added_at)) for line in o.lines],
        )


class PersonDetailOut(BaseModel):
    id: str
    full_name: str | None
    phone_number: str | None
    age: int | None = None
    gender: str | None = None
    emotion: str | None = None
    body_type: str | None = None
    entry_time: str | None
    exit_time: str | None
    created_at: str | None
    updated_at: str | None
    carts: list[DetailCartOut]

    @classmethod
    def of(
        cls, reply: customers_pb2.GetPersonDetailResponse, person: identity_pb2.Person | None = None
    ) -> PersonDetailOut:
        """The customers service's answer, with identity's `person` fields over it when identity knows them."""
        p = reply.person
        out = cls(
            id=p.person_id, full_name=p.name or None, phone_number=p.phone or None,
            entry_time=iso(p.entry_time), exit_time=iso(p.exit_time),
            created_at=iso(p.first_seen), updated_at=iso(p.last_seen),
            carts=[DetailCartOut.of(o) for o in reply.carts],
        )
        if person is None:
            return out
        return out.model_copy(update={
            "full_name": person.full_name or out.full_name,
            "phone_number": person.phone_number or out.phone_number,
            "age": person.age if person.HasField("age") else None,
            "gender": person.gender or None, "emotion": person.emotion or None, "body_type": person.body_type or None,
            "entry_time": iso(person.entry_time) or out.entry_time, "exit_time": iso(person.exit_time) or out.exit_time,
            "created_at": iso(person.created_at), "updated_at": iso(person.updated_at),
        })


class DishOut(BaseModel):
    dish: str
    count: int


class PersonSummaryOut(BaseModel):
    person_id: str
    person_name: str | None
    total_visits: int
    favorite_table: int | None
    favorite_dishes: list[DishOut]
    ai_summary: str
    last_visit: str | None
    total_spent_items: int

    @classmethod
    def of(cls, s: customers_pb2.PersonSummary) -> PersonSummaryOut:
        return cls(
            person_id=s.person_id, person_name=s.person_name or None, total_visits=s.total_visits,
            favorite_table=s.favorite_table if s.HasField("favorite_table") else None,
            favorite_dishes=[DishOut(dish=d.dish, count=d.count) for d in s.favorite_dishes],
            ai_summary=s.ai_summary, last_visit=iso(s.last_visit), total_spent_items=s.total_spent_items,
        )


class VisitCountOut(BaseModel):
    date: str
    value: int
