"""Seed 002's promotions routes over the real gateway: exact bodies, status codes and `{"detail"}` errors."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
from footfall.v1 import customers_pb2

from tests.promotions.conftest import Stack

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _period(days_from: float, days_to: float) -> tuple[datetime, datetime]:
    now = datetime.now(UTC).replace(microsecond=0)
    return now + timedelta(days=days_from), now + timedelta(days=days_to)


async def _create(http: httpx.AsyncClient, stack: Stack, org: str, title: str, target: str, *,
                  days: tuple[float, float] = (-1, 30), zone: str | None = None) -> dict:
    start, end = _period(*days)
    body = {"title": title, "description": f"{title} for {target}", "discount": "20%",
            "validity": {"start": start.isoformat(), "end": end.isoformat()}, "target_loyalty_status": target}
    if zone is not None:
        body["zone"] = zone
    r = await http.post("/promotions", json=body, headers=stack.headers(org))
    assert r.status_code == 201, r.text
    return r.json()


async def test_create_answers_201_with_the_promotion_object(http: httpx.AsyncClient, stack: Stack) -> None:
    start, end = _period(0, 7)
    r = await http.post("/promotions", headers=stack.headers(stack.org_a), json={
        "title": "Croissant week", "description": "Two for one", "discount": "50%",
        "validity": {"start": start.isoformat(), "end": end.isoformat()}, "target_loyalty_status": "gold",
        "zone": "bakery"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert ISO.match(body["created_at"])
    assert body == {
        "id": body["id"], "title": "Croissant week", "description": "Two for one", "discount": "50%",
        "validity": {"start": _iso(start), "end": _iso(end)}, "target_loyalty_status": "gold", "zone": "bakery",
        "created_at": body["created_at"],
    }


async def test_validity_may_be_an_iso_interval_and_defaults_to_everyone(http: httpx.AsyncClient, stack: Stack) -> None:
    start, end = _period(0, 1)
    r = await http.post("/promotions", headers=stack.headers(stack.org_a), json={
        "title": "Coffee", "validity": f"{start.isoformat()}/{end.isoformat()}"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["validity"], body["target_loyalty_status"], body["zone"], body["description"], body["discount"]) == (
        {"start": _iso(start), "end": _iso(end)}, "all", None, "", "")


async def test_invalid_promotions_answer_400_detail(http: httpx.AsyncClient, stack: Stack) -> None:
    h = stack.headers(stack.org_a)
    start, end = _period(0, 1)
    r = await http.post("/promotions", headers=h, json={
        "title": "Backwards", "validity": {"start": end.isoformat(), "end": start.isoformat()}})
    assert (r.status_code, r.json()) == (400, {"detail": "validity must end after it starts"})
    r = await http.post("/promotions", headers=h, json={"title": "Free text", "validity": "next week"})
    assert (r.status_code, r.json()) == (
        400, {"detail": "validity must be {start, end} or an ISO 8601 interval START/END"})
    r = await http.post("/promotions", headers=h, json={
        "title": "X", "validity": {"end": end.isoformat()}, "target_loyalty_status": "diamond"})
    assert r.status_code == 400 and set(r.json()) == {"detail"} and "target_loyalty_status" in r.json()["detail"]
    r = await http.post("/promotions", headers=h, json={"validity": {"end": end.isoformat()}})
    assert r.status_code == 400 and "title" in r.json()["detail"]


async def test_who_may_call(http: httpx.AsyncClient, stack: Stack) -> None:
    r = await http.post("/promotions", json={"title": "X", "validity": "/2099-01-01T00:00:00+00:00"})
    assert (r.status_code, r.json()) == (401, {"detail": "Not authenticated"})
    r = await http.get("/promotions/1")
    assert (r.status_code, r.json()) == (401, {"detail": "Not authenticated"})
    r = await http.post("/promotions", json={"title": "X", "validity": "/2099-01-01T00:00:00+00:00"},
                        headers=stack.headers(stack.org_a, "analyst"))
    assert r.status_code == 403 and set(r.json()) == {"detail"}


async def test_customer_promotions_follow_loyalty_and_validity(http: httpx.AsyncClient, stack: Stack) -> None:
    org = stack.org_a
    customer = await stack.customer(org, customers_pb2.LOYALTY_STATUS_GOLD)
    everyone = await _create(http, stack, org, "For all", "all")
    gold = await _create(http, stack, org, "Gold only", "gold", zone="bakery")
    await _create(http, stack, org, "Silver only", "silver")
    await _create(http, stack, org, "Gold expired", "gold", days=(-10, -1))
    await _create(http, stack, org, "Gold later", "gold", days=(1, 10))
    r = await http.get(f"/promotions/{customer}", headers=stack.headers(org, "analyst"))
    assert r.status_code == 200
    titles = [p["title"] for p in r.json()]
    assert titles[:2] == ["Gold only", "For all"]
    assert "Silver only" not in titles and "Gold expired" not in titles and "Gold later" not in titles
    assert r.json()[:2] == [gold, everyone]


async def test_unknown_customer_and_display_answer_404(http: httpx.AsyncClient, stack: Stack) -> None:
    h = stack.headers(stack.org_a)
    r = await http.get("/promotions/987654321", headers=h)
    assert (r.status_code, r.json()) == (404, {"detail": "Customer not found"})
    r = await http.get("/promotions/display/987654321", headers=h)
    assert (r.status_code, r.json()) == (404, {"detail": "Display not found"})
    r = await http.get("/promotions/not-a-number", headers=h)
    assert r.status_code == 422 and set(r.json()) == {"detail"}


async def test_another_organisation_sees_nothing(http: httpx.AsyncClient, stack: Stack) -> None:
    customer = await stack.customer(stack.org_a, customers_pb2.LOYALTY_STATUS_GOLD)
    await _create(http, stack, stack.org_a, "A's secret", "all")
    r = await http.get(f"/promotions/{customer}", headers=stack.headers(stack.org_b))
    assert (r.status_code, r.json()) == (404, {"detail": "Customer not found"})
    mine = await stack.customer(stack.org_b, customers_pb2.LOYALTY_STATUS_GOLD)
    r = await http.get(f"/promotions/{mine}", headers=stack.headers(stack.org_b))
    assert r.status_code == 200 and "A's secret" not in [p["title"] for p in r.json()]
    r = await http.post("/graphql", headers=stack.headers(stack.org_b),
                        json={"query": "{ promotions(first: 100) { totalCount nodes { title } } }"})
    assert r.status_code == 200 and "errors" not in r.json()
    assert "A's secret" not in [n["title"] for n in r.json()["data"]["promotions"]["nodes"]]
