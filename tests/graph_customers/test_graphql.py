"""GraphQL of the customers domain (`footfall.graph.customers.schema`) over the real service."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from footfall.graph import customers, occupancy, vision
from footfall.graph.core.schema import build_schema

from tests.conftest import unique_org
from tests.graph_customers.conftest import T0, VISITS, Stack, gql, gql_data, http_client

JOURNEYS = """
query Journeys($first: Int!, $after: String, $since: DateTime, $until: DateTime, $status: JourneyStatus,
               $conversion: ConversionStatus) {
  journeys(first: $first, after: $after, since: $since, until: $until, status: $status, conversion: $conversion) {
    nodes { id customerId sessionId cameraId status entryTime exitTime durationSeconds zonesVisited
            path { x y } dwellSeconds { zoneName seconds } zoneStays { zoneName enterTime exitTime dwellSeconds }
            behavior behaviorLabel conversion transactionIds purchaseAmount createdAt }
    pageInfo { hasNextPage endCursor }
  }
}"""
JOURNEY = "query($id: ID!) { journey(id: $id) { id entryTime conversion transactionIds purchaseAmount } }"
RECORD = """
mutation($input: TransactionInput!) {
  recordTransaction(input: $input) {
    created
    transaction { transactionId transactionTime amount currency journeyId items { sku quantity unitPrice } }
    journey { id conversion transactionIds purchaseAmount }
  }
}"""


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat()


def at(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


async def all_nodes(client: httpx.AsyncClient, first: int = 50, **variables: object) -> list[dict]:
    out, after = [], None
    while True:
        page = (await gql_data(client, JOURNEYS, {"first": first, "after": after, **variables}))["journeys"]
        out += page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            assert page["pageInfo"]["endCursor"] is None
            return out
        after = page["pageInfo"]["endCursor"]


async def test_journeys_connection(seeded: Stack, client: httpx.AsyncClient) -> None:
    page = (await gql_data(client, JOURNEYS, {"first": 2}))["journeys"]
    assert len(page["nodes"]) == 2 and page["pageInfo"]["hasNextPage"] and page["pageInfo"]["endCursor"]
    nodes = await all_nodes(client, first=2)
    assert len(nodes) == VISITS == len({n["id"] for n in nodes})
    assert [at(n["entryTime"]) for n in nodes] == [T0 + i * 600 for i in reversed(range(VISITS))]
    first_visit = nodes[-1]
    assert first_visit["cameraId"] == "GATE_A" and first_visit["status"] == "COMPLETED"
    assert at(first_visit["exitTime"]) == T0 + 60 and first_visit["durationSeconds"] == 60
    assert first_visit["zonesVisited"] == ["shelves", "checkout"]
    assert {d["zoneName"]: d["seconds"] for d in first_visit["dwellSeconds"]}["shelves"] == pytest.approx(35)
    assert [s["zoneName"] for s in first_visit["zoneStays"]] == ["shelves", "checkout"]
    assert first_visit["behavior"] == "BROWSER" and first_visit["behaviorLabel"] == "browser"
    assert first_visit["conversion"] == "NO_PURCHASE"
    assert len(first_visit["path"]) >= 2

    # The REST view of the same journeys agrees.
    rest = (await client.get("/api/journeys")).json()["journeys"]
    assert [str(j["id"]) for j in rest] == [n["id"] for n in nodes]

    window = await all_nodes(client, since=iso(T0 + 600), until=iso(T0 + 1800))
    assert [at(n["entryTime"]) for n in window] == [T0 + 1200, T0 + 600]
    assert await all_nodes(client, status="ACTIVE") == []
    assert len(await all_nodes(client, conversion="NO_PURCHASE")) == VISITS

    body = await gql(client, JOURNEYS, {"first": 0})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    body = await gql(client, JOURNEYS, {"first": 2, "after": "garbage!"})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    body = await gql(client, JOURNEYS, {"first": 2, "since": iso(T0 + 60), "until": iso(T0)})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_journey_by_id_and_as_an_entity(seeded: Stack, client: httpx.AsyncClient) -> None:
    nodes = await all_nodes(client)
    one = (await gql_data(client, JOURNEY, {"id": nodes[0]["id"]}))["journey"]
    assert one["id"] == nodes[0]["id"] and one["entryTime"] == nodes[0]["entryTime"]
    assert (await gql_data(client, JOURNEY, {"id": "999999999"}))["journey"] is None
    body = await gql(client, JOURNEY, {"id": "abc"})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    async with http_client(seeded.app, unique_org("other")) as other:
        assert (await gql_data(other, JOURNEY, {"id": nodes[0]["id"]}))["journey"] is None

    # Federation: the router resolves `Journey` references by id.
    entities = await gql_data(
        client,
        """
      query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Journey { id cameraId behavior } } }""",
        {
            "reps": [
                {"__typename": "Journey", "id": nodes[-1]["id"]},
                {"__typename": "Journey", "id": "999999999"},
            ]
        },
    )
    assert entities["_entities"] == [
        {"id": nodes[-1]["id"], "cameraId": "GATE_A", "behavior": "BROWSER"},
        None,
    ]
    sdl = (await gql_data(client, "{ _service { sdl } }"))["_service"]["sdl"]
    assert 'type Journey @key(fields: "id")' in sdl


async def test_stats_and_transactions(seeded: Stack, client: httpx.AsyncClient) -> None:
    stats_query = """query($since: DateTime) { journeyStats(since: $since) {
        totalCustomers activeCustomers completedJourneys convertedJourneys conversionRatePercent
        averageDurationSeconds behaviors { behavior label journeys } zones { zoneName journeys averageDwellSeconds }
        transactions unmatchedTransactions revenue } }"""
    stats = (await gql_data(client, stats_query))["journeyStats"]
    assert (stats["totalCustomers"], stats["completedJourneys"], stats["convertedJourneys"]) == (
        VISITS,
        VISITS,
        0,
    )
    assert stats["averageDurationSeconds"] == pytest.approx(60 + 30 * 2)
    assert sum(b["journeys"] for b in stats["behaviors"]) == VISITS
    assert {z["zoneName"] for z in stats["zones"]} == {"shelves", "checkout"}
    assert (await gql_data(client, stats_query, {"since": iso(T0 + 1200)}))["journeyStats"][
        "totalCustomers"
    ] == 3
    assert (await client.get("/api/stats")).json() == {"total_customers": stats["totalCustomers"]}

    first_visit = (await all_nodes(client))[-1]
    sale = {
        "transactionId": "g-1",
        "transactionTime": iso(T0 + 50),
        "amount": 12.5,
        "currency": "EUR",
        "zoneName": "checkout",
        "items": [{"sku": "B2", "quantity": 1, "unitPrice": 12.5}],
    }
    recorded = (await gql_data(client, RECORD, {"input": sale}))["recordTransaction"]
    assert recorded["created"] is True
    assert recorded["journey"] == {
        "id": first_visit["id"],
        "conversion": "PURCHASED",
        "transactionIds": ["g-1"],
        "purchaseAmount": 12.5,
    }
    assert recorded["transaction"]["journeyId"] == first_visit["id"]
    assert recorded["transaction"]["items"] == [{"sku": "B2", "quantity": 1.0, "unitPrice": 12.5}]
    again = (await gql_data(client, RECORD, {"input": sale}))["recordTransaction"]
    assert again["created"] is False and again["transaction"]["journeyId"] == first_visit["id"]
    assert (await gql_data(client, JOURNEY, {"id": first_visit["id"]}))["journey"][
        "conversion"
    ] == "PURCHASED"

    stats = (await gql_data(client, stats_query))["journeyStats"]
    assert stats["convertedJourneys"] == 1 and stats["conversionRatePercent"] == pytest.approx(100 / VISITS)
    assert stats["revenue"] == pytest.approx(12.5) and stats["transactions"] == 1

    body = await gql(client, RECORD, {"input": {"transactionId": "", "transactionTime": iso(T0)}})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_webhooks(customers_stack: Stack, client: httpx.AsyncClient) -> None:
    create = """mutation($input: WebhookInput!) { createWebhook(input: $input) {
        secret webhook { id url events isActive createdAt } } }"""
    made = (
        await gql_data(
            client, create, {"input": {"url": "https://example.com/g", "events": ["CUSTOMER_ENTRY"]}}
        )
    )["createWebhook"]
    assert made["secret"] and made["webhook"]["events"] == ["CUSTOMER_ENTRY"] and made["webhook"]["isActive"]
    hook_id = made["webhook"]["id"]
    query = "{ webhooks { totalCount nodes { id url deliveries(first: 10) { totalCount nodes { id status } } } } }"
    listed = (await gql_data(client, query))["webhooks"]
    assert listed == {
        "totalCount": 1,
        "nodes": [{"id": hook_id, "url": "https://example.com/g", "deliveries": {"totalCount": None, "nodes": []}}],
    }
    # REST sees the same webhook.
    assert [str(w["id"]) for w in (await client.get("/api/webhooks")).json()["webhooks"]] == [hook_id]

    body = await gql(client, create, {"input": {"url": "nope"}})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"

    delete = "mutation($id: ID!) { deleteWebhook(id: $id) }"
    async with http_client(customers_stack.app, unique_org("other")) as other:
        body = await gql(other, delete, {"id": hook_id})
        assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert (await gql_data(client, delete, {"id": hook_id}))["deleteWebhook"] == hook_id
    body = await gql(client, delete, {"id": hook_id})
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert (await gql_data(client, "{ webhooks { nodes { id } } }"))["webhooks"] == {"nodes": []}


def test_module_composes_with_the_others() -> None:
    schema = build_schema([occupancy.DOMAIN.schema, vision.DOMAIN.schema, customers.DOMAIN.schema])
    sdl = schema.as_str()
    for field in (
        "journeys(",
        "journey(",
        "journeyStats(",
        "webhooks(",
        "recordTransaction(",
        "createWebhook(",
        "deleteWebhook(",
        "tracks(",
        "cameras",
    ):
        assert field in sdl, field
