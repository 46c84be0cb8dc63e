"""Seed 003's commerce in GraphQL: thin resolvers over the same CustomersService calls as the REST routes
(`commerce_rest`), with the person's name composed from identity like there (`persons`).

    query { products(first: 20) { nodes { id name price } } }
    query { personOrders(personId: "…", first: 10) { totalCount nodes { cart { id tableNumber } totalItems
            lines { productName quantity } } } }
    query { personSummary(personId: "…") { personName totalVisits favoriteDishes { dish count } aiSummary } }
    mutation { createProduct(input: {name: "Pizza Margherita", price: 9.5}) { id } }
    mutation { createCart(input: {personId: "…", tableNumber: 5}) { id } }
    mutation { addCartProducts(items: [{cartId: "…", productId: "…", quantity: 2}]) { id quantity } }

A person's carts (with their products) are `Person.carts` in identity's part of the schema.
"""

from __future__ import annotations

from datetime import datetime

import strawberry
from footfall.graph.core.context import Info
from footfall.graph.core.convert import parse_id, to_datetime
from footfall.graph.core.pagination import DEFAULT_FIRST, AfterArg, Connection, FirstArg, check_first
from footfall.graph.core.schema import CanRead, CanWrite, SchemaModule
from footfall.graph.customers import persons
from footfall.graph.customers.client import CustomersClient
from footfall.graph.identity.client import IdentityClient
from footfall.v1 import customers_pb2
from strawberry.tools import merge_types


@strawberry.type(description="Something a store sells.")
class Product:
    id: strawberry.ID
    name: str
    category: str = strawberry.field(description="Free text; empty when unknown")
    price: float | None = strawberry.field(description="Unit price; null when unknown")
    created_at: datetime | None
    updated_at: datetime | None

    @classmethod
    def from_proto(cls, p: customers_pb2.Product) -> Product:
        return cls(id=strawberry.ID(p.id), name=p.name, category=p.category,
                   price=p.price if p.HasField("price") else None,
                   created_at=to_datetime(p.created_at), updated_at=to_datetime(p.updated_at))


@strawberry.type(description="What one person or customer ordered at one table on one visit.")
class Cart:
    id: strawberry.ID
    person_id: strawberry.ID | None = strawberry.field(description="Identity's person id")
    customer_id: strawberry.ID | None = strawberry.field(description="The customer record")
    table_number: int | None
    transaction_id: str | None = strawberry.field(description="The sale of a checked-out cart; null while open")
    checked_out_at: datetime | None
    created_at: datetime | None
    updated_at: datetime | None

    @classmethod
    def from_proto(cls, c: customers_pb2.Cart) -> Cart:
        return cls(
            id=strawberry.ID(c.id), person_id=strawberry.ID(c.person_id) if c.person_id else None,
            customer_id=strawberry.ID(str(c.customer_id)) if c.customer_id else None,
            table_number=c.table_number if c.HasField("table_number") else None,
            transaction_id=c.transaction_id or None, checked_out_at=to_datetime(c.checked_out_at),
            created_at=to_datetime(c.created_at), updated_at=to_datetime(c.updated_at),
        )


@strawberry.type(description="A product put in a cart.")
class CartProduct:
    id: strawberry.ID
    cart_id: strawberry.ID
    product_id: strawberry.ID
    quantity: int
    created_at: datetime | None

    @classmethod
    def from_proto(cls, cp: customers_pb2.CartProduct) -> CartProduct:
        return cls(id=strawberry.ID(cp.id), cart_id=strawberry.ID(cp.cart_id), product_id=strawberry.ID(cp.product_id),
                   quantity=cp.quantity, created_at=to_datetime(cp.created_at))


@strawberry.type(description="A product of an order, with its name.")
class OrderLine:
    product_id: strawberry.ID
    product_name: str
    quantity: int
    added_at: datetime | None


@strawberry.type(description="A cart with at least one product, its products in the order they were added.")
class Order:
    cart: Cart
    lines: list[OrderLine]
    total_items: int = strawberry.field(description="The lines' quantities added up")

    @classmethod
    def from_proto(cls, o: customers_pb2.Order) -> Order:
        return cls(cart=Cart.from_proto(o.cart), total_items=o.total_items, lines=[
            OrderLine(product_id=strawberry.ID(line.product_id), product_name=line.product_name,
                      quantity=line.quantity, added_at=to_datetime(line.added_at)) for line in o.lines])


@strawberry.type
class DishCount:
    dish: str
    count: int


