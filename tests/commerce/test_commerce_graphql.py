"""Seed 003's commerce over GraphQL (the same gateway and service calls as REST): products, carts, a person's
orders and summary, with the person's name from identity."""

from __future__ import annotations

import uuid

import httpx

from tests.commerce.conftest import Shop
from tests.commerce.test_person_composition import _enrol
from tests.graphql_client import gql, gql_data


async def test_products_carts_orders_and_summary(http: httpx.AsyncClient, shop: Shop) -> None:
    person = (await _enrol(http, shop))["id"]
    http.headers.update(shop.headers(shop.admin_a))
    made = await gql_data(http, """mutation { pizza: createProduct(input: {name: "Pizza Margherita", category: "pizza",
        price: 9.5}) { id name category price } cola: createProduct(input: {name: "Coca-Cola"}) { id price } }""")
    pizza, cola = made["pizza"], made["cola"]
    assert pizza == {"id": pizza["id"], "name": "Pizza Margherita", "category": "pizza", "price": 9.5}
    assert cola["price"] is None
    cart = (await gql_data(http, """mutation($p: ID!) { createCart(input: {personId: $p, tableNumber: 4}) {
        id personId customerId tableNumber transactionId } }""", {"p": person}))["createCart"]
    assert cart == {"id": cart["id"], "personId": person, "customerId": None, "tableNumber": 4, "transactionId": None}
    added = (await gql_data(http, """mutation($c: ID!, $a: ID!, $b: ID!) { addCartProducts(items: [
        {cartId: $c, productId: $a, quantity: 2}, {cartId: $c, productId: $b}]) { cartId productId quantity } }""",
        {"c": cart["id"], "a": pizza["id"], "b": cola["id"]}))["addCartProducts"]
    assert added == [{"cartId": cart["id"], "productId": pizza["id"], "quantity": 2},
                     {"cartId": cart["id"], "productId": cola["id"], "quantity": 1}]

    http.headers.update(shop.headers(shop.analyst_a))
    data = await gql_data(http, """query($p: ID!) {
        personOrders(personId: $p, first: 5) { totalCount nodes { cart { id tableNumber } totalItems
                                                                  lines { productName quantity } } }
        personSummary(personId: $p) { personId personName totalVisits favoriteTable
                                      favoriteDishes { dish count } totalSpentItems aiSummary }
        products(first: 100) { nodes { id } } }""", {"p": person})
    assert data["personOrders"] == {"totalCount": 1, "nodes": [{
        "cart": {"id": cart["id"], "tableNumber": 4}, "totalItems": 3,
        "lines": [{"productName": "Pizza Margherita", "quantity": 2}, {"productName": "Coca-Cola", "quantity": 1}]}]}
    assert data["personSummary"] == {
        "personId": person, "personName": "John Doe", "totalVisits": 0, "favoriteTable": 4,
        "favoriteDishes": [{"dish": "Pizza Margherita", "count": 2}, {"dish": "Coca-Cola", "count": 1}],
        "totalSpentItems": 3,
        "aiSummary": ("John Doe has no recorded visits yet. They usually sit at table 4. Their favourite dish is "
                      "Pizza Margherita, ordered twice, followed by Coca-Cola (1). They have ordered 3 items in total."),
    }
    assert {pizza["id"], cola["id"]} <= {p["id"] for p in data["products"]["nodes"]}


async def test_roles_organisations_and_unknown_persons(http: httpx.AsyncClient, shop: Shop) -> None:
    http.headers.update(shop.headers(shop.analyst_a))
    denied = await gql(http, 'mutation { createProduct(input: {name: "No"}) { id } }')
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    for field in ("personSummary(personId: $p) { personId }", "personOrders(personId: $p) { totalCount }"):
        missing = await gql(http, f"query($p: ID!) {{ {field} }}", {"p": str(uuid.uuid4())})
        assert missing["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    # Organisation A's enrolled person is nobody to organisation B.
    person = (await _enrol(http, shop))["id"]
    http.headers.update(shop.headers(shop.analyst_b))
    other = await gql(http, "query($p: ID!) { personSummary(personId: $p) { personId } }", {"p": person})
    assert other["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    http.headers.update(shop.headers(shop.admin_a))
    bad = await gql(http, 'mutation { createCart(input: {customerId: "x"}) { id } }')
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
