"""Rate limits over real sockets: a small FastAPI app behind uvicorn, budgets in memory or in a real Redis."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import redis
import websockets
from fastapi import FastAPI, WebSocket
from starlette.requests import Request

from footfall.graph.security.ratelimit import client_ip, install_rate_limits, parse_networks
from footfall.services.core.config import Settings
from tests.security.conftest import serve


def make_settings(tmp_path: object, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": tmp_path, "redis_url": None, "rate_limit_default": "5/minute",
        "rate_limit_login": "2/minute", "rate_limit_statistics": "3/minute", "trusted_proxies": [],
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def make_app(settings: Settings) -> FastAPI:
    app = FastAPI()

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/things")
    async def things() -> dict[str, bool]:
        return {"ok": True}

    @app.post("/admin/login")
    async def admin_login() -> dict[str, bool]:
        return {"ok": True}

    @app.post("/api/auth/login/")
    async def session_login() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/api/client/statistics/gender/")
    async def gender() -> list[object]:
        return []

    @app.post("/graphql")
    async def graphql(request: Request) -> dict[str, object]:
        refusal = await request.app.state.rate_limiter.charge(request, "login")
        return {"refused": refusal is not None}

    @app.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("hello")
        await websocket.close()

    install_rate_limits(app, settings)
    return app


@pytest.fixture
async def memory_server(tmp_path: object) -> AsyncIterator[str]:
    async with serve(make_app(make_settings(tmp_path))) as address:
        yield address


async def statuses(client: httpx.AsyncClient, method: str, path: str, n: int, **kw: object) -> list[int]:
    return [(await client.request(method, path, **kw)).status_code for _ in range(n)]  # type: ignore[arg-type]


async def test_default_budget_per_ip_then_429_with_retry_after(memory_server: str) -> None:
    async with httpx.AsyncClient(base_url=f"http://{memory_server}") as client:
        assert await statuses(client, "GET", "/things", 5) == [200] * 5
        refused = await client.get("/things")
        assert refused.status_code == 429
        assert refused.json() == {"detail": "Too many requests"}
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        # The connection survives the refusal, and /health spends from no budget.
        assert await statuses(client, "GET", "/health", 10) == [200] * 10


async def test_login_routes_have_their_own_budget_in_their_seed_shape(memory_server: str) -> None:
    async with httpx.AsyncClient(base_url=f"http://{memory_server}") as client:
        assert await statuses(client, "POST", "/admin/login", 2) == [200, 200]
        refused = await client.post("/admin/login")
        assert refused.status_code == 429 and refused.json() == {"detail": "Too many requests"}
        # Seed 003's login answers in its own shape; its budget is the same login budget of this address.
        refused = await client.post("/api/auth/login/", json={"email": "a@b.c", "password": "x"})
        assert refused.status_code == 429 and refused.json() == {"error": "Too many requests"}
        assert "retry-after" in refused.headers
        # Every attempt, refused or not, also spent from the address's default budget (5/minute).
        assert await statuses(client, "GET", "/things", 2) == [200, 429]


async def test_statistics_budget_and_seed_003_error_shape(memory_server: str) -> None:
    async with httpx.AsyncClient(base_url=f"http://{memory_server}") as client:
        assert await statuses(client, "GET", "/api/client/statistics/gender/", 3) == [200] * 3
        refused = await client.get("/api/client/statistics/gender/")
        assert refused.status_code == 429
        assert refused.json() == {"error": "Too many requests"}


async def test_a_fresh_key_does_not_reset_the_address_budget(memory_server: str) -> None:
    async with httpx.AsyncClient(base_url=f"http://{memory_server}") as client:
        for _ in range(5):
            key = "ffk_" + uuid.uuid4().hex
            assert (await client.get("/things", headers={"X-API-Key": key})).status_code == 200
        assert (await client.get("/things", headers={"X-API-Key": "ffk_" + uuid.uuid4().hex})).status_code == 429


async def test_api_key_budget_is_shared_across_addresses(tmp_path: object) -> None:
    """Behind a trusted proxy, two client addresses with one key spend one key budget."""
    settings = make_settings(tmp_path, trusted_proxies=["127.0.0.1"])
    async with serve(make_app(settings)) as address, httpx.AsyncClient(base_url=f"http://{address}") as client:
        key = "ffk_" + uuid.uuid4().hex
        for i in range(5):
            sent = {"Authorization": f"Bearer {key}", "X-Forwarded-For": f"198.51.100.{i}"}
            assert (await client.get("/things", headers=sent)).status_code == 200
        refused = await client.get("/things", headers={"X-API-Key": key, "X-Forwarded-For": "198.51.100.99"})
        assert refused.status_code == 429
        # A JWT-shaped bearer is not counted as a key: a fresh address with one goes through.
        jwt_like = {"Authorization": "Bearer aaa.bbb.ccc", "X-Forwarded-For": "198.51.100.100"}
        assert (await client.get("/things", headers=jwt_like)).status_code == 200


async def test_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(memory_server: str) -> None:
    async with httpx.AsyncClient(base_url=f"http://{memory_server}") as client:
        got = [
            (await client.get("/things", headers={"X-Forwarded-For": f"203.0.113.{i}"})).status_code
            for i in range(6)
        ]
        assert got == [200] * 5 + [429]


def test_client_ip_takes_the_rightmost_untrusted_hop() -> None:
    trusted = parse_networks(["10.0.0.0/8", "127.0.0.1"])
    scope = {"client": ("127.0.0.1", 1234), "headers": [(b"x-forwarded-for", b"6.6.6.6, 192.0.2.7, 10.1.2.3")]}
    assert client_ip(scope, trusted) == "192.0.2.7"  # 6.6.6.6 is whatever the client claimed
    assert client_ip(scope, ()) == "127.0.0.1"
    assert client_ip({"client": ("192.0.2.8", 1), "headers": scope["headers"]}, trusted) == "192.0.2.8"
    assert client_ip({"client": ("127.0.0.1", 1), "headers": [(b"x-forwarded-for", b"junk")]}, trusted) == "127.0.0.1"


async def test_graphql_helper_charges_a_named_budget(memory_server: str) -> None:
    async with httpx.AsyncClient(base_url=f"http://{memory_server}") as client:
        answers = [(await client.post("/graphql")).json()["refused"] for _ in range(3)]
        assert answers == [False, False, True]


async def test_websocket_handshake_is_refused_when_over_budget(memory_server: str) -> None:
    async with httpx.AsyncClient(base_url=f"http://{memory_server}") as client:
        assert await statuses(client, "GET", "/things", 4) == [200] * 4
    async with websockets.connect(f"ws://{memory_server}/ws") as ws:  # the 5th unit of the budget
        assert await ws.recv() == "hello"
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(f"ws://{memory_server}/ws"):
            pass
    assert refused.value.response.status_code == 429
    assert "Retry-After" in refused.value.response.headers


async def test_redis_budget_is_shared_by_two_gateways(clean_redis: str, tmp_path: object) -> None:
    settings = make_settings(tmp_path, redis_url=clean_redis, rate_limit_default="3/minute")
    first_app, second_app = make_app(settings), make_app(settings)
    async with serve(first_app) as first, serve(second_app) as second:
        key = "ffk_" + uuid.uuid4().hex
        async with httpx.AsyncClient(headers={"X-API-Key": key}) as client:
            assert (await client.get(f"http://{first}/things")).status_code == 200
            assert (await client.get(f"http://{second}/things")).status_code == 200
            assert (await client.get(f"http://{first}/things")).status_code == 200
            refused = await client.get(f"http://{second}/things")
            assert refused.status_code == 429
            assert 1 <= int(refused.headers["retry-after"]) <= 60
    for app in (first_app, second_app):
        await app.state.rate_limiter.close()
    stored = redis.Redis.from_url(clean_redis)
    names = [name.decode() for name in stored.keys("*")]
    stored.close()
    assert names and all(name.startswith("footfall-rl:") for name in names)
    assert not any(key in name for name in names)  # keys are counted by their hash only


async def test_unreachable_redis_lets_requests_through(tmp_path: object) -> None:
    from footfall.services.core.embedded import free_port

    settings = make_settings(tmp_path, redis_url=f"redis://127.0.0.1:{free_port()}/0", rate_limit_default="1/minute")
    app = make_app(settings)
    async with serve(app) as address, httpx.AsyncClient(base_url=f"http://{address}") as client:
        assert await statuses(client, "GET", "/things", 3) == [200] * 3
    await app.state.rate_limiter.close()


def test_disabled_limits_install_nothing(tmp_path: object) -> None:
    app = FastAPI()
    assert install_rate_limits(app, make_settings(tmp_path, rate_limit_enabled=False)) is None
    assert not app.user_middleware
