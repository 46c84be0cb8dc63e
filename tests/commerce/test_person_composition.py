"""Seed 003's person documents for a person enrolled in identity: the gateway takes the person's own fields
from the identity service (over gRPC) and the carts, orders and visits from the customers service."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.commerce.conftest import Shop
from tests.commerce.test_commerce_rest import _add, _iso, _post, _product

SEEN = datetime(2024, 12, 1, 10, 0, tzinfo=UTC)


async def _enrol(http: httpx.AsyncClient, shop: Shop) -> dict[str, Any]:
    """A person as the seed's client app creates one (its camera's fields), then named by staff (`PUT`)."""
    r = await http.post("/api/client/person/", headers=shop.headers(shop.admin_a), data={
        "age": "25", "gender": "Female", "emotion": "Happy", "body_type": "Normal",
        "entry_time": _iso(SEEN), "exit_time": _iso(SEEN + timedelta(hours=1))})
    assert r.status_code == 201, r.text
    r = await http.put(f"/api/client/person/{r.json()['id']}/", headers=shop.headers(shop.admin_a), json={
        "full_name": "John Doe", "phone_number": "+998901234567", "age": 30, "gender": "Male",
        "emotion": "Neutral", "body_type": "Athletic"})
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_an_enrolled_person_without_carts_is_answered_from_identity(http: httpx.AsyncClient, shop: Shop) -> None:
    person = await _enrol(http, shop)
    pid, headers = person["id"], shop.headers(shop.analyst_a)
    detail = (await http.get(f"/api/client/person/{pid}/detail/", headers=headers)).json()
    assert detail == {
        "id": pid, "full_name": "John Doe", "phone_number": "+998901234567", "age": 30, "gender": "Male",
        "emotion": "Neutral", "body_type": "Athletic", "entry_time": "2024-12-01T10:00:00Z",
        "exit_time": "2024-12-01T11:00:00Z", "created_at": person["created_at"], "updated_at": person["updated_at"],
        "carts": [],
    }
    orders = (await http.get(f"/api/client/person/{pid}/orders/", headers=headers)).json()
    assert orders == {"person_id": pid, "person_name": "John Doe", "total_orders": 0, "orders": []}
    summary = (await http.get(f"/api/client/person/{pid}/summary/", headers=headers)).json()
    assert summary == {
        "person_id": pid, "person_name": "John Doe", "total_visits": 0, "favorite_table": None, "favorite_dishes": [],
        "ai_summary": "John Doe has no recorded visits yet. They have not ordered anything yet.",
        "last_visit": None, "total_spent_items": 0,
    }
    # Another organisation knows neither the person nor their carts.
    for route in ("detail", "orders", "summary"):
        r = await http.get(f"/api/client/person/{pid}/{route}/", headers=shop.headers(shop.analyst_b))
        assert (r.status_code, r.json()) == (404, {"error": "Person not found"})


async def test_seed_bodies_compose_identity_fields_with_commerce(http: httpx.AsyncClient, shop: Shop) -> None:
    person = await _enrol(http, shop)
    pid = person["id"]
    # The cart names another customer record: the person's own name is still identity's.
    r = await http.post("/api/v1/customers", json={"customer_name": "Jane Roe", "phone": "+10000000000"},
                        headers=shop.headers(shop.admin_a))
    assert r.status_code == 201, r.text
    pizza, cola = await _product(http, shop, "Pizza Margherita"), await _product(http, shop, "Coca-Cola")
    cart = await _post(http, shop, "/api/client/carts/", {"person": pid, "customer": r.json()["id"], "table_number": 5})
    await _add(http, shop, cart["id"], pizza, cola)
    entered = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    await shop.add_visit(shop.org_a, pid, entered)
    headers = shop.headers(shop.analyst_a)

    detail = (await http.get(f"/api/client/person/{pid}/detail/", headers=headers)).json()
    products = detail["carts"][0]["products"]
    assert detail == {
        "id": pid, "full_name": "John Doe", "phone_number": "+998901234567", "age": 30, "gender": "Male",
        "emotion": "Neutral", "body_type": "Athletic", "entry_time": "2024-12-01T10:00:00Z",
        "exit_time": "2024-12-01T11:00:00Z", "created_at": person["created_at"], "updated_at": person["updated_at"],
        "carts": [{
            "id": cart["id"], "table_number": 5, "created_at": cart["created_at"],
            "updated_at": detail["carts"][0]["updated_at"],
            "products": [
                {"id": pizza, "name": "Pizza Margherita", "quantity": 1, "created_at": products[0]["created_at"]},
                {"id": cola, "name": "Coca-Cola", "quantity": 1, "created_at": products[1]["created_at"]},
            ],
        }],
    }
    orders = (await http.get(f"/api/client/person/{pid}/orders/", headers=headers)).json()
    assert (orders["person_id"], orders["person_name"], orders["total_orders"]) == (pid, "John Doe", 1)
    assert [p["product_name"] for p in orders["orders"][0]["products"]] == ["Pizza Margherita", "Coca-Cola"]
    summary = (await http.get(f"/api/client/person/{pid}/summary/", headers=headers)).json()
    assert summary == {
        "person_id": pid, "person_name": "John Doe", "total_visits": 1, "favorite_table": 5,
        "favorite_dishes": [{"dish": "Coca-Cola", "count": 1}, {"dish": "Pizza Margherita", "count": 1}],
        "ai_summary": (f"John Doe has visited once, on {entered.date().isoformat()}. They usually sit at table 5. "
                       "Their favourite dish is Coca-Cola, ordered once, followed by Pizza Margherita (1). "
                       "They have ordered 2 items in total."),
        "last_visit": _iso(entered), "total_spent_items": 2,
    }
