"""A cart checked out over gRPC records its point-of-sale transaction, which converts the visit it happened in;
the cart is closed to new products; the REST orders show it; every commerce RPC obeys the role policy."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import grpc
import httpx
import pytest
from footfall.services.core.timestamps import to_timestamp
from footfall.v1 import customers_pb2, customers_pb2_grpc

from tests.commerce.conftest import Shop


async def test_checkout_records_the_sale_and_converts_the_visit(http: httpx.AsyncClient, shop: Shop) -> None:
    stub = customers_pb2_grpc.CustomersServiceStub(shop.channel)
    admin = shop.metadata(shop.admin_a)
    pizza = (await stub.CreateProduct(customers_pb2.CreateProductRequest(
        product=customers_pb2.Product(name="Pizza", category="pizza", price=9.5)), metadata=admin)).product
    cola = (await stub.CreateProduct(customers_pb2.CreateProductRequest(
        product=customers_pb2.Product(name="Cola", price=2.25)), metadata=admin)).product
    person = str(uuid.uuid4())
    cart = (await stub.CreateCart(customers_pb2.CreateCartRequest(
        cart=customers_pb2.Cart(person_id=person, table_number=4)), metadata=admin)).cart
    assert (cart.person_id, cart.table_number, cart.transaction_id) == (person, 4, "")
    await stub.AddCartProducts(customers_pb2.AddCartProductsRequest(cart_products=[
        customers_pb2.CartProduct(cart_id=cart.id, product_id=pizza.id),
        customers_pb2.CartProduct(cart_id=cart.id, product_id=cola.id, quantity=2),
    ]), metadata=admin)
    entered = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    await shop.add_visit(shop.org_a, person, entered, minutes=25)

    paid = entered + timedelta(minutes=20)
    request = customers_pb2.CheckoutCartRequest(cart_id=cart.id, transaction_time=to_timestamp(paid),
                                                till_id="till-1", currency="EUR")
    done = await stub.CheckoutCart(request, metadata=admin)
    assert done.cart.transaction_id == f"cart-{cart.id}" and done.cart.HasField("checked_out_at")
    txn = done.transaction
    assert (txn.transaction_id, txn.amount, txn.currency, txn.till_id) == (f"cart-{cart.id}", 14.0, "EUR", "till-1")
    assert [(i.sku, i.name, i.quantity, i.unit_price) for i in txn.items] == [
        (pizza.id, "Pizza", 1.0, 9.5), (cola.id, "Cola", 2.0, 2.25)]
    assert done.journey.customer_id == person
    assert done.journey.conversion == customers_pb2.CONVERSION_STATUS_PURCHASED
    assert txn.journey_id == done.journey.id

    again = await stub.CheckoutCart(customers_pb2.CheckoutCartRequest(cart_id=cart.id), metadata=admin)
    assert again.cart.checked_out_at == done.cart.checked_out_at and again.transaction == done.transaction

    r = await http.post("/api/client/cart-products/bulk/", json={"cart_products": [
        {"cart": cart.id, "product": pizza.id}]}, headers=shop.headers(shop.admin_a))
    assert (r.status_code, r.json()) == (400, {"error": "cart is checked out"})
    orders = (await http.get(f"/api/client/person/{person}/orders/", headers=shop.headers(shop.analyst_a))).json()
    assert orders["orders"][0]["total_products"] == 3


async def test_an_empty_or_unknown_cart_cannot_be_checked_out(shop: Shop) -> None:
    stub = customers_pb2_grpc.CustomersServiceStub(shop.channel)
    admin = shop.metadata(shop.admin_a)
    cart = (await stub.CreateCart(customers_pb2.CreateCartRequest(
        cart=customers_pb2.Cart(person_id="walk-in")), metadata=admin)).cart
    with pytest.raises(grpc.aio.AioRpcError) as empty:
        await stub.CheckoutCart(customers_pb2.CheckoutCartRequest(cart_id=cart.id), metadata=admin)
    assert empty.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.aio.AioRpcError) as other_org:
        await stub.CheckoutCart(customers_pb2.CheckoutCartRequest(cart_id=cart.id), metadata=shop.metadata(shop.admin_b))
    assert other_org.value.code() == grpc.StatusCode.NOT_FOUND


async def test_roles_of_the_commerce_rpcs(shop: Shop) -> None:
    stub = customers_pb2_grpc.CustomersServiceStub(shop.channel)
    analyst = shop.metadata(shop.analyst_a)
    for call, request in ((stub.CreateProduct, customers_pb2.CreateProductRequest()),
                          (stub.CreateCart, customers_pb2.CreateCartRequest()),
                          (stub.AddCartProducts, customers_pb2.AddCartProductsRequest()),
                          (stub.CheckoutCart, customers_pb2.CheckoutCartRequest())):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await call(request, metadata=analyst)
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    listed = await stub.ListProducts(customers_pb2.ListProductsRequest(page_size=1), metadata=analyst)
    assert len(listed.products) <= 1
    with pytest.raises(grpc.aio.AioRpcError) as anonymous:
        await stub.ListProducts(customers_pb2.ListProductsRequest())
    assert anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_products_page_by_name(shop: Shop) -> None:
    stub = customers_pb2_grpc.CustomersServiceStub(shop.channel)
    admin = shop.metadata(shop.admin_b)
    for name in ("Zucchini", "Apple", "Mango", "Apple"):
        await stub.CreateProduct(customers_pb2.CreateProductRequest(product=customers_pb2.Product(name=name)),
                                 metadata=admin)
    names, token = [], ""
    while True:
        page = await stub.ListProducts(customers_pb2.ListProductsRequest(page_size=2, page_token=token), metadata=admin)
        names += [p.name for p in page.products]
        token = page.next_page_token
        if not token:
            break
    assert [n for n in names if n in {"Zucchini", "Apple", "Mango"}] == ["Apple", "Apple", "Mango", "Zucchini"]
