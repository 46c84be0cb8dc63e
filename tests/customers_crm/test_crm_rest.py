"""`/api/v1/customers[...]` over the real gateway: exact bodies, status codes and seed 004's error shapes."""

from __future__ import annotations

import re
import uuid

import httpx

from tests.customers_crm.conftest import Crm

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def _email() -> str:
    return f"c-{uuid.uuid4().hex[:8]}@example.com"


async def _create(http: httpx.AsyncClient, crm: Crm, **body: object) -> dict:
    r = await http.post("/api/v1/customers", json={"customer_name": "Ada Lovelace", **body},
                        headers=crm.headers(crm.admin_a))
    assert r.status_code == 201, r.text
    return r.json()


async def test_create_then_get_returns_the_seed_fields(http: httpx.AsyncClient, crm: Crm) -> None:
    email = _email()
    created = await _create(http, crm, email=email, phone="+44 20 7946 0958", loyalty_status="gold",
                            external_ids={"pos": "C-1001"})
    assert ISO.match(created["created_at"]) and ISO.match(created["updated_at"])
    assert created == {
        "id": created["id"], "customer_name": "Ada Lovelace", "email": email, "phone": "+44 20 7946 0958",
        "loyalty_status": "gold", "external_ids": {"pos": "C-1001"}, "organization_id": crm.org_a,
        "created_at": created["created_at"], "updated_at": created["updated_at"],
    }
    r = await http.get(f"/api/v1/customers/{created['id']}", headers=crm.headers(crm.analyst_a))
    assert r.status_code == 200
    assert r.json() == created


async def test_defaults_are_bronze_and_no_contact(http: httpx.AsyncClient, crm: Crm) -> None:
    created = await _create(http, crm)
    assert (created["loyalty_status"], created["email"], created["phone"], created["external_ids"]) == (
        "bronze", None, None, {})


async def test_invalid_bodies_answer_422_field_lists(http: httpx.AsyncClient, crm: Crm) -> None:
    h = crm.headers(crm.admin_a)
    r = await http.post("/api/v1/customers", json={"customer_name": "X", "loyalty_status": "diamond"}, headers=h)
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["detail"]] == ["loyalty_status"]
    r = await http.post("/api/v1/customers", json={"email": _email()}, headers=h)
    assert r.status_code == 422
    assert r.json() == {"detail": [{"field": "customer_name", "message": "Field required"}]}
    r = await http.post("/api/v1/customers", json={"customer_name": "X", "email": "not-an-email"}, headers=h)
    assert r.status_code == 422
    assert r.json() == {"detail": [{"field": "email", "message": "email is not a valid email"}]}
    r = await http.post("/api/v1/customers", json={"customer_name": "   "}, headers=h)
    assert r.json() == {"detail": [{"field": "customer_name", "message": "customer_name is required"}]}


async def test_duplicate_email_is_409(http: httpx.AsyncClient, crm: Crm) -> None:
    email = _email()
    await _create(http, crm, email=email)
    r = await http.post("/api/v1/customers", json={"customer_name": "Twin", "email": email.upper()},
                        headers=crm.headers(crm.admin_a))
    assert (r.status_code, r.json()) == (409, {"detail": "A customer with this email already exists"})


async def test_unknown_and_malformed_ids(http: httpx.AsyncClient, crm: Crm) -> None:
    h = crm.headers(crm.admin_a)
    r = await http.get("/api/v1/customers/987654321", headers=h)
    assert (r.status_code, r.json()) == (404, {"detail": "Customer with ID 987654321 not found"})
    r = await http.get("/api/v1/customers/abc", headers=h)
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["detail"]] == ["customer_id"]
    for path, body in (("interactions", {"interaction_type": "call"}), ("segments", {"segment_name": "vip"})):
        r = await http.post(f"/api/v1/customers/987654321/{path}", json=body, headers=h)
        assert (r.status_code, r.json()) == (404, {"detail": "Customer with ID 987654321 not found"})


