"""REST routes of the customers domain (`footfall.graph.customers.rest`) over the real service."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import grpc
import httpx
import openpyxl
import pytest
from footfall.graph import customers
from footfall.graph.app import create_app
from footfall.services.core.embedded import free_port
from footfall.services.customers import rest_shapes

from tests.conftest import unique_org
from tests.graph_customers.conftest import _AUTH, T0, VISITS, Stack, http_client, seed_journeys

SEED_COLUMNS = [
    "id",
    "customer_id",
    "entry_time",
    "exit_time",
    "duration",
    "zones",
    "behavior",
    "conversion",
    "created_at",
]


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def all_journeys(client: httpx.AsyncClient, **params: object) -> list[dict]:
    out, token = [], None
    while True:
        r = await client.get("/api/journeys", params={**params, **({"page_token": token} if token else {})})
        assert r.status_code == 200, r.text
        out += r.json()["journeys"]
        token = r.json()["next_page_token"]
        if token is None:
            return out


async def test_seed_documents_exactly(seeded: Stack, client: httpx.AsyncClient, org: str) -> None:
    r = await client.get("/api/customers")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    body = r.json()
    assert list(body) == ["customers"] and len(body["customers"]) == VISITS
    assert body == await rest_shapes.fetch_customers(seeded.stub, org)
    newest = body["customers"][0]
    assert len(newest) == 9
    assert newest[2:6] == [T0 + 4 * 600, T0 + 4 * 600 + 180, 180.0, '["shelves", "checkout"]']
    assert newest[7] == "No Purchase" and newest[6] and body["customers"][-1][6] == "browser"
    assert isinstance(newest[0], int)
    datetime.strptime(newest[8], "%Y-%m-%d %H:%M:%S.%f")  # the seed's TIMESTAMP text
    assert [row[2] for row in body["customers"]] == [T0 + i * 600 for i in reversed(range(VISITS))]

    r = await client.get("/api/stats")
    assert r.status_code == 200 and r.json() == {"total_customers": VISITS}
    # Exact paths: no trailing-slash variants.
    assert (await client.get("/api/customers/")).status_code == 404


async def test_seed_documents_of_an_empty_org(customers_stack: Stack) -> None:
    async with http_client(customers_stack.app, unique_org("empty")) as c:
        assert (await c.get("/api/customers")).json() == {"customers": []}
        assert (await c.get("/api/stats")).json() == {"total_customers": 0}


async def test_journeys_are_paginated_and_filtered(seeded: Stack, client: httpx.AsyncClient) -> None:
    first = (await client.get("/api/journeys", params={"page_size": 2})).json()
    assert len(first["journeys"]) == 2 and first["next_page_token"]
    journeys = await all_journeys(client, page_size=2)
    assert len(journeys) == VISITS == len({j["id"] for j in journeys})
    assert [j["entry_time"] for j in journeys] == [T0 + i * 600 for i in reversed(range(VISITS))]
    assert journeys[:2] == first["journeys"]

    j = journeys[-1]  # the first visit
    assert j["customer_id"] and j["session_id"] and j["camera_id"] == "GATE_A" and j["status"] == "completed"
    assert (j["entry_time"], j["exit_time"], j["total_duration"]) == (T0, T0 + 60, 60.0)
    assert j["zones_visited"] == ["shelves", "checkout"]
    assert j["dwell_times"]["shelves"] == pytest.approx(35)
    assert [s["zone_name"] for s in j["zone_stays"]] == ["shelves", "checkout"]
    assert j["zone_stays"][0]["enter_time"] == pytest.approx(T0 + 5)
    assert len(j["path_coordinates"]) >= 2 and all(len(p) == 2 for p in j["path_coordinates"])
    assert (j["behavior_pattern"], j["conversion_status"]) == ("browser", "No Purchase")
    assert j["transaction_ids"] == [] and j["purchase_amount"] == 0
    datetime.fromisoformat(j["created_at"])

    # Entry-time window [since, until): ISO 8601 or Unix seconds.
    window = await all_journeys(client, since=iso(T0 + 600), until=iso(T0 + 1800))
    assert [w["entry_time"] for w in window] == [T0 + 1200, T0 + 600]
    assert len(await all_journeys(client, since=str(T0 + 1200))) == 3
    assert len(await all_journeys(client, until=str(int(T0 + 1)))) == 1
    assert len(await all_journeys(client, status="completed", zone="checkout", camera_id="GATE_A")) == VISITS
    assert await all_journeys(client, status="active") == []
    assert await all_journeys(client, conversion="purchased") == []
    assert len(await all_journeys(client, conversion="No Purchase")) == VISITS
    assert await all_journeys(client, camera_id="GATE_B") == []


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"page_size": 0}, 422),
        ({"page_size": 1001}, 422),
        ({"page_size": "ten"}, 422),
        ({"since": "yesterday"}, 422),
        ({"until": "2025-13-01"}, 422),
        ({"status": "gone"}, 422),
        ({"conversion": "maybe"}, 422),
        ({"page_token": "garbage!"}, 400),
        ({"since": iso(T0 + 600), "until": iso(T0)}, 400),
    ],
)
async def test_journeys_reject_bad_parameters(
    customers_stack: Stack, client: httpx.AsyncClient, params: dict, status: int
) -> None:
    r = await client.get("/api/journeys", params=params)
    assert r.status_code == status, r.text
    assert list(r.json()) == ["detail"] and r.json()["detail"]


async def test_one_journey(seeded: Stack, client: httpx.AsyncClient) -> None:
    listed = await all_journeys(client)
    r = await client.get(f"/api/journeys/{listed[0]['id']}")
    assert r.status_code == 200 and r.json() == listed[0]
    missing = await client.get("/api/journeys/999999999")
    assert missing.status_code == 404 and "not found" in missing.json()["detail"]
    assert (await client.get("/api/journeys/abc")).status_code == 422
    async with http_client(seeded.app, unique_org("other")) as other:  # another organisation's journey
        r = await other.get(f"/api/journeys/{listed[0]['id']}")
        assert r.status_code == 404 and r.json() == {"detail": f"journey {listed[0]['id']} not found"}


async def test_export_csv(seeded: Stack, client: httpx.AsyncClient) -> None:
    r = await client.get("/api/journeys/export", params={"format": "csv", "since": iso(T0 + 500)})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    disposition = r.headers["content-disposition"]
    assert disposition.startswith("attachment;") and '.csv"' in disposition
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert len(rows) == VISITS - 1
    assert list(rows[0])[:9] == SEED_COLUMNS
    assert [float(row["entry_time"]) for row in rows] == [T0 + i * 600 for i in range(1, VISITS)]
    assert json.loads(rows[0]["zones"]) == ["shelves", "checkout"] and rows[0]["conversion"] == "No Purchase"
    # Without a format the export is CSV.
    plain = await client.get("/api/journeys/export")
    assert plain.status_code == 200 and plain.headers["content-type"].startswith("text/csv")
    assert len(list(csv.DictReader(io.StringIO(plain.content.decode("utf-8-sig"))))) == VISITS


async def test_export_xlsx(seeded: Stack, client: httpx.AsyncClient) -> None:
    r = await client.get("/api/journeys/export", params={"format": "xlsx", "until": iso(T0 + 1200)})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert '.xlsx"' in r.headers["content-disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(r.content), read_only=True).active
    header, *rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert header[:9] == SEED_COLUMNS and len(rows) == 2
    records = [dict(zip(header, row, strict=True)) for row in rows]
    assert [float(rec["entry_time"]) for rec in records] == [T0, T0 + 600]
    listed = {j["id"]: j for j in await all_journeys(client)}
    assert [rec["behavior"] for rec in records] == [
        listed[int(rec["id"])]["behavior_pattern"] for rec in records
    ]
    assert records[0]["behavior"] == "browser"


async def test_export_errors(customers_stack: Stack, client: httpx.AsyncClient) -> None:
    r = await client.get("/api/journeys/export", params={"format": "pdf"})
    assert r.status_code == 422 and "format" in r.json()["detail"]
    r = await client.get("/api/journeys/export", params={"since": "soon"})
    assert r.status_code == 422
    r = await client.get("/api/journeys/export", params={"since": iso(T0 + 60), "until": iso(T0)})
    assert r.status_code == 400 and r.json()["detail"]
    r = await client.get("/api/journeys/export", headers={"X-Footfall-Org": "Not An Org!"})  # not even an org
    assert r.status_code == 400 and "organisation" in r.json()["detail"]
    # An organisation without journeys gets a file with just the header.
    empty = await client.get("/api/journeys/export")
    assert empty.status_code == 200
    assert next(csv.reader(io.StringIO(empty.content.decode("utf-8-sig"))))[:9] == SEED_COLUMNS


async def test_transaction_converts_a_journey(seeded: Stack, client: httpx.AsyncClient) -> None:
    first_visit = (await all_journeys(client))[-1]
    sale = {
        "transaction_id": "r-1",
        "transaction_time": iso(T0 + 50),
        "amount": 19.99,
        "currency": "EUR",
        "till_id": "till-2",
        "zone_name": "checkout",
        "items": [{"sku": "A1", "name": "Mug", "quantity": 2, "unit_price": 9.995}],
    }
    r = await client.post("/api/transactions", json=sale)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["created"] is True
    assert body["journey"]["id"] == first_visit["id"] and body["journey"]["conversion_status"] == "Purchased"
    assert body["journey"]["transaction_ids"] == ["r-1"] and body["journey"][
        "purchase_amount"
    ] == pytest.approx(19.99)
    t = body["transaction"]
    assert (t["transaction_id"], t["journey_id"], t["amount"], t["zone_name"]) == (
        "r-1",
        first_visit["id"],
        19.99,
        "checkout",
    )
    assert t["items"] == [{"sku": "A1", "name": "Mug", "quantity": 2.0, "unit_price": 9.995}]
    assert t["transaction_time"] == iso(T0 + 50)

    again = await client.post(
        "/api/transactions", json={**sale, "transaction_time": T0 + 50}
    )  # Unix seconds too
    assert again.status_code == 200 and again.json()["created"] is False
    assert again.json()["transaction"]["journey_id"] == first_visit["id"]

    # Every view agrees.
    assert (await client.get(f"/api/journeys/{first_visit['id']}")).json()["conversion_status"] == "Purchased"
    rows = (await client.get("/api/customers")).json()["customers"]
    assert [row[7] for row in rows] == ["No Purchase"] * (VISITS - 1) + ["Purchased"]
    assert len(await all_journeys(client, conversion="purchased")) == 1

    # A sale nobody was present for converts nothing.
    r = await client.post(
        "/api/transactions", json={"transaction_id": "r-2", "transaction_time": iso(T0 - 3600), "amount": 5}
    )
    assert (
        r.status_code == 200 and r.json()["journey"] is None and r.json()["transaction"]["journey_id"] is None
    )


@pytest.mark.parametrize(
    "body",
    [
        {"transaction_time": "2025-01-15T10:30:45Z"},  # no id
        {"transaction_id": "x"},  # no time
        {"transaction_id": "x", "transaction_time": "noon"},
        {"transaction_id": "x", "transaction_time": "2025-01-15T10:30:45Z", "amount": "lots"},
        {"transaction_id": " ", "transaction_time": "2025-01-15T10:30:45Z"},  # the service rejects a blank id
    ],
)
async def test_transaction_rejects_bad_bodies(
    customers_stack: Stack, client: httpx.AsyncClient, body: dict
) -> None:
    r = await client.post("/api/transactions", json=body)
    assert r.status_code == 400, r.text
    assert list(r.json()) == ["detail"]
    r = await client.post(
        "/api/transactions", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 400


async def test_webhooks_crud(customers_stack: Stack, client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/api/webhooks", json={"url": "https://example.com/hook", "events": ["journey_complete"]}
    )
    assert r.status_code == 201, r.text
    hook = r.json()
    assert hook["secret"] and hook["events"] == ["journey_complete"] and hook["is_active"] is True
    assert hook["url"] == "https://example.com/hook" and hook["created_at"]
    r = await client.post("/api/webhooks", json={"url": "https://example.com/all", "secret": "s3cret"})
    assert r.status_code == 201 and r.json()["secret"] == "s3cret"
    assert r.json()["events"] == ["customer_entry", "journey_complete"]
    second = r.json()

    listed = (await client.get("/api/webhooks")).json()
    assert [w["id"] for w in listed["webhooks"]] == [hook["id"], second["id"]]
    assert "secret" not in listed["webhooks"][0] and listed["next_page_token"] is None
    page = (await client.get("/api/webhooks", params={"page_size": 1})).json()
    assert len(page["webhooks"]) == 1 and page["next_page_token"]

    r = await client.get(f"/api/webhooks/{hook['id']}/deliveries")
    assert r.status_code == 200 and r.json() == {"deliveries": [], "next_page_token": None}

    async with http_client(customers_stack.app, unique_org("other")) as other:
        assert (await other.get("/api/webhooks")).json()["webhooks"] == []
        assert (await other.delete(f"/api/webhooks/{hook['id']}")).status_code == 404
        assert (await other.get(f"/api/webhooks/{hook['id']}/deliveries")).status_code == 404

    r = await client.delete(f"/api/webhooks/{hook['id']}")
    assert r.status_code == 200 and r.json() == {"status": "deleted", "id": hook["id"]}
    r = await client.delete(f"/api/webhooks/{hook['id']}")
    assert r.status_code == 404 and r.json() == {"detail": f"webhook {hook['id']} not found"}
    assert (await client.get(f"/api/webhooks/{hook['id']}/deliveries")).status_code == 404
    assert [w["id"] for w in (await client.get("/api/webhooks")).json()["webhooks"]] == [second["id"]]
    assert (await client.delete("/api/webhooks/nope")).status_code == 422


@pytest.mark.parametrize(
    "body",
    [
        {"url": "not a url"},
        {"url": "ftp://example.com/x"},
        {},
        {"url": "https://example.com/h", "events": ["shoplifting"]},
    ],
)
async def test_webhook_rejects_bad_bodies(
    customers_stack: Stack, client: httpx.AsyncClient, body: dict
) -> None:
    r = await client.post("/api/webhooks", json=body)
    assert r.status_code == 400, r.text
    assert r.json()["detail"]


async def test_orgs_are_isolated(seeded: Stack, org: str) -> None:
    other_org = unique_org("other")
    async with http_client(seeded.app, other_org) as other:
        await seed_journeys(seeded, other_org, 2, camera="GATE_B")
        assert (await other.get("/api/stats")).json() == {"total_customers": 2}
        assert len((await other.get("/api/customers")).json()["customers"]) == 2
        assert {j["camera_id"] for j in await all_journeys(other)} == {"GATE_B"}
        # naming the other organisation is refused, not honoured
        r = await other.get("/api/stats", headers={"X-Footfall-Org": org})
        assert r.status_code == 403
    async with http_client(seeded.app, org) as mine:
        assert (await mine.get("/api/stats")).json() == {"total_customers": VISITS}
        assert {j["camera_id"] for j in await all_journeys(mine)} == {"GATE_A"}
    async with http_client(seeded.app, None) as anonymous:
        for path in ("/api/stats", "/api/customers", "/api/journeys", "/api/webhooks"):
            r = await anonymous.get(path)
            assert r.status_code == 401 and r.json() == {"detail": "Not authenticated"}, path


async def test_writes_need_a_writer(seeded: Stack, org: str) -> None:
    async with http_client(seeded.app, org, "analyst") as analyst:
        assert (await analyst.get("/api/stats")).json() == {"total_customers": VISITS}
        r = await analyst.post("/api/webhooks", json={"url": "https://example.com/h"})
        assert r.status_code == 403
        r = await analyst.post("/api/transactions", json={"transaction_id": "t", "transaction_time": 1})
        assert r.status_code == 403


async def test_openapi_documents_the_routes(customers_stack: Stack, client: httpx.AsyncClient) -> None:
    doc = (await client.get("/openapi.json")).json()
    paths = doc["paths"]
    assert set(paths["/api/journeys"]) == {"get"} and set(paths["/api/webhooks"]) == {"get", "post"}
    assert set(paths["/api/webhooks/{webhook_id}"]) == {"delete"}
    for path in (
        "/api/customers",
        "/api/stats",
        "/api/journeys/{journey_id}",
        "/api/journeys/export",
        "/api/transactions",
        "/api/webhooks/{webhook_id}/deliveries",
    ):
        assert path in paths, path
    params = {p["name"] for p in paths["/api/journeys"]["get"]["parameters"]}
    assert {"page_size", "page_token", "since", "until"} <= params
    assert "format" in {p["name"] for p in paths["/api/journeys/export"]["get"]["parameters"]}
    assert "404" in paths["/api/journeys/{journey_id}"]["get"]["responses"]
    assert doc["components"]["schemas"]["SeedStats"]["required"] == ["total_customers"]


def customers_stack_auth():  # type: ignore[no-untyped-def]
    return _AUTH[0].authenticator


async def test_unreachable_service_is_503(customers_stack: Stack) -> None:
    settings = customers_stack.settings
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{free_port()}")
    app = create_app(
        settings, channel, domains=(customers.DOMAIN,), authenticator=customers_stack_auth(), rpc_timeout_s=1.0
    )
    try:
        async with http_client(app, unique_org()) as c:
            for path in (
                "/api/stats",
                "/api/customers",
                "/api/journeys",
                "/api/journeys/1",
                "/api/journeys/export",
                "/api/webhooks",
            ):
                r = await c.get(path)
                assert r.status_code == 503, (path, r.text)
                assert r.json() == {"detail": "Customers service not initialized"}
    finally:
        await channel.close()