@strawberry.type(description="Seed 003's person summary: visits, favourites and a summary in words.")
class PersonSummary:
    person_id: strawberry.ID
    person_name: str | None = strawberry.field(description="Identity's name, else the customer on the carts")
    total_visits: int
    favorite_table: int | None
    favorite_dishes: list[DishCount] = strawberry.field(description="The five bought most, most first")
    ai_summary: str
    last_visit: datetime | None
    total_spent_items: int

    @classmethod
    def from_proto(cls, s: customers_pb2.PersonSummary) -> PersonSummary:
        return cls(
            person_id=strawberry.ID(s.person_id), person_name=s.person_name or None, total_visits=s.total_visits,
            favorite_table=s.favorite_table if s.HasField("favorite_table") else None,
            favorite_dishes=[DishCount(dish=d.dish, count=d.count) for d in s.favorite_dishes],
            ai_summary=s.ai_summary, last_visit=to_datetime(s.last_visit), total_spent_items=s.total_spent_items,
        )


@strawberry.input
class ProductInput:
    name: str
    category: str = ""
    price: float | None = None


@strawberry.input(description="A cart names a person, a customer or both")
class CartInput:
    person_id: strawberry.ID | None = None
    customer_id: strawberry.ID | None = None
    table_number: int | None = None


@strawberry.input
class CartProductInput:
    cart_id: strawberry.ID
    product_id: strawberry.ID
    quantity: int = 1


def _customers(info: Info) -> CustomersClient:
    return info.context.client(CustomersClient)


@strawberry.type
class CommerceQuery:
    @strawberry.field(permission_classes=[CanRead], description="The organisation's products by name")
    async def products(self, info: Info, first: FirstArg = DEFAULT_FIRST, after: AfterArg = None) -> Connection[Product]:
        reply = await _customers(info).list_products(info.context.caller, check_first(first), after or "")
        return Connection.of_page([Product.from_proto(p) for p in reply.products], reply.next_page_token)

    @strawberry.field(permission_classes=[CanRead], description="A person's orders, newest first (NOT_FOUND: nobody)")
    async def person_orders(
        self, info: Info, person_id: strawberry.ID, first: FirstArg = DEFAULT_FIRST, after: AfterArg = None
    ) -> Connection[Order]:
        caller = info.context.caller
        person = await persons.enrolled_person(info.context.client(IdentityClient), caller, str(person_id))
        reply = await _customers(info).person_orders(caller, str(person_id), check_first(first), after or "",
                                                      enrolled=person is not None)
        return Connection.of_page([Order.from_proto(o) for o in reply.orders], reply.next_page_token, reply.total_size)

    @strawberry.field(permission_classes=[CanRead], description="Seed 003's person summary (NOT_FOUND: nobody)")
    async def person_summary(self, info: Info, person_id: strawberry.ID) -> PersonSummary:
        summary = await persons.person_summary(info.context.client(IdentityClient), _customers(info),
                                               info.context.caller, str(person_id))
        return PersonSummary.from_proto(summary)


@strawberry.type
class CommerceMutation:
    @strawberry.mutation(permission_classes=[CanWrite], description="Create a product")
    async def create_product(self, info: Info, input: ProductInput) -> Product:
        product = customers_pb2.Product(name=input.name, category=input.category)
        if input.price is not None:
            product.price = input.price
        return Product.from_proto(await _customers(info).create_product(info.context.caller, product))

    @strawberry.mutation(permission_classes=[CanWrite], description="Open a cart (NOT_FOUND: no such customer)")
    async def create_cart(self, info: Info, input: CartInput) -> Cart:
        cart = customers_pb2.Cart(
            person_id=str(input.person_id or ""),
            customer_id=parse_id(input.customer_id, "customerId") if input.customer_id is not None else 0,
        )
        if input.table_number is not None:
            cart.table_number = input.table_number
        return Cart.from_proto(await _customers(info).create_cart(info.context.caller, cart))

    @strawberry.mutation(permission_classes=[CanWrite], description="Put products in carts, all or none")
    async def add_cart_products(self, info: Info, items: list[CartProductInput]) -> list[CartProduct]:
        drafts = [customers_pb2.CartProduct(cart_id=str(i.cart_id), product_id=str(i.product_id), quantity=i.quantity)
                  for i in items]
        return [CartProduct.from_proto(cp) for cp in await _customers(info).add_cart_products(info.context.caller, drafts)]


def with_commerce(module: SchemaModule) -> SchemaModule:
    """The customers module with commerce's root fields merged in (one GraphQL module per gateway domain)."""
    query = merge_types("CustomersQuery", tuple(t for t in (module.query, CommerceQuery) if t is not None))
    mutation = merge_types("CustomersMutation", tuple(t for t in (module.mutation, CommerceMutation) if t is not None))
    return SchemaModule(module.name, query=query, mutation=mutation, subscription=module.subscription,
                        types=module.types)