async def test_put_changes_only_the_fields_given(http: httpx.AsyncClient, crm: Crm) -> None:
    created = await _create(http, crm, email=_email(), phone="555-0100")
    h = crm.headers(crm.admin_a)
    r = await http.put(f"/api/v1/customers/{created['id']}", json={"loyalty_status": "platinum"}, headers=h)
    assert r.status_code == 200
    updated = r.json()
    assert updated == {**created, "loyalty_status": "platinum", "updated_at": updated["updated_at"]}
    r = await http.put(f"/api/v1/customers/{created['id']}", json={"customer_name": "Ada King", "phone": None},
                       headers=h)
    assert (r.json()["customer_name"], r.json()["phone"], r.json()["email"]) == ("Ada King", None, created["email"])
    r = await http.put(f"/api/v1/customers/{created['id']}", json={"customer_name": None}, headers=h)
    assert r.status_code == 422
    assert r.json() == {"detail": [{"field": "customer_name", "message": "may not be null"}]}
    r = await http.put("/api/v1/customers/987654321", json={"loyalty_status": "gold"}, headers=h)
    assert (r.status_code, r.json()) == (404, {"detail": "Customer with ID 987654321 not found"})


async def test_list_pages_by_id(http: httpx.AsyncClient, crm: Crm) -> None:
    tag = uuid.uuid4().hex[:6]
    made = [await _create(http, crm, email=f"{tag}-{i}@example.com", loyalty_status="silver") for i in range(3)]
    h = crm.headers(crm.analyst_a)
    r = await http.get("/api/v1/customers", params={"email": made[1]["email"].upper()}, headers=h)
    assert r.json() == {"customers": [made[1]], "total_count": 1, "next_page_token": None}
    seen: list[dict] = []
    token = None
    while True:
        params = {"page_size": 2, "loyalty_status": "silver", **({"page_token": token} if token else {})}
        page = (await http.get("/api/v1/customers", params=params, headers=h)).json()
        assert len(page["customers"]) <= 2
        seen += page["customers"]
        token = page["next_page_token"]
        if token is None:
            break
    ids = [c["id"] for c in seen]
    assert ids == sorted(ids) and {c["id"] for c in made} <= set(ids)
    assert page["total_count"] == len(seen)
    r = await http.get("/api/v1/customers", params={"page_size": 0}, headers=h)
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "page_size"


