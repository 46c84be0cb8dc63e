"""`WS /ws/dashboard`: token-authenticated, Origin-checked, `{type, data, timestamp}` messages."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from footfall.graph.occupancy.client import OccupancyClient
from footfall.graph.security.auth import Caller
from footfall.services.core.principal import Principal, Role
from tests.graph_accounts.conftest import World, bearer, login

WAIT_S = 15.0


def _ws_url(world: World, query: str = "") -> str:
    return world.base_url.replace("http://", "ws://") + "/ws/dashboard" + query


async def _next(ws: ClientConnection, kind: str, match: Any = None) -> dict[str, Any]:
    """The next message of `kind` (for which `match(data)` holds), skipping others."""

    async def find() -> dict[str, Any]:
        while True:
            message = json.loads(await ws.recv())
            assert set(message) == {"type", "data", "timestamp"}
            if message["type"] == kind and (match is None or match(message["data"])):
                return message

    return await asyncio.wait_for(find(), WAIT_S)


async def test_token_query_streams_logs_and_occupancy(http: httpx.AsyncClient, world: World) -> None:
    token = await login(http, world.admin_a)
    caller = Caller(Principal(world.admin_a.username, world.org_a, Role.ORG_ADMIN), token, world.org_a)
    key = f"WS_{uuid.uuid4().hex[:6]}"
    await OccupancyClient(world.channel).create_camera(caller, camera_id=key, camera_name="Lobby")

    async with connect(_ws_url(world, f"?token={token}")) as ws:
        hello = await _next(ws, "connected")
        assert hello["data"] == {"subject": world.admin_a.username, "role": "org_admin", "org": world.org_a}
        live = await _next(ws, "occupancy", lambda d: d["camera_id"] == key)
        assert live["data"]["current_occupancy"] == 0

        stats = (await http.get("/admin/dashboard/stats", headers=bearer(token))).json()
        assert stats["websocket_clients"] >= 1

        # A failed login in this org appears on the socket, with where it came from.
        await http.post("/admin/login", json={"username": world.analyst_a.username, "password": "bad bad bad"})
        entry = await _next(
            ws, "log", lambda d: d["action"] == "auth.login" and d["outcome"] == "failure" and d["actor"] == world.analyst_a.username
        )
        assert entry["data"]["ip"] == "127.0.0.1"

        await ws.send(json.dumps({"type": "ping"}))
        await _next(ws, "pong")


async def test_first_message_auth_and_analyst_gets_no_logs(http: httpx.AsyncClient, world: World) -> None:
    token = await login(http, world.analyst_a)
    async with connect(_ws_url(world)) as ws:
        await ws.send(json.dumps({"type": "auth", "token": token}))
        hello = await _next(ws, "connected")
        assert hello["data"]["role"] == "analyst"


async def test_bad_token_closes_4401(world: World) -> None:
    async with connect(_ws_url(world)) as ws:
        await ws.send(json.dumps({"type": "auth", "token": "forged"}))
        error = await _next(ws, "error")
        assert error["data"] == {"message": "Not authenticated"}
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), WAIT_S)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_foreign_origin_is_refused_at_the_handshake(http: httpx.AsyncClient, world: World) -> None:
    token = await login(http, world.admin_a)
    with pytest.raises(InvalidStatus) as refused:
        async with connect(_ws_url(world, f"?token={token}"), origin="https://evil.example"):  # type: ignore[arg-type]
            pass
    assert refused.value.response.status_code == 403
    async with connect(_ws_url(world, f"?token={token}"), origin="https://admin.example.com") as ws:  # type: ignore[arg-type]
        await _next(ws, "connected")


async def test_forged_org_is_refused(http: httpx.AsyncClient, world: World) -> None:
    token = await login(http, world.admin_a)
    async with connect(_ws_url(world, f"?token={token}&org={world.org_b}")) as ws:
        await _next(ws, "error")
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), WAIT_S)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_logout_ends_the_socket(http: httpx.AsyncClient, world: World) -> None:
    token = await login(http, world.admin_b)
    async with connect(_ws_url(world, f"?token={token}")) as ws:
        await _next(ws, "connected")
        assert (await http.post("/admin/logout", headers=bearer(token))).status_code == 200
        await _next(ws, "error", lambda d: d == {"message": "Not authenticated"})
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(ws.recv(), WAIT_S)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
