"""The admin GraphQL: organisations, users, API keys (shown once, revocable) and the audit log, by role."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from footfall.graph.accounts.verifier import AccountsVerifier
from footfall.services.core.errors import Unauthenticated
from tests.graph_accounts.conftest import PASSWORD, World, bearer, login

USERS = "{ users(first: 100) { totalCount nodes { username isActive memberships { org role } } pageInfo { hasNextPage } } }"


async def _as(http: httpx.AsyncClient, token: str, query: str, variables: dict[str, Any] | None = None) -> Any:
    r = await http.post("/graphql", json={"query": query, "variables": variables or {}}, headers=bearer(token))
    assert r.status_code == 200, r.text
    return r.json()


def _code(body: dict[str, Any]) -> str:
    return body["errors"][0]["extensions"]["code"]


async def test_org_admin_lists_own_users(http: httpx.AsyncClient, world: World) -> None:
    body = await _as(http, await login(http, world.admin_a), USERS)
    assert not body.get("errors"), body
    users = body["data"]["users"]
    names = {u["username"] for u in users["nodes"]}
    assert {world.admin_a.username, world.analyst_a.username} <= names
    assert world.admin_b.username not in names
    assert users["totalCount"] >= 2
    admin = next(u for u in users["nodes"] if u["username"] == world.admin_a.username)
    assert admin["memberships"] == [{"org": world.org_a, "role": "ORG_ADMIN"}]


async def test_analyst_is_forbidden_everywhere(http: httpx.AsyncClient, world: World) -> None:
    token = await login(http, world.analyst_a)
    assert _code(await _as(http, token, USERS)) == "FORBIDDEN"
    create = 'mutation { createApiKey(role: DEVICE, name: "cam") { key } }'
    assert _code(await _as(http, token, create)) == "FORBIDDEN"


async def test_only_platform_admins_create_organisations(http: httpx.AsyncClient, world: World) -> None:
    org = f"gql-{uuid.uuid4().hex[:6]}"
    mutation = "mutation($id: String!) { createOrganisation(id: $id, name: \"Shop\") { id name } }"
    denied = await _as(http, await login(http, world.admin_a), mutation, {"id": org})
    assert _code(denied) == "FORBIDDEN"
    created = await _as(http, await login(http, world.root), mutation, {"id": org})
    assert created["data"]["createOrganisation"] == {"id": org, "name": "Shop"}


async def test_api_key_lifecycle(http: httpx.AsyncClient, world: World) -> None:
    token = await login(http, world.admin_a)
    created = await _as(
        http, token, 'mutation { createApiKey(role: ANALYST, name: "wall screen") { key apiKey { id prefix role } } }'
    )
    assert not created.get("errors"), created
    key, meta = created["data"]["createApiKey"]["key"], created["data"]["createApiKey"]["apiKey"]
    assert key.startswith(meta["prefix"]) and meta["role"] == "ANALYST"

    # The key works as X-API-Key and as a Bearer token, for its org and role only.
    assert (await http.get("/alerts/count", headers={"X-API-Key": key})).status_code == 200
    assert (await http.get("/alerts/count", headers=bearer(key))).status_code == 200
    assert (await http.get("/admin/users", headers={"X-API-Key": key})).status_code == 403

    listed = await _as(http, token, "{ apiKeys { nodes { id name lastUsedAt revokedAt } } }")
    mine = next(k for k in listed["data"]["apiKeys"]["nodes"] if k["id"] == meta["id"])
    assert mine["name"] == "wall screen" and mine["revokedAt"] is None
    assert key not in str(listed)  # never shown again

    other = await _as(http, await login(http, world.admin_b), "{ apiKeys { nodes { id } } }")
    assert meta["id"] not in {k["id"] for k in other["data"]["apiKeys"]["nodes"]}
    revoke = "mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }"
    assert _code(await _as(http, await login(http, world.admin_b), revoke, {"id": meta["id"]})) == "NOT_FOUND"

    revoked = await _as(http, token, revoke, {"id": meta["id"]})
    assert revoked["data"]["revokeApiKey"]["revokedAt"]
    with pytest.raises(Unauthenticated):
        await AccountsVerifier(world.channel, world.settings).authenticate(key)


async def test_create_and_disable_user_then_audit(http: httpx.AsyncClient, world: World) -> None:
    token = await login(http, world.admin_a)
    name = f"gql-{uuid.uuid4().hex[:6]}"
    create = "mutation($i: CreateUserInput!) { createUser(input: $i) { username memberships { role } } }"
    body = await _as(http, token, create, {"i": {"username": name, "password": PASSWORD, "role": "ANALYST"}})
    assert body["data"]["createUser"] == {"username": name, "memberships": [{"role": "ANALYST"}]}
    # An org admin cannot mint a platform admin.
    body = await _as(http, token, create, {"i": {"username": f"{name}x", "password": PASSWORD, "role": "PLATFORM_ADMIN"}})
    assert _code(body) == "FORBIDDEN"
    disable = "mutation($u: String!) { disableUser(username: $u) { isActive } }"
    body = await _as(http, token, disable, {"u": name})
    assert body["data"]["disableUser"] == {"isActive": False}
    r = await http.post("/admin/login", json={"username": name, "password": PASSWORD})
    assert r.json() == {"detail": "User account is disabled"}

    log = await _as(http, token, "{ auditLog(first: 50) { totalCount nodes { actor action target outcome ip } } }")
    actions = {(e["action"], e["target"]) for e in log["data"]["auditLog"]["nodes"]}
    assert {("user.create", name), ("user.disable", name)} <= actions
    assert log["data"]["auditLog"]["totalCount"] >= 2


async def test_anonymous_graphql_is_401(http: httpx.AsyncClient) -> None:
    r = await http.post("/graphql", json={"query": USERS})
    assert (r.status_code, r.json()) == (401, {"detail": "Not authenticated"})


async def test_unencodable_text_is_bad_input(http: httpx.AsyncClient, world: World) -> None:
    query = "mutation($u: String!) { disableUser(username: $u) { isActive } }"
    raw = json.dumps({"query": query, "variables": {"u": "SURROGATE"}}).replace("SURROGATE", "\\ud800")
    headers = {**bearer(await login(http, world.admin_a)), "Content-Type": "application/json"}
    r = await http.post("/graphql", content=raw, headers=headers)
    assert r.status_code in (200, 400), r.text
    if r.status_code == 200:
        assert _code(r.json()) in ("BAD_USER_INPUT", "NOT_FOUND")