async def test_interactions_and_segments(http: httpx.AsyncClient, crm: Crm) -> None:
    created = await _create(http, crm)
    h, cid = crm.headers(crm.admin_a), created["id"]
    r = await http.post(f"/api/v1/customers/{cid}/interactions", headers=h, json={
        "interaction_type": "support_ticket", "subject": "Broken till", "status": "in_progress",
        "interaction_date": "2024-01-15T10:30:00Z"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body == {"id": body["id"], "customer_id": cid, "interaction_type": "support_ticket",
                    "subject": "Broken till", "status": "in_progress", "interaction_date": "2024-01-15T10:30:00Z",
                    "created_at": body["created_at"]}
    r = await http.post(f"/api/v1/customers/{cid}/interactions", headers=h, json={"interaction_type": "call"})
    assert (r.status_code, r.json()["status"], r.json()["subject"]) == (201, "pending", "")
    r = await http.post(f"/api/v1/customers/{cid}/interactions", headers=h, json={"interaction_type": "fax"})
    assert r.status_code == 422 and [e["field"] for e in r.json()["detail"]] == ["interaction_type"]

    r = await http.post(f"/api/v1/customers/{cid}/segments", headers=h, json={
        "segment_name": "premium", "segment_value": 150.0, "description": "Premium customer",
        "assigned_date": "2024-01-01T00:00:00Z"})
    assert r.status_code == 201
    first = r.json()
    assert first == {"id": first["id"], "customer_id": cid, "segment_name": "premium", "segment_value": 150.0,
                     "description": "Premium customer", "assigned_date": "2024-01-01T00:00:00Z", "is_active": True}
    r = await http.post(f"/api/v1/customers/{cid}/segments", headers=h, json={
        "segment_name": "premium", "segment_value": 175.5, "assigned_date": "2024-02-01T00:00:00"})
    assert r.json() == {**first, "segment_value": 175.5, "description": "", "assigned_date": "2024-02-01T00:00:00Z"}
    r = await http.post(f"/api/v1/customers/{cid}/segments", headers=h, json={"segment_name": "a/b"})
    assert r.status_code == 422 and [e["field"] for e in r.json()["detail"]] == ["segment_name"]


async def test_anonymous_is_401_and_analysts_cannot_write(http: httpx.AsyncClient, crm: Crm) -> None:
    created = await _create(http, crm)
    cid = created["id"]
    for method, path, body in (
        ("POST", "/api/v1/customers", {"customer_name": "X"}), ("GET", "/api/v1/customers", None),
        ("GET", f"/api/v1/customers/{cid}", None), ("PUT", f"/api/v1/customers/{cid}", {}),
        ("POST", f"/api/v1/customers/{cid}/interactions", {"interaction_type": "call"}),
        ("POST", f"/api/v1/customers/{cid}/segments", {"segment_name": "vip"}),
    ):
        r = await http.request(method, path, json=body)
        assert (r.status_code, r.json()) == (401, {"detail": "Not authenticated"}), path
        if method != "GET":
            r = await http.request(method, path, json=body, headers=crm.headers(crm.analyst_a))
            assert r.status_code == 403, path


async def test_org_b_cannot_see_or_touch_org_a_customers(http: httpx.AsyncClient, crm: Crm) -> None:
    created = await _create(http, crm, email=_email())
    cid, hb = created["id"], crm.headers(crm.admin_b)
    r = await http.get(f"/api/v1/customers/{cid}", headers=hb)
    assert (r.status_code, r.json()) == (404, {"detail": f"Customer with ID {cid} not found"})
    r = await http.put(f"/api/v1/customers/{cid}", json={"loyalty_status": "gold"}, headers=hb)
    assert r.status_code == 404
    r = await http.post(f"/api/v1/customers/{cid}/interactions", json={"interaction_type": "call"}, headers=hb)
    assert r.status_code == 404
    r = await http.post(f"/api/v1/customers/{cid}/segments", json={"segment_name": "vip"}, headers=hb)
    assert r.status_code == 404
    listed = (await http.get("/api/v1/customers", params={"page_size": 1000}, headers=hb)).json()
    assert cid not in {c["id"] for c in listed["customers"]}
    # The same email is free in another organisation.
    r = await http.post("/api/v1/customers", json={"customer_name": "B", "email": created["email"]}, headers=hb)
    assert r.status_code == 201
    # A's row is unchanged.
    r = await http.get(f"/api/v1/customers/{cid}", headers=crm.headers(crm.admin_a))
    assert r.json() == created
    # Row-level security itself: B's transactions see none of A's rows, whatever the query says.
    async with crm.records.db.tenant(crm.org_b) as conn:
        cur = await conn.execute("SELECT count(*) AS n FROM customers WHERE id = %s", (cid,))
        assert (await cur.fetchone())["n"] == 0


async def test_platform_admin_names_the_organisation(http: httpx.AsyncClient, crm: Crm) -> None:
    created = await _create(http, crm)
    r = await http.get(f"/api/v1/customers/{created['id']}", params={"organization_id": crm.org_a},
                       headers=crm.headers(crm.root))
    assert r.status_code == 200 and r.json() == created
    r = await http.get(f"/api/v1/customers/{created['id']}", params={"organization_id": crm.org_a},
                       headers=crm.headers(crm.admin_b))
    assert r.status_code == 403
    r = await http.get("/api/v1/customers", params={"organization_id": "Not An Org!"},
                       headers=crm.headers(crm.root))
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "organization_id"
