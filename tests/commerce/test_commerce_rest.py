"""Seed 003's commerce routes over the real gateway: exact bodies, status codes, `{"error": ...}` shapes, roles
and organisations."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.commerce.conftest import Account, Shop

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _person() -> str:
    return str(uuid.uuid4())


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def _post(http: httpx.AsyncClient, shop: Shop, path: str, body: dict[str, Any],
                account: Account | None = None, status: int = 201) -> Any:
    r = await http.post(path, json=body, headers=shop.headers(account or shop.admin_a))
    assert r.status_code == status, r.text
    return r.json()


async def _product(http: httpx.AsyncClient, shop: Shop, name: str, account: Account | None = None, **body: Any) -> str:
    return str((await _post(http, shop, "/api/client/products/", {"name": name, **body}, account))["id"])


async def _cart(http: httpx.AsyncClient, shop: Shop, person: str, table: int | None,
                account: Account | None = None) -> dict[str, Any]:
    return dict(await _post(http, shop, "/api/client/carts/", {"person": person, "table_number": table}, account))


async def _add(http: httpx.AsyncClient, shop: Shop, cart: str, *products: str, account: Account | None = None) -> Any:
    items = [{"cart": cart, "product": p} for p in products]
    return await _post(http, shop, "/api/client/cart-products/bulk/", {"cart_products": items}, account)


async def test_products_and_carts_answer_their_records(http: httpx.AsyncClient, shop: Shop) -> None:
    product = await _post(http, shop, "/api/client/products/",
                          {"name": "Pizza Margherita", "category": "pizza", "price": 9.5})
    assert UUID.match(product["id"]) and ISO.match(product["created_at"])
    assert product == {
        "id": product["id"], "organization": shop.org_a, "name": "Pizza Margherita", "category": "pizza",
        "price": 9.5, "created_at": product["created_at"], "updated_at": product["created_at"],
    }
    bare = await _post(http, shop, "/api/client/products/", {"name": "Water"})
    assert (bare["category"], bare["price"]) == ("", None)

    person = _person()
    cart = await _cart(http, shop, person, 5)
    assert UUID.match(cart["id"])
    assert cart == {
        "id": cart["id"], "organization": shop.org_a, "person": person, "customer": None, "table_number": 5,
        "created_at": cart["created_at"], "updated_at": cart["created_at"],
    }


async def test_bulk_cart_products_answers_the_seed_body(http: httpx.AsyncClient, shop: Shop) -> None:
    pizza, cola = await _product(http, shop, "Pizza"), await _product(http, shop, "Cola")
    cart = (await _cart(http, shop, _person(), 2))["id"]
    body = {"cart_products": [
        {"organization": shop.org_a, "cart": cart, "product": pizza},
        {"organization": shop.org_a, "cart": cart, "product": cola, "quantity": 3},
    ]}
    created = await _post(http, shop, "/api/client/cart-products/bulk/", body)
    rows = created["cart_products"]
    assert created == {
        "message": "Successfully created 2 cart products", "created_count": 2,
        "cart_products": [
            {"id": rows[0]["id"], "organization": shop.org_a, "cart": cart, "product": pizza, "quantity": 1,
             "created_at": rows[0]["created_at"], "updated_at": rows[0]["created_at"]},
            {"id": rows[1]["id"], "organization": shop.org_a, "cart": cart, "product": cola, "quantity": 3,
             "created_at": rows[1]["created_at"], "updated_at": rows[1]["created_at"]},
        ],
    }
    assert all(UUID.match(r["id"]) and ISO.match(r["created_at"]) for r in rows)


async def test_orders_detail_and_summary_of_a_person(http: httpx.AsyncClient, shop: Shop) -> None:
    pizza, salad, cola = [await _product(http, shop, n) for n in ("Pizza Margherita", "Caesar Salad", "Coca-Cola")]
    person = _person()
    first = await _cart(http, shop, person, 5)
    await _add(http, shop, first["id"], pizza, cola)
    second = await _cart(http, shop, person, 5)
    await _add(http, shop, second["id"], pizza, salad, cola, cola)
    third = await _cart(http, shop, person, 7)
    await _add(http, shop, third["id"], cola)
    empty = await _cart(http, shop, person, None)
    entered = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    await shop.add_visit(shop.org_a, person, entered - timedelta(days=7))
    await shop.add_visit(shop.org_a, person, entered)

    r = await http.get(f"/api/client/person/{person}/orders/", headers=shop.headers(shop.analyst_a))
    assert r.status_code == 200, r.text
    orders = r.json()
    assert orders["person_id"] == person and orders["person_name"] is None and orders["total_orders"] == 3
    assert [o["cart_id"] for o in orders["orders"]] == [third["id"], second["id"], first["id"]]
    newest = orders["orders"][0]
    assert newest["cart_created_at"] == third["created_at"] and ISO.match(newest["cart_updated_at"])
    assert newest["products"] == [
        {"product_id": cola, "product_name": "Coca-Cola", "quantity": 1, "added_at": newest["products"][0]["added_at"]}
    ]
    assert newest["total_products"] == 1
    assert [p["product_name"] for p in orders["orders"][1]["products"]] == [
        "Pizza Margherita", "Caesar Salad", "Coca-Cola", "Coca-Cola"]
    assert set(orders["orders"][1]) == {"cart_id", "cart_created_at", "cart_updated_at", "products", "total_products"}

    r = await http.get(f"/api/client/person/{person}/detail/", headers=shop.headers(shop.analyst_a))
    assert r.status_code == 200, r.text
    detail = r.json()
    assert detail == {
        "id": person, "full_name": None, "phone_number": None, "age": None, "gender": None, "emotion": None,
        "body_type": None, "entry_time": _iso(entered - timedelta(days=7)),
        "exit_time": _iso(entered + timedelta(minutes=20)), "created_at": _iso(entered - timedelta(days=7)),
        "updated_at": detail["updated_at"], "carts": detail["carts"],
    }
    assert [c["id"] for c in detail["carts"]] == [empty["id"], third["id"], second["id"], first["id"]]
    assert detail["carts"][0] == {"id": empty["id"], "table_number": None, "created_at": empty["created_at"],
                                  "updated_at": empty["updated_at"], "products": []}
    assert detail["carts"][3]["products"] == [
        {"id": pizza, "name": "Pizza Margherita", "quantity": 1, "created_at": detail["carts"][3]["products"][0]["created_at"]},
        {"id": cola, "name": "Coca-Cola", "quantity": 1, "created_at": detail["carts"][3]["products"][1]["created_at"]},
    ]

    r = await http.get(f"/api/client/person/{person}/summary/", headers=shop.headers(shop.analyst_a))
    assert r.status_code == 200, r.text
    day = entered.date().isoformat()
    assert r.json() == {
        "person_id": person, "person_name": None, "total_visits": 2, "favorite_table": 5,
        "favorite_dishes": [{"dish": "Coca-Cola", "count": 4}, {"dish": "Pizza Margherita", "count": 2},
                            {"dish": "Caesar Salad", "count": 1}],
        "ai_summary": (f"This guest has visited 2 times, most recently on {day}. They usually sit at table 5. "
                       "Their favourite dish is Coca-Cola, ordered 4 times, followed by Pizza Margherita (2) and "
                       "Caesar Salad (1). They have ordered 7 items in total."),
        "last_visit": _iso(entered), "total_spent_items": 7,
    }
    assert list(r.json()) == ["person_id", "person_name", "total_visits", "favorite_table", "favorite_dishes",
                              "ai_summary", "last_visit", "total_spent_items"]


async def test_a_cart_of_a_customer_names_the_person(http: httpx.AsyncClient, shop: Shop) -> None:
    r = await http.post("/api/v1/customers", json={"customer_name": "John Doe", "phone": "+998901234567"},
                        headers=shop.headers(shop.admin_a))
    assert r.status_code == 201, r.text
    customer = r.json()["id"]
    person = _person()
    cart = await _post(http, shop, "/api/client/carts/", {"person": person, "customer": customer, "table_number": 1})
    assert cart["customer"] == customer
    await _add(http, shop, cart["id"], await _product(http, shop, "Soup"))
    detail = (await http.get(f"/api/client/person/{person}/detail/", headers=shop.headers(shop.admin_a))).json()
    assert (detail["full_name"], detail["phone_number"]) == ("John Doe", "+998901234567")
    orders = (await http.get(f"/api/client/person/{person}/orders/", headers=shop.headers(shop.admin_a))).json()
    assert orders["person_name"] == "John Doe"
    summary = (await http.get(f"/api/client/person/{person}/summary/", headers=shop.headers(shop.admin_a))).json()
    assert summary["person_name"] == "John Doe" and summary["ai_summary"].startswith("John Doe has no recorded visits")

    only_customer = await _post(http, shop, "/api/client/carts/", {"customer": customer})
    assert (only_customer["person"], only_customer["customer"], only_customer["table_number"]) == (None, customer, None)
    missing = await _post(http, shop, "/api/client/carts/", {"person": person, "customer": 2**62}, status=404)
    assert missing == {"error": "Customer not found"}


async def test_unknown_persons_and_ids_answer_seed_errors(http: httpx.AsyncClient, shop: Shop) -> None:
    headers = shop.headers(shop.admin_a)
    for route in ("orders", "detail", "summary"):
        r = await http.get(f"/api/client/person/{_person()}/{route}/", headers=headers)
        assert (r.status_code, r.json()) == (404, {"error": "Person not found"})
    r = await http.get("/api/client/person/bad%20id/orders/", headers=headers)
    assert r.status_code == 400 and r.json()["error"] == "Invalid data provided"
    assert list(r.json()["details"]) == ["person_id"]

    product = await _product(http, shop, "Tea")
    cart = (await _cart(http, shop, _person(), 1))["id"]
    unknown = str(uuid.uuid4())
    assert await _post(http, shop, "/api/client/cart-products/bulk/",
                       {"cart_products": [{"cart": unknown, "product": product}]}, status=404) == {"error": "Cart not found"}
    assert await _post(http, shop, "/api/client/cart-products/bulk/",
                       {"cart_products": [{"cart": cart, "product": product}, {"cart": cart, "product": unknown}]},
                       status=404) == {"error": "Product not found"}
    detail = (await http.get("/api/client/person/x/orders/", headers=headers))
    assert detail.status_code == 404


async def test_invalid_bodies_answer_400_with_details(http: httpx.AsyncClient, shop: Shop) -> None:
    bad = await _post(http, shop, "/api/client/cart-products/bulk/",
                      {"cart_products": [{"cart": "nope", "product": str(uuid.uuid4()), "quantity": 0}]}, status=400)
    assert bad["error"] == "Invalid data provided"
    assert set(bad["details"]) == {"cart_products.0.cart", "cart_products.0.quantity"}
    assert all(isinstance(m, list) and m for m in bad["details"].values())
    empty = await _post(http, shop, "/api/client/cart-products/bulk/", {"cart_products": []}, status=400)
    assert list(empty["details"]) == ["cart_products"]
    nobody = await _post(http, shop, "/api/client/carts/", {"table_number": 3}, status=400)
    assert nobody == {"error": "a cart needs a person or a customer"}
    negative = await _post(http, shop, "/api/client/products/", {"name": "X", "price": -1}, status=400)
    assert list(negative["details"]) == ["price"]
    nameless = await _post(http, shop, "/api/client/products/", {"name": ""}, status=400)
    assert list(nameless["details"]) == ["name"]


async def test_nothing_without_a_login_and_no_writes_for_analysts(http: httpx.AsyncClient, shop: Shop) -> None:
    for method, path in (("POST", "/api/client/products/"), ("POST", "/api/client/carts/"),
                         ("POST", "/api/client/cart-products/bulk/"), ("GET", f"/api/client/person/{_person()}/detail/"),
                         ("GET", "/api/client/statistics/visit-count/?type=week")):
        r = await http.request(method, path, json={} if method == "POST" else None)
        assert (r.status_code, r.json()) == (401, {"error": "Not authenticated"}), path
    r = await http.post("/api/client/products/", json={"name": "Cake"}, headers=shop.headers(shop.analyst_a))
    assert r.status_code == 403 and set(r.json()) == {"error"}


async def test_organisations_never_see_each_other(http: httpx.AsyncClient, shop: Shop) -> None:
    person = _person()
    product = await _product(http, shop, "Bread")
    cart = (await _cart(http, shop, person, 4))["id"]
    await _add(http, shop, cart, product)
    for route in ("orders", "detail", "summary"):
        r = await http.get(f"/api/client/person/{person}/{route}/", headers=shop.headers(shop.admin_b))
        assert (r.status_code, r.json()) == (404, {"error": "Person not found"})
    b_cart = (await _cart(http, shop, _person(), 1, shop.admin_b))["id"]
    b_product = await _product(http, shop, "Wine", shop.admin_b)
    # Org B's ids never reach org A's rows, either way round.
    assert await _post(http, shop, "/api/client/cart-products/bulk/",
                       {"cart_products": [{"cart": cart, "product": b_product}]}, shop.admin_b, 404) == {
        "error": "Cart not found"}
    assert await _post(http, shop, "/api/client/cart-products/bulk/",
                       {"cart_products": [{"cart": b_cart, "product": product}]}, shop.admin_b, 404) == {
        "error": "Product not found"}
    # Naming another organisation: refused for an org admin, honoured for a platform admin.
    r = await http.post("/api/client/products/", json={"name": "Cake", "organization": shop.org_b},
                        headers=shop.headers(shop.admin_a))
    assert r.status_code == 403 and set(r.json()) == {"error"}
    made = await _post(http, shop, "/api/client/products/", {"name": "Cake", "organization": shop.org_b}, shop.root)
    assert made["organization"] == shop.org_b
    await _post(http, shop, "/api/client/cart-products/bulk/",
                {"cart_products": [{"organization": shop.org_b, "cart": b_cart, "product": made["id"]}]}, shop.root)
    mixed = await _post(http, shop, "/api/client/cart-products/bulk/", {"cart_products": [
        {"organization": shop.org_a, "cart": cart, "product": product},
        {"organization": shop.org_b, "cart": b_cart, "product": made["id"]}]}, shop.root, 400)
    assert mixed == {"error": "every cart product must name the same organization"}


async def test_visit_counts_per_hour_and_day(http: httpx.AsyncClient, shop: Shop) -> None:
    org, headers = shop.org_b, shop.headers(shop.analyst_b)
    now = datetime.now(UTC)
    entries = [now - timedelta(minutes=1), now - timedelta(minutes=2), now - timedelta(hours=2),
               now - timedelta(hours=20), now - timedelta(days=3), now - timedelta(days=20), now - timedelta(days=40)]
    for entry in entries:
        await shop.add_visit(org, _person(), entry)
    for kind, size, unit in (("last_6_hours", 6, "hour"), ("day", 24, "hour"), ("week", 7, "day"), ("month", 30, "day")):
        r = await http.get("/api/client/statistics/visit-count/", params={"type": kind}, headers=headers)
        assert r.status_code == 200, r.text
        buckets = r.json()
        assert len(buckets) == size and all(set(b) == {"date", "value"} for b in buckets)
        labels = [b["date"] for b in buckets]
        if unit == "day":
            first = datetime.fromisoformat(labels[0]).date()
            assert labels == [(first + timedelta(days=n)).isoformat() for n in range(size)]
            keys = [e.date().isoformat() for e in entries]
        else:
            assert all(re.match(r"^\d{4}-\d\d-\d\dT\d\d:00:00Z$", label) for label in labels)
            keys = [e.strftime("%Y-%m-%dT%H:00:00Z") for e in entries]
        assert [b["value"] for b in buckets] == [keys.count(label) for label in labels]

    r = await http.get("/api/client/statistics/visit-count/", params={"type": "year"}, headers=headers)
    assert r.status_code == 400 and list(r.json()["details"]) == ["type"]
    r = await http.get("/api/client/statistics/visit-count/", headers=headers)
    assert r.status_code == 400 and list(r.json()["details"]) == ["type"]
