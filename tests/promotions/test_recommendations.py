"""Identification -> recommendation -> display, end to end over real NATS and PostgreSQL.

The identity service does not publish `customer_identified` yet, so the tests publish it themselves on NATS,
exactly as a producer would (an envelope on `<prefix>.<org>.identity.customer_identified`).
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import httpx
import websockets
from footfall.v1 import customers_pb2, promotions_pb2

from tests.promotions.conftest import Stack

BAKERY = ("croissant", "baguette", "sourdough", "muffin")
SUBSCRIPTION = """subscription ($id: ID!) { displayUpdates(displayId: $id) {
  mode customerId recommendedProducts promotions { title audience } display { zone } } }"""


def _validity(days: float = 30) -> dict[str, str]:
    now = datetime.now(UTC)
    return {"start": (now - timedelta(days=1)).isoformat(), "end": (now + timedelta(days=days)).isoformat()}


async def _promotion(http: httpx.AsyncClient, stack: Stack, org: str, title: str, target: str,
                     zone: str | None) -> None:
    r = await http.post("/promotions", headers=stack.headers(org), json={
        "title": title, "validity": _validity(), "target_loyalty_status": target, "zone": zone})
    assert r.status_code == 201, r.text


async def _display(http: httpx.AsyncClient, stack: Stack, org: str, zone: str) -> str:
    r = await http.post("/graphql", headers=stack.headers(org), json={
        "query": "mutation ($z: String!) { createDisplay(zone: $z, name: \"screen\") { id zone } }",
        "variables": {"z": zone}})
    assert r.status_code == 200 and "errors" not in r.json(), r.text
    return r.json()["data"]["createDisplay"]["id"]


async def _recv(ws: websockets.ClientConnection, timeout: float = 30.0) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def test_gold_customer_in_the_bakery_gets_bakery_products_and_gold_promotions(
    http: httpx.AsyncClient, stack: Stack
) -> None:
    org = stack.org_a
    await stack.set_zone(org, "bakery", BAKERY, ["BAKERY_CAM"])
    await stack.set_zone(org, "dairy", ["milk", "butter"], ["DAIRY_CAM"])
    gold = await stack.customer(org, customers_pb2.LOYALTY_STATUS_GOLD, "Goldie")
    await _promotion(http, stack, org, "Bread for everyone", "all", "bakery")
    await _promotion(http, stack, org, "Gold pastries", "gold", "bakery")
    await _promotion(http, stack, org, "Gold anywhere", "gold", None)
    await _promotion(http, stack, org, "Silver pastries", "silver", "bakery")
    await _promotion(http, stack, org, "Gold cheese", "gold", "dairy")
    display_id = await _display(http, stack, org, "bakery")

    r = await http.get(f"/promotions/display/{display_id}", headers=stack.headers(org, "analyst"))
    assert r.status_code == 200
    idle = r.json()
    assert (idle["mode"], idle["customer_id"], idle["recommended_products"], idle["personal_until"]) == (
        "default", None, [], None)
    assert [p["title"] for p in idle["promotions"]] == ["Bread for everyone"]

    actions = await stack.actions(org)
    async with websockets.connect(stack.ws_url, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(json.dumps({"type": "connection_init",
                                  "payload": {"authorization": f"Bearer {stack.auth.token(org, 'analyst')}"}}))
        assert (await _recv(ws))["type"] == "connection_ack"
        await ws.send(json.dumps({"type": "subscribe", "id": "d1",
                                  "payload": {"query": SUBSCRIPTION, "variables": {"id": display_id}}}))
        first = (await _recv(ws))["payload"]["data"]["displayUpdates"]
        assert (first["mode"], first["customerId"]) == ("DEFAULT", None)

        identified = stack.identification(org, gold, "BAKERY_CAM", confidence=0.93)
        await stack.bus.publish(identified)
        envelope, action = await actions.next()
        assert (envelope.source, envelope.type, envelope.organization_id) == ("promotions", "action", org)
        assert (action.customer_id, action.store_zone, action.camera_id) == (gold, "bakery", "BAKERY_CAM")
        assert list(action.recommended_products) == ["croissant", "baguette", "sourdough"]  # no history: zone order
        assert action.identification_event_id == identified.event_id
        assert action.HasField("timestamp")

        update = (await _recv(ws))["payload"]["data"]["displayUpdates"]
        assert (update["mode"], update["customerId"], update["recommendedProducts"]) == (
            "PERSONAL", str(gold), ["croissant", "baguette", "sourdough"])
        assert [p["title"] for p in update["promotions"]] == ["Gold anywhere", "Gold pastries", "Bread for everyone"]
        await ws.send(json.dumps({"type": "complete", "id": "d1"}))
    await actions.close()

    r = await http.get(f"/promotions/display/{display_id}", headers=stack.headers(org, "analyst"))
    shown = r.json()
    assert (shown["mode"], shown["customer_id"], shown["recommended_products"]) == (
        "personal", gold, ["croissant", "baguette", "sourdough"])
    assert [p["title"] for p in shown["promotions"]] == ["Gold anywhere", "Gold pastries", "Bread for everyone"]
    assert shown["personal_until"] is not None and shown["zone"] == "bakery"


async def test_replaying_an_identification_changes_nothing(stack: Stack) -> None:
    org = stack.org_a
    await stack.set_zone(org, "deli", ["ham", "cheese"], ["DELI_CAM"])
    customer = await stack.customer(org, customers_pb2.LOYALTY_STATUS_SILVER, "Replay")
    sentinel_customer = await stack.customer(org, customers_pb2.LOYALTY_STATUS_BRONZE, "Sentinel")
    actions = await stack.actions(org)
    identified = stack.identification(org, customer, "DELI_CAM")
    await stack.bus.publish(identified)
    _, first = await actions.next()
    assert first.customer_id == customer

    # Redelivered: the same envelope again, under a new Nats-Msg-Id so JetStream stores it a second time...
    subject = stack.bus.subject(org, "identity", "customer_identified")
    await stack.bus.js.publish(subject, identified.SerializeToString(), headers={"Nats-Msg-Id": "replay-1"})
    await stack.bus.publish(identified)  # ...and re-published with its own id (dropped by JetStream)
    # ...and below the confidence threshold: nothing recommended.
    await stack.bus.publish(stack.identification(org, customer, "DELI_CAM", confidence=0.5))
    # The consumer applies events in order: once the sentinel's action arrives, the replays were handled.
    await stack.bus.publish(stack.identification(org, sentinel_customer, "DELI_CAM"))
    _, sentinel = await actions.next()
    assert sentinel.customer_id == sentinel_customer
    assert actions.queue.empty()
    await actions.close()
    reply = await stack.promotions.ListActions(promotions_pb2.ListActionsRequest(customer_id=customer),
                                               metadata=stack.auth.metadata(org))
    assert [a.identification_event_id for a in reply.actions] == [identified.event_id]


async def test_history_ranks_the_zone_products(stack: Stack) -> None:
    org = stack.org_a
    await stack.set_zone(org, "cafe", BAKERY, ["CAFE_CAM"])
    customer = await stack.customer(org, customers_pb2.LOYALTY_STATUS_GOLD, "Regular")
    now = datetime.now(UTC)
    # Point-of-sale history as the customers service stores it: the customer's basket (on a journey that
    # identity linked to the customer) and three baskets of other shoppers.
    async with stack.runtime.promotions.db.tenant(org) as conn:
        cur = await conn.execute(
            "INSERT INTO journeys (org_id, customer_id, session_id, entry_time) VALUES (%s, %s, %s, %s) RETURNING id",
            (org, str(customer), f"s-{customer}", now - timedelta(days=3)))
        journey = (await cur.fetchone())["id"]
        baskets = [(journey, ["coffee", "muffin"])] + [(None, ["coffee", "sourdough"])] * 3
        for n, (journey_id, skus) in enumerate(baskets):
            await conn.execute(
                """INSERT INTO pos_transactions (org_id, transaction_id, transaction_time, items, journey_id)
                   VALUES (%s, %s, %s, %s, %s)""",
                (org, f"tx-{customer}-{n}", now - timedelta(days=2),
                 json.dumps([{"sku": s, "name": s.title(), "quantity": 1, "unit_price": 2.5} for s in skus]),
                 journey_id))
    actions = await stack.actions(org)
    await stack.bus.publish(stack.identification(org, customer, "CAFE_CAM"))
    _, action = await actions.next()
    await actions.close()
    # sourdough: bought 3 times with coffee, which the customer buys; muffin: the customer's own; then zone order.
    assert list(action.recommended_products) == ["sourdough", "muffin", "croissant"]


async def test_identifications_stay_in_their_organisation(http: httpx.AsyncClient, stack: Stack) -> None:
    a, b = stack.org_a, stack.org_b
    await stack.set_zone(a, "wine", ["red", "white"], ["WINE_CAM"])
    await stack.set_zone(b, "wine", ["beer"], ["WINE_CAM"])
    customer_a = await stack.customer(a, customers_pb2.LOYALTY_STATUS_GOLD, "A")
    customer_b = await stack.customer(b, customers_pb2.LOYALTY_STATUS_GOLD, "B")
    display_a = await _display(http, stack, a, "wine")
    watch_b = await stack.actions(b)
    # org B's subject naming org A's customer: unknown in B, nothing recommended...
    await stack.bus.publish(stack.identification(b, customer_a, "WINE_CAM"))
    await stack.bus.publish(stack.identification(b, customer_b, "WINE_CAM"))
    _, action = await watch_b.next()
    await watch_b.close()
    assert (action.customer_id, list(action.recommended_products)) == (customer_b, ["beer"])
    # ...and A's display never shows B's customer; B cannot read A's display.
    r = await http.get(f"/promotions/display/{display_a}", headers=stack.headers(a))
    assert (r.json()["mode"], r.json()["customer_id"]) == ("default", None)
    r = await http.get(f"/promotions/display/{display_a}", headers=stack.headers(b))
    assert (r.status_code, r.json()) == (404, {"detail": "Display not found"})
