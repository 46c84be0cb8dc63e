"""The `occupancy(cameraId)` subscription over a real uvicorn server and real websockets."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import websockets
from footfall.v1 import common_pb2, events_pb2
from websockets.asyncio.client import ClientConnection

from tests.conftest import AuthKit
from tests.graph.conftest import Stack, cross, make_camera, make_line

SUBSCRIPTION = """
subscription($id: ID!) {
  occupancy(cameraId: $id) {
    __typename
    ... on LiveOccupancy { cameraId currentOccupancy totalEntries totalExits lastUpdated }
    ... on Alert { id cameraId alertType currentOccupancy message }
  }
}"""


async def _recv(ws: ClientConnection, timeout: float = 10) -> dict[str, Any]:
    while True:
        msg = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if msg.get("type") in ("ping", "ka"):
            if msg["type"] == "ping":
                await ws.send(json.dumps({"type": "pong"}))
            continue
        return msg


async def _next_until(ws: ClientConnection, predicate, timeout: float = 15) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """Updates received until one satisfies `predicate` (inclusive)."""
    seen: list[dict[str, Any]] = []
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            raise AssertionError(f"no matching update; got {seen}")
        msg = await _recv(ws, left)
        assert msg["type"] in ("next", "data"), msg
        assert not msg["payload"].get("errors"), msg
        update = msg["payload"]["data"]["occupancy"]
        seen.append(update)
        if predicate(update):
            return seen


def _init(auth: AuthKit, org: str, **extra: str) -> str:
    payload = {"authorization": f"Bearer {auth.token(org)}", **extra}
    return json.dumps({"type": "connection_init", "payload": payload})


async def test_subscription_pushes_occupancy_and_alerts(
    live_server: str, client: httpx.AsyncClient, org: str, occupancy_stack: Stack, auth: AuthKit
) -> None:
    camera = await make_camera(client, "GATE_A", max_occupancy=2)
    line = await make_line(client, camera["id"], "entry")
    cid = camera["camera_id"]  # the public camera id: its key
    async with websockets.connect(f"ws://{live_server}/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(_init(auth, org))
        ack = await _recv(ws)
        assert ack["type"] == "connection_ack" and ack["payload"] == {"org": org}
        await ws.send(
            json.dumps(
                {
                    "type": "subscribe",
                    "id": "s1",
                    "payload": {"query": SUBSCRIPTION, "variables": {"id": cid}},
                }
            )
        )
        first = await _next_until(ws, lambda u: u["__typename"] == "LiveOccupancy")
        assert first[-1]["currentOccupancy"] == 0 and first[-1]["cameraId"] == cid

        # a crossing recorded through the API...
        await cross(client, "GATE_A", line["id"], "IN")
        got = await _next_until(ws, lambda u: u.get("totalEntries") == 1)
        assert got[-1]["currentOccupancy"] == 1

        # ...and crossings published by vision on NATS, as in production
        for n in (2, 3):
            crossing = events_pb2.LineCrossed(
                camera_id="GATE_A",
                line_id=line["id"],
                track_id=f"t{n}",
                direction=common_pb2.CROSSING_DIRECTION_IN,
                confidence=0.9,
            )
            await occupancy_stack.bus.emit(org, "vision", "crossing", crossing)
        seen = await _next_until(
            ws, lambda u: u["__typename"] == "Alert" and u["alertType"] == "CAPACITY_EXCEEDED"
        )
        alert = seen[-1]
        assert alert["cameraId"] == cid and alert["currentOccupancy"] == 3 and alert["message"]
        if not any(u.get("totalEntries") == 3 for u in seen):
            await _next_until(ws, lambda u: u.get("totalEntries") == 3)

        await ws.send(json.dumps({"type": "complete", "id": "s1"}))
        await ws.send(json.dumps({"type": "ping"}))
        assert (await _recv_raw(ws))["type"] == "pong"  # the connection outlives the subscription


async def _recv_raw(ws: ClientConnection) -> dict[str, Any]:
    while True:
        msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if msg["type"] != "next":
            return msg


async def test_legacy_graphql_ws_protocol(
    live_server: str, client: httpx.AsyncClient, org: str, auth: AuthKit
) -> None:
    camera = await make_camera(client, "GATE_A")
    line = await make_line(client, camera["id"])
    async with websockets.connect(f"ws://{live_server}/graphql", subprotocols=["graphql-ws"]) as ws:
        await ws.send(_init(auth, org))
        assert (await _recv(ws))["type"] == "connection_ack"
        await ws.send(
            json.dumps(
                {
                    "type": "start",
                    "id": "1",
                    "payload": {"query": SUBSCRIPTION, "variables": {"id": camera["camera_id"]}},
                }
            )
        )
        await _next_until(ws, lambda u: u.get("totalEntries") == 0)
        await cross(client, "GATE_A", line["id"], "IN")
        await _next_until(ws, lambda u: u.get("totalEntries") == 1)
        await ws.send(json.dumps({"type": "stop", "id": "1"}))


async def test_another_organisation_is_refused_at_connection_init(live_server: str, org: str, auth: AuthKit) -> None:
    for payload in ({"authorization": f"Bearer {auth.token(org)}", "org": "somebody-else"}, {"org": org}, {},
                    {"authorization": "Bearer forged"}, {"authorization": f"Bearer {auth.token(org)}", "org": "NOT VALID"}):
        async with websockets.connect(f"ws://{live_server}/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await _recv(ws)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403, payload


async def test_subscription_authenticated_by_the_handshake_headers(
    live_server: str, client: httpx.AsyncClient, org: str, auth: AuthKit
) -> None:
    camera = await make_camera(client, "GATE_A")
    async with websockets.connect(
        f"ws://{live_server}/graphql",
        subprotocols=["graphql-transport-ws"],
        additional_headers={"Authorization": f"Bearer {auth.token(org)}"},
    ) as ws:
        await ws.send(json.dumps({"type": "connection_init"}))
        assert (await _recv(ws))["payload"] == {"org": org}
        await ws.send(
            json.dumps(
                {
                    "type": "subscribe",
                    "id": "h",
                    "payload": {"query": SUBSCRIPTION, "variables": {"id": camera["camera_id"]}},
                }
            )
        )
        await _next_until(ws, lambda u: u.get("currentOccupancy") == 0)


async def test_an_analyst_may_subscribe_a_device_may_not(
    live_server: str, client: httpx.AsyncClient, org: str, auth: AuthKit
) -> None:
    camera = await make_camera(client, "GATE_A")
    for role, ok in (("analyst", True), ("device", False)):
        async with websockets.connect(f"ws://{live_server}/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            await ws.send(json.dumps({"type": "connection_init",
                                      "payload": {"authorization": f"Bearer {auth.token(org, role)}"}}))
            assert (await _recv(ws))["type"] == "connection_ack"
            await ws.send(json.dumps({"type": "subscribe", "id": "r", "payload": {
                "query": SUBSCRIPTION, "variables": {"id": camera["camera_id"]}}}))
            msg = await _recv(ws)
            if ok:
                assert msg["type"] == "next" and not msg["payload"].get("errors"), msg
            else:
                errors = msg["payload"] if msg["type"] == "error" else msg["payload"].get("errors")
                assert errors and errors[0]["extensions"]["code"] == "FORBIDDEN", msg


def _live_watchers(stack: Stack) -> int:
    """Server-side `WatchOccupancy` streams now running: each holds one NATS subscription to live updates."""
    subs = stack.bus.nc._subs.values()  # the service's own connection: nothing public counts them
    return sum(1 for s in subs if s.subject.startswith("live.") and ".occupancy." in s.subject)


async def test_closing_the_websocket_ends_the_services_stream(
    live_server: str, client: httpx.AsyncClient, org: str, occupancy_stack: Stack, auth: AuthKit
) -> None:
    camera = await make_camera(client, "GATE_A")
    before = _live_watchers(occupancy_stack)
    ws = await websockets.connect(f"ws://{live_server}/graphql", subprotocols=["graphql-transport-ws"])
    await ws.send(_init(auth, org))
    assert (await _recv(ws))["type"] == "connection_ack"
    await ws.send(json.dumps({"type": "subscribe", "id": "gone", "payload": {
        "query": SUBSCRIPTION, "variables": {"id": camera["camera_id"]}}}))
    await _next_until(ws, lambda u: u["__typename"] == "LiveOccupancy")
    assert _live_watchers(occupancy_stack) == before + 1  # the gRPC stream is open on the service
    ws.transport.abort()  # the client vanishes without a `complete` or a close frame
    deadline = asyncio.get_running_loop().time() + 10
    while _live_watchers(occupancy_stack) > before:
        assert asyncio.get_running_loop().time() < deadline, "the service's stream outlived the websocket"
        await asyncio.sleep(0.02)
