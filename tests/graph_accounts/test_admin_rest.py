"""Seed 002's admin routes: login, logout, users, logs and the dashboard, with their exact shapes and errors."""

from __future__ import annotations

import uuid

import httpx
import pytest

from footfall.graph.accounts.verifier import AccountsVerifier
from footfall.services.core.errors import Unauthenticated
from footfall.services.core.principal import Principal, Role
from tests.graph_accounts.conftest import PASSWORD, World, bearer, login

NOT_AUTHENTICATED = {"detail": "Not authenticated"}
USER_KEYS = {"username", "full_name", "email", "is_active", "created_at"}


async def test_admin_login_answers_the_seed_shape(http: httpx.AsyncClient, world: World) -> None:
    r = await http.post("/admin/login", json={"username": world.admin_a.username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "user"}
    assert body["token_type"] == "bearer" and body["expires_in"] == 1800
    assert set(body["user"]) == USER_KEYS
    assert body["user"]["username"] == world.admin_a.username
    assert body["user"]["email"] == world.admin_a.email and body["user"]["is_active"] is True


@pytest.mark.parametrize("who", ["known", "unknown"])
async def test_wrong_credentials_are_one_401(http: httpx.AsyncClient, world: World, who: str) -> None:
    name = world.admin_a.username if who == "known" else f"nobody-{uuid.uuid4().hex[:6]}"
    r = await http.post("/admin/login", json={"username": name, "password": "wrong password!"})
    assert r.status_code == 401
    assert r.json() == {"detail": "Incorrect username or password"}


async def test_disabled_user_cannot_log_in(http: httpx.AsyncClient, world: World) -> None:
    name = f"gone-{uuid.uuid4().hex[:6]}"
    await world.accounts.create_user(
        None, world.org_a, username=name, email="", full_name="", password=PASSWORD, role=Role.ANALYST
    )
    await world.accounts.disable_user(None, world.org_a, name)
    r = await http.post("/admin/login", json={"username": name, "password": PASSWORD})
    assert (r.status_code, r.json()) == (401, {"detail": "User account is disabled"})


async def test_login_refuses_bad_input_without_a_server_error(http: httpx.AsyncClient) -> None:
    bodies = ('{"username": "a\\u0000b", "password": "x"}', '{"username": "x"}', '{"username": "\\ud800", "password": "x"}')
    for body in bodies:
        r = await http.post("/admin/login", content=body, headers={"Content-Type": "application/json"})
        assert r.status_code in (400, 422), (body, r.text)
        assert "detail" in r.json()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/admin/users"),
        ("POST", "/admin/users"),
        ("DELETE", "/admin/users/someone"),
        ("POST", "/admin/logout"),
        ("GET", "/admin/logs"),
        ("GET", "/logs"),
        ("GET", "/admin/dashboard/stats"),
        ("GET", "/alerts/count"),
        ("GET", "/cameras"),
        ("POST", "/api/auth/logout/"),
        ("POST", "/graphql"),
    ],
)
async def test_anonymous_is_401(http: httpx.AsyncClient, method: str, path: str) -> None:
    r = await http.request(method, path, json={"query": "{ users { totalCount } }"} if path == "/graphql" else None)
    assert r.status_code == 401
    assert r.json() in (NOT_AUTHENTICATED, {"error": "Not authenticated"})


async def test_logout_revokes_the_token_for_good(http: httpx.AsyncClient, world: World) -> None:
    token = await login(http, world.admin_a)
    assert (await http.get("/admin/users", headers=bearer(token))).status_code == 200
    r = await http.post("/admin/logout", headers=bearer(token))
    assert (r.status_code, r.json()) == (200, {"message": "Successfully logged out"})
    r = await http.get("/admin/users", headers=bearer(token))
    assert (r.status_code, r.json()) == (401, NOT_AUTHENTICATED)
    # Persisted, not a cache entry: a verifier that never saw the token (another replica) refuses it too.
    with pytest.raises(Unauthenticated):
        await AccountsVerifier(world.channel, world.settings).authenticate(token)


async def test_expired_tampered_and_garbage_tokens_are_401(http: httpx.AsyncClient, world: World) -> None:
    principal = Principal(world.admin_a.username, world.org_a, Role.ORG_ADMIN)
    expired, _, _ = world.signer.issue(principal, -60)
    good = await login(http, world.admin_a)
    head, _, signature = good.rpartition(".")
    tampered = f"{head}.{signature[:-2]}{'AA' if not signature.endswith('AA') else 'BB'}"
    forged_payload = good.split(".")
    forged_payload[1] = forged_payload[1][:-1] + ("A" if forged_payload[1][-1] != "A" else "B")
    for token in (expired, tampered, ".".join(forged_payload), "not-a-token", "ffk_unknown_key"):
        r = await http.get("/admin/users", headers=bearer(token))
        assert (r.status_code, r.json()) == (401, NOT_AUTHENTICATED), token
        assert r.headers.get("www-authenticate") == "Bearer"


