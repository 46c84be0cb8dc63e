"""The organisation's identity policy through the gateway (REST and GraphQL): off by default, read and set by org
admins only, every change in the audit log, and it is what lets `/auto-register` store a face."""

from __future__ import annotations

from typing import Any

import httpx

from tests.graph_identity.conftest import Account, Store

POLICY = "query { identityPolicy { autoRegister autoRegisterPurpose updatedAt updatedBy } }"
SET_POLICY = """mutation($on: Boolean!, $purpose: String!) {
  setIdentityPolicy(input: {autoRegister: $on, autoRegisterPurpose: $purpose}) {
    autoRegister autoRegisterPurpose updatedAt updatedBy
  }
}"""


async def _gql(
    http: httpx.AsyncClient, store: Store, account: Account, query: str, **variables: object
) -> dict[str, Any]:
    r = await http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=store.headers(account)
    )
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_policy_is_off_by_default_and_only_org_admins_read_or_change_it(
    store: Store, http: httpx.AsyncClient
) -> None:
    admin, analyst = store.headers(store.admin_a), store.headers(store.analyst_a)
    r = await http.get("/identity/policy", headers=admin)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "auto_register": False,
        "auto_register_purpose": "",
        "updated_at": None,
        "updated_by": None,
    }

    for method, body in (("GET", None), ("PUT", {"auto_register": True}), ("PUT", {})):
        r = await http.request(method, "/identity/policy", headers=analyst, json=body)
        assert r.status_code == 403, r.text
        assert set(r.json()) == {"detail"}
    r = await http.get("/identity/policy")
    assert r.status_code == 401
    for query, variables in ((POLICY, {}), (SET_POLICY, {"on": True, "purpose": "x"})):
        body = await _gql(http, store, store.analyst_a, query, **variables)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
    r = await http.get("/identity/policy", headers=admin)
    assert r.json()["auto_register"] is False, "a refused change changed nothing"

    for bad in (
        {},
        {"auto_register": "maybe"},
        {"auto_register": True, "auto_register_purpose": "x" * 201},
        {"auto_register": True, "auto_register_purpose": "a\x00b"},
    ):
        r = await http.put("/identity/policy", headers=admin, json=bad)
        assert r.status_code == 400 and set(r.json()) == {"detail"}, (bad, r.text)


async def test_an_admin_turns_auto_registration_on_and_off_audited(
    store: Store, http: httpx.AsyncClient
) -> None:
    admin = store.headers(store.admin_a)
    r = await http.post("/auto-register", headers=admin, json={"face_image_b64": store.photo_b64("kit")})
    assert r.status_code == 403

    r = await http.put(
        "/identity/policy",
        headers=admin,
        json={"auto_register": True, "auto_register_purpose": "loyalty enrolment"},
    )
    assert r.status_code == 200, r.text
    saved = r.json()
    assert saved["auto_register"] is True and saved["auto_register_purpose"] == "loyalty enrolment"
    assert saved["updated_by"] == f"user:{store.admin_a.username}" and saved["updated_at"]
    assert (await http.get("/identity/policy", headers=admin)).json() == saved
    # Another organisation's policy is its own.
    r = await http.get("/identity/policy", headers=store.headers(store.admin_c))
    assert r.json()["auto_register"] is False

    r = await http.post("/auto-register", headers=admin, json={"face_image_b64": store.photo_b64("kit")})
    assert r.status_code == 200, r.text

    data = (await _gql(http, store, store.admin_a, SET_POLICY, on=False, purpose=""))["data"]
    assert data["setIdentityPolicy"]["autoRegister"] is False
    read = (await _gql(http, store, store.admin_a, POLICY))["data"]["identityPolicy"]
    assert read == data["setIdentityPolicy"] and read["updatedBy"] == f"user:{store.admin_a.username}"
    r = await http.post("/auto-register", headers=admin, json={"face_image_b64": store.photo_b64("lin")})
    assert r.status_code == 403

    r = await http.get("/admin/logs", headers=admin, params={"limit": 100})
    assert r.status_code == 200, r.text
    changes = [e["detail"] for e in r.json() if e["action"] == "identity.set_policy"]  # newest first
    assert [(c["auto_register"], c["was_auto_register"]) for c in changes] == [(False, True), (True, False)]
    assert {c["requested_by"] for c in changes} == {f"user:{store.admin_a.username}"}, changes