async def test_admin_users_create_list_delete(http: httpx.AsyncClient, world: World) -> None:
    token = await login(http, world.admin_a)
    name = f"new-{uuid.uuid4().hex[:6]}"
    body = {"username": name, "password": PASSWORD, "full_name": "New Person", "email": f"{name}@example.com"}
    r = await http.post("/admin/users", json=body, headers=bearer(token))
    assert r.status_code == 201, r.text
    assert set(r.json()) == USER_KEYS and r.json()["username"] == name and r.json()["full_name"] == "New Person"

    r = await http.post("/admin/users", json={**body, "email": ""}, headers=bearer(token))
    assert (r.status_code, r.json()) == (400, {"detail": "Username already exists"})

    listed = {u["username"] for u in (await http.get("/admin/users", headers=bearer(token))).json()}
    assert {name, world.admin_a.username, world.analyst_a.username} <= listed
    assert world.admin_b.username not in listed and world.root.username not in listed

    r = await http.delete(f"/admin/users/{world.admin_a.username}", headers=bearer(token))
    assert (r.status_code, r.json()) == (400, {"detail": "Cannot delete your own account"})
    r = await http.delete("/admin/users/nobody-at-all", headers=bearer(token))
    assert (r.status_code, r.json()) == (404, {"detail": "User not found"})
    # Another organisation's user does not exist from here.
    r = await http.delete(f"/admin/users/{world.admin_b.username}", headers=bearer(token))
    assert (r.status_code, r.json()) == (404, {"detail": "User not found"})
    r = await http.delete(f"/admin/users/{name}", headers=bearer(token))
    assert r.status_code == 200
    listed = {u["username"] for u in (await http.get("/admin/users", headers=bearer(token))).json()}
    assert name not in listed


async def test_analyst_cannot_manage_users(http: httpx.AsyncClient, world: World) -> None:
    token = await login(http, world.analyst_a)
    body = {"username": f"x-{uuid.uuid4().hex[:6]}", "password": PASSWORD, "full_name": "", "email": ""}
    assert (await http.post("/admin/users", json=body, headers=bearer(token))).status_code == 403
    assert (await http.get("/admin/users", headers=bearer(token))).status_code == 403
    assert (await http.get("/admin/logs", headers=bearer(token))).status_code == 403
    # Reading the organisation's cameras and alerts is an analyst's job.
    assert (await http.get("/alerts/count", headers=bearer(token))).json() == {"count": 0}


async def test_audit_log_says_who_what_and_from_where(http: httpx.AsyncClient, world: World) -> None:
    r = await http.post("/admin/login", json={"username": world.analyst_a.username, "password": "nope nope"})
    assert r.status_code == 401
    token = await login(http, world.admin_a)
    for path, default in (("/admin/logs", 100), ("/logs", 50)):
        r = await http.get(path, headers=bearer(token))
        assert r.status_code == 200, r.text
        entries = r.json()
        assert 0 < len(entries) <= default
        failure = next(
            e for e in entries if e["action"] == "auth.login" and e["actor"] == world.analyst_a.username
        )
        assert failure["outcome"] == "failure" and failure["ip"] == "127.0.0.1" and failure["level"] == "warning"
        assert {"timestamp", "message", "target", "detail"} <= set(failure)
    assert len((await http.get("/logs?limit=1", headers=bearer(token))).json()) == 1
    assert (await http.get("/logs?limit=0", headers=bearer(token))).status_code in (400, 422)


async def test_org_admin_sees_only_their_own_org(http: httpx.AsyncClient, world: World) -> None:
    await login(http, world.admin_b)  # an entry in org B's log
    token = await login(http, world.admin_a)
    logs = (await http.get("/admin/logs?limit=1000", headers=bearer(token))).json()
    assert all(e["org"] in (world.org_a, None) for e in logs)
    assert world.admin_b.username not in {e["actor"] for e in logs}
    # Naming the other organisation is refused, not honoured.
    forged = {**bearer(token), "X-Footfall-Org": world.org_b}
    for path in ("/admin/users", "/admin/logs", "/logs", "/cameras", "/admin/dashboard/stats"):
        assert (await http.get(path, headers=forged)).status_code == 403, path


async def test_platform_admin_may_act_on_another_org(http: httpx.AsyncClient, world: World) -> None:
    token = await login(http, world.root)
    r = await http.get("/admin/users", headers={**bearer(token), "X-Footfall-Org": world.org_b})
    assert r.status_code == 200
    listed = {u["username"] for u in r.json()}
    assert world.admin_b.username in listed and world.admin_a.username not in listed


async def test_dashboard_stats_and_camera_states(http: httpx.AsyncClient, world: World) -> None:
    token = await login(http, world.admin_a)
    r = await http.get("/admin/dashboard/stats", headers=bearer(token))
    assert r.status_code == 200, r.text
    stats = r.json()
    assert set(stats) == {"total_users", "active_users", "total_logs", "websocket_clients", "server_status"}
    assert stats["total_users"] >= 2 and stats["total_logs"] >= 1 and stats["server_status"] == "healthy"

    from footfall.graph.occupancy.client import OccupancyClient
    from footfall.graph.security.auth import Caller

    caller = Caller(Principal(world.admin_a.username, world.org_a, Role.ORG_ADMIN), token, world.org_a)
    key = f"CAM_{uuid.uuid4().hex[:6]}"
    await OccupancyClient(world.channel).create_camera(
        caller, camera_id=key, camera_name="Front door", location="Main Gate"
    )
    r = await http.get("/cameras", headers=bearer(token))
    assert r.status_code == 200, r.text
    state = next(c for c in r.json() if c["id"] == key)
    assert state == {"id": key, "name": "Front door", "status": "offline", "last_seen": None, "location": "Main Gate"}
    # Org B does not see it.
    other = await login(http, world.admin_b)
    assert key not in {c["id"] for c in (await http.get("/cameras", headers=bearer(other))).json()}

