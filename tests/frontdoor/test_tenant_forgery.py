"""Tenant forgery and credentials, over every route, GraphQL field, websocket and gRPC method there is.

The routes come from `/openapi.json`, the GraphQL fields from introspection, the gRPC methods from the
services' descriptors: whatever is added later is probed too. Org B's admin asks for org A's things (by A's
ids, or naming org A in `X-Footfall-Org`) and must be refused or see none of A's data; every row of A's data
carries A's org id, which is what "A's data" is looked for by.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import grpc
import httpx
import pytest
from footfall.services.core.principal import Principal, Role
from footfall.v1 import accounts_pb2, customers_pb2, occupancy_pb2, vision_pb2
from google.protobuf import json_format
from google.protobuf.message_factory import GetMessageClass

from tests.frontdoor.conftest import FrontDoor, OrgWorld
from tests.frontdoor.probes import (
    INTROSPECTION,
    LOGOUT_ROUTES,
    OPEN_ROUTES,
    WRITE_METHODS,
    GraphModel,
    Route,
    a_value,
    body_of,
    leaks,
    names_a_thing,
    path_with_a_ids,
    query_with_a_ids,
    routes,
    type_name,
)

FORGED = "X-Footfall-Org"
#: The routes a device (camera, edge box) may call: frames and tracks in, faces to recognise. A route added to
#: the platform that a device key reaches fails the roles test until it is added here, on purpose.
FEED_ROUTES = {"/process-frame", "/generate-embedding", "/recognize", "/register", "/auto-register", "/track",
               "/api/client/person/"}  # devices feed frames and faces (a kiosk registers with consent)
NOT_AUTHENTICATED = {"detail": "Not authenticated"}


@pytest.fixture(scope="module")
def doc(frontdoor: FrontDoor) -> dict[str, Any]:
    r = httpx.get(f"{frontdoor.base_url}/openapi.json", headers=frontdoor.a.admin.headers)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


@pytest.fixture
async def http(frontdoor: FrontDoor) -> Any:
    async with httpx.AsyncClient(base_url=frontdoor.base_url, timeout=30) as client:
        yield client


async def _call(http: httpx.AsyncClient, route: Route, headers: dict[str, str], *, path: str | None = None,
                params: dict[str, Any] | None = None, body: Any = None) -> httpx.Response:
    content = route.op.get("requestBody", {}).get("content", {})
    if content and "application/json" not in content:  # a form route: an empty form in its own media type
        form = "application/x-www-form-urlencoded"
        headers = {**headers, "Content-Type": form if form in content else next(iter(content))}
        return await http.request(route.method, path or _any_path(route), headers=headers, params=params,
                                  content=b"")
    json_body = body if body is not None else ({} if content else None)
    return await http.request(route.method, path or _any_path(route), headers=headers, params=params,
                              json=json_body)


def _any_path(route: Route) -> str:
    path = route.path
    for p in route.params("path"):
        path = path.replace("{" + p["name"] + "}", "1" if p.get("schema", {}).get("type") == "integer" else "x")
    return path


def _guarded(doc: dict[str, Any]) -> list[Route]:
    return [r for r in routes(doc) if (r.method, r.path) not in OPEN_ROUTES]


# --------------------------------------------------------------------------------------------------
# REST


async def test_rest_forged_org_header_is_refused(frontdoor: FrontDoor, doc: dict[str, Any], http: Any) -> None:
    fd, covered, wrong = frontdoor, 0, []
    for route in _guarded(doc):
        for person in (fd.b.admin, fd.b.analyst):
            r = await _call(http, route, {**person.headers, FORGED: fd.a.org})
            covered += 1
            if r.status_code != 403 or leaks(r.text, fd.a.org):
                wrong.append(f"{route.label} as {person.role}: {r.status_code} {r.text[:200]}")
        r = await _call(http, route, {"X-API-Key": fd.b.device_key, FORGED: fd.a.org})
        if r.status_code != 403:
            wrong.append(f"{route.label} as device: {r.status_code} {r.text[:200]}")
    print(f"\nREST forged X-Footfall-Org: {len(_guarded(doc))} routes, {covered} calls")
    assert not wrong, "\n".join(wrong)


async def test_rest_other_orgs_ids_are_refused(frontdoor: FrontDoor, doc: dict[str, Any], http: Any) -> None:
    fd, a, probed, wrong, unknown = frontdoor, frontdoor.a, 0, [], []
    before = await _a_state(http, fd)
    for route in _guarded(doc):
        if (route.method, route.path) in LOGOUT_ROUTES:
            continue
        names_a = names_a_thing(doc, route, a)
        if route.method in WRITE_METHODS and not names_a:
            continue  # a write naming nothing of A's acts on B's own org
        probed += 1
        path = path_with_a_ids(route, a)
        if "{" in path:
            unknown.append(route.label)
            continue
        r = await _call(http, route, fd.b.admin.headers, path=path,
                        params=query_with_a_ids(route, a, doc), body=body_of(doc, route, a))
        refused = r.status_code in (403, 404)
        if route.params("path") or (route.method in WRITE_METHODS and names_a):
            if not refused:
                wrong.append(f"{route.label} with A's ids: {r.status_code} {r.text[:200]}")
        elif r.status_code >= 300 and not refused:
            wrong.append(f"{route.label}: {r.status_code} {r.text[:200]}")
        if r.status_code < 300 and leaks(_body(r), a.org):
            wrong.append(f"{route.label} showed A's data: {leaks(_body(r), a.org)[:3]}")
    assert await _a_state(http, fd) == before, "B changed A's data"
    print(f"\nREST with A's ids as B's admin: {probed - len(unknown)} routes (of {len(_guarded(doc))}); "
          f"no id of A's seeded for: {unknown or 'none'} (add one to tests/frontdoor/conftest.py and probes.a_value)")
    assert not wrong, "\n".join(wrong)


def _body(r: httpx.Response) -> Any:
    try:
        return r.json()
    except ValueError:
        return r.text


async def _a_state(http: httpx.AsyncClient, fd: FrontDoor) -> Any:
    """What A's admin sees of the things B aimed at (each read must work: the ids are real)."""
    h, a, state = fd.a.admin.headers, fd.a, {}
    for path in (f"/api/occupancy/cameras/{a.camera_id}", f"/api/occupancy/lines/{a.line_id}",
                 f"/api/journeys/{a.journey_id}", "/api/webhooks", "/admin/users"):
        r = await http.get(path, headers=h)
        assert r.status_code == 200, f"{path}: {r.status_code} {r.text}"
        state[path] = r.json()
    return state


async def test_rest_anonymous_and_bad_tokens_get_401(frontdoor: FrontDoor, doc: dict[str, Any], http: Any) -> None:
    fd, wrong = frontdoor, []
    expired = _token(fd, fd.b.admin.username, fd.b.org, ttl=-60)
    good = fd.login(fd.b.admin)
    tampered = good[:-6] + ("AAAAAA" if not good.endswith("AAAAAA") else "BBBBBB")
    forged_claims = _forge_payload(good, org=fd.a.org)
    revoked = fd.login(fd.b.admin)
    assert (await http.post("/admin/logout", headers={"Authorization": f"Bearer {revoked}"})).status_code == 200
    credentials = {"anonymous": {}, "expired": _bearer(expired), "tampered": _bearer(tampered),
                   "re-signed claims": _bearer(forged_claims), "revoked": _bearer(revoked),
                   "unknown api key": {"X-API-Key": "ffk_0000_" + "x" * 40}}
    guarded = _guarded(doc)
    for route in guarded:
        for what, headers in credentials.items():
            r = await _call(http, route, headers)
            if r.status_code != 401:
                wrong.append(f"{route.label} {what}: {r.status_code} {r.text[:160]}")
            elif what == "anonymous" and r.json() != NOT_AUTHENTICATED and r.json() != {"error": "Not authenticated"}:
                wrong.append(f"{route.label} anonymous: body {r.text[:160]}")
    for method, path in OPEN_ROUTES:
        r = await http.request(method, path, json={} if method == "POST" else None)
        assert r.status_code != 401 or path != "/health", r.text
    for what, headers in credentials.items():
        r = await http.post("/graphql", headers=headers, json={"query": "{ __typename }"})
        if r.status_code != 401:
            wrong.append(f"GraphQL {what}: {r.status_code} {r.text[:160]}")
    print(f"\ncredentials: {len(guarded)} routes x {len(credentials)} bad credentials + GraphQL -> 401")
    assert not wrong, "\n".join(wrong)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _token(fd: FrontDoor, subject: str, org: str, ttl: int) -> str:
    signer = fd.platform.authenticator.signer
    principal = Principal(subject=subject, org=org, role=Role.ORG_ADMIN, kind="user", token_id=uuid.uuid4().hex)
    return str(signer.issue(principal, ttl, typ="access")[0])


def _forge_payload(token: str, **claims: Any) -> str:
    """The token with changed claims and its old signature (what a tenant editing its JWT would send)."""
    import base64

    head, payload, sig = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data.update(claims)
    body = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{head}.{body}.{sig}"


async def test_rest_roles(frontdoor: FrontDoor, doc: dict[str, Any], http: Any) -> None:
    """Analysts cannot write; devices can only feed (frames and faces: `FEED_ROUTES`)."""
    fd, wrong, writes = frontdoor, [], 0
    for route in _guarded(doc):
        if route.method in WRITE_METHODS and (route.method, route.path) not in LOGOUT_ROUTES:
            writes += 1
            r = await _call(http, route, fd.b.analyst.headers)
            if r.status_code != 403:
                wrong.append(f"analyst {route.label}: {r.status_code} {r.text[:160]}")
        if route.path in FEED_ROUTES:
            continue
        r = await _call(http, route, {"X-API-Key": fd.b.device_key})
        allowed = (400,) if (route.method, route.path) in LOGOUT_ROUTES else ()  # keys are revoked, not logged out
        if r.status_code != 403 and r.status_code not in allowed:
            wrong.append(f"device {route.label}: {r.status_code} {r.text[:160]}")
    print(f"\nroles: analyst refused on {writes} writing routes; device refused on all but {sorted(FEED_ROUTES)}")
    assert not wrong, "\n".join(wrong)


# --------------------------------------------------------------------------------------------------
# GraphQL


@pytest.fixture(scope="module")
def graph(frontdoor: FrontDoor) -> GraphModel:
    r = httpx.post(f"{frontdoor.base_url}/graphql", headers=frontdoor.a.admin.headers,
                   json={"query": INTROSPECTION})
    assert r.status_code == 200 and "errors" not in r.json(), r.text
    return GraphModel(r.json()["data"])


def _kind(name: str) -> str | None:
    n = name.lower().replace("_", "")
    for kind in ("apikey", "camera", "line", "alert", "journey", "webhook", "stream", "user", "org"):
        if kind in n:
            return kind
    return None


def _graph_ids(fd: FrontDoor, graph: GraphModel, headers: dict[str, str]) -> dict[str, list[Any]]:
    """The ids, by kind, that GraphQL shows on every list the caller can read without arguments."""
    found: dict[str, list[Any]] = {}

    def walk(v: Any) -> None:
        if isinstance(v, dict):
            kind = _kind(str(v.get("__typename", "")))
            if kind and "id" in v and v["id"] not in found.setdefault(kind, []):
                found[kind].append(v["id"])
            for item in v.values():
                walk(item)
        elif isinstance(v, list):
            for item in v:
                walk(item)

    for field in graph.fields("query"):
        if any(a["type"]["kind"] == "NON_NULL" and a["defaultValue"] is None and type_name(a["type"]) != "Int"
               for a in field["args"]):
            continue
        query, variables = graph.operation("query", field, lambda n, t: None)
        r = httpx.post(f"{fd.base_url}/graphql", headers=headers, json={"query": query, "variables": variables})
        walk(r.json().get("data"))
    return found


def _a_graph_ids(fd: FrontDoor, graph: GraphModel) -> dict[str, list[Any]]:
    """A's ids as GraphQL shows them, then the REST forms (database ids, A's own camera key) as fallbacks."""
    found = _graph_ids(fd, graph, fd.a.admin.headers)
    a = fd.a
    for kind, extra in (("camera", [a.vision_key, str(a.camera_id), a.camera_key]), ("line", [str(a.line_id)]),
                        ("alert", [str(a.alert_id)]), ("journey", [str(a.journey_id)]),
                        ("webhook", [str(a.webhook_id)]), ("user", [a.admin.username]), ("org", [a.org])):
        found.setdefault(kind, []).extend(x for x in extra if x not in found[kind])
    return found


def _picker(ids: dict[str, list[Any]], field_kind: str | None, variant: int) -> Any:
    def pick(name: str, graph_type: str) -> Any:
        n = name.lower()
        kind = field_kind if n in ("id", "ids") else _kind(n) if (n.endswith(("id", "ids", "key")) or n in (
            "username", "org", "camera", "line")) else None
        if kind is None or kind not in ids:
            return None
        candidates = ids[kind]
        value = candidates[variant % len(candidates)]
        if graph_type == "Int":
            return int(value) if str(value).isdigit() else None
        return str(value)

    return pick


def _variants(graph: GraphModel, field: dict[str, Any], ids: dict[str, list[Any]]) -> int:
    kind = _kind(type_name(field["type"])) or _kind(field["name"])
    names = [a["name"].lower() for a in field["args"]]
    counts = [len(ids.get(kind or "", [])) if n in ("id", "ids") else len(ids.get(_kind(n) or "", [])) for n in names]
    return max([1, *counts])


def _a_graph_leaks(data: Any, fd: FrontDoor, ids: dict[str, list[Any]], b_ids: dict[str, list[Any]],
                   sent: Any = None) -> list[str]:
    """A's org id in any text, or an object whose id is A's (and not also B's: camera keys are per org). A key
    B sent itself may come back as B's own (keys are per org): an echo of `sent` is not A's data."""
    echoed = set(leaks(sent, fd.a.org)) if sent is not None else set()
    found = [x for x in leaks(data, fd.a.org) if x not in echoed]
    a_ids = {(k, str(v)) for k, vs in ids.items() for v in vs if str(v) not in echoed}
    a_ids -= {(k, str(v)) for k, vs in b_ids.items() for v in vs}

    def walk(v: Any) -> None:
        if isinstance(v, dict):
            kind = _kind(str(v.get("__typename", "")))
            if kind and (kind, str(v.get("id"))) in a_ids and v.get("id") is not None:
                found.append(f"{v.get('__typename')} {v.get('id')}")
            for item in v.values():
                walk(item)
        elif isinstance(v, list):
            for item in v:
                walk(item)

    walk(data)
    return found


@pytest.mark.parametrize("kind", ["query", "mutation"])
async def test_graphql_fields_with_other_orgs_ids(frontdoor: FrontDoor, graph: GraphModel, http: Any,
                                                  kind: str) -> None:
    fd, wrong, calls = frontdoor, [], 0
    ids = _a_graph_ids(fd, graph)
    b_ids = _graph_ids(fd, graph, fd.b.admin.headers)
    before = await _a_state(http, fd)
    fields = graph.fields(kind)
    for field in fields:
        field_kind = _kind(type_name(field["type"])) or _kind(field["name"])
        for variant in range(_variants(graph, field, ids)):
            query, variables = graph.operation(kind, field, _picker(ids, field_kind, variant))
            # A fresh login per mutation: `logout` ends the token it is called with.
            token = fd.login(fd.b.admin) if kind == "mutation" else fd.b.admin.token
            r = await http.post("/graphql", headers=_bearer(token), json={"query": query, "variables": variables})
            calls += 1
            if r.status_code >= 500:
                wrong.append(f"{field['name']}: {r.status_code} {r.text[:200]}")
                continue
            found = _a_graph_leaks(r.json().get("data"), fd, ids, b_ids, variables)
            if found:
                wrong.append(f"{field['name']}{variables}: A's data {found[:3]}")
        forged = await http.post("/graphql", headers={**fd.b.admin.headers, FORGED: fd.a.org},
                                 json={"query": graph.operation(kind, field, lambda n, t: None)[0]})
        if forged.status_code != 403:
            wrong.append(f"{field['name']} with forged org: {forged.status_code} {forged.text[:200]}")
    assert await _a_state(http, fd) == before, "B changed A's data"
    print(f"\nGraphQL {kind}: {len(fields)} root fields, {calls} calls with A's ids, {len(fields)} forged-org calls")
    assert not wrong, "\n".join(wrong)


# --------------------------------------------------------------------------------------------------
# Websockets and subscriptions


async def _ws_outcome(url: str, headers: dict[str, str], first: dict[str, Any] | None = None,
                      subprotocols: list[str] | None = None, then: dict[str, Any] | None = None) -> list[Any]:
    """What a websocket client gets: ["refused", status] at the handshake, else the messages until closed (or
    two seconds of silence: nothing to see), then ["closed", code]."""
    import asyncio

    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed, InvalidStatus

    got: list[Any] = []
    try:
        async with connect(url, additional_headers=headers, subprotocols=subprotocols,  # type: ignore[arg-type]
                           open_timeout=10) as ws:
            for message in (first, then):
                if message is not None:
                    await ws.send(json.dumps(message))
                    try:
                        got.append(json.loads(await asyncio.wait_for(ws.recv(), 5)))
                    except TimeoutError:
                        got.append("silent")
            try:
                while True:
                    got.append(json.loads(await asyncio.wait_for(ws.recv(), 2)))
            except TimeoutError:
                got.append("silent")
    except InvalidStatus as err:
        return ["refused", err.response.status_code]
    except ConnectionClosed as err:
        got.append(["closed", err.rcvd.code if err.rcvd else None])
    return got


async def test_websockets_refuse_forged_org(frontdoor: FrontDoor, graph: GraphModel) -> None:
    fd = frontdoor
    ws = fd.base_url.replace("http://", "ws://")
    forged = {**fd.b.admin.headers, FORGED: fd.a.org}
    wrong = []
    tracking = await _ws_outcome(f"{ws}/ws/tracking?camera_id={fd.a.vision_key}", forged)
    dashboard = await _ws_outcome(f"{ws}/ws/dashboard", forged)
    gql_forged = await _ws_outcome(f"{ws}/graphql", forged, {"type": "connection_init"}, ["graphql-transport-ws"])
    gql_param = await _ws_outcome(f"{ws}/graphql", {}, {"type": "connection_init", "payload": {
        "authorization": f"Bearer {fd.b.admin.token}", "org": fd.a.org}}, ["graphql-transport-ws"])
    anonymous = await _ws_outcome(f"{ws}/ws/tracking?camera_id={fd.b.vision_key}", {})
    for name, outcome in (("/ws/tracking", tracking), ("/ws/dashboard", dashboard), ("graphql ws header", gql_forged),
                          ("graphql ws payload", gql_param), ("anonymous /ws/tracking", anonymous)):
        data = [m for m in outcome if isinstance(m, dict) and m.get("type") not in ("error", "connection_error")]
        if outcome[:1] != ["refused"] and data or leaks(outcome, fd.a.org):
            wrong.append(f"{name}: {outcome}")
    # As B (no forgery), A's camera is not B's: nothing of A's streams out.
    own = await _ws_outcome(f"{ws}/ws/tracking?camera_id={fd.a.vision_key}", fd.b.admin.headers)
    if leaks(own, fd.a.org):
        wrong.append(f"/ws/tracking of A's camera as B: {own}")
    subs = graph.fields("subscription")
    ids = _a_graph_ids(fd, graph)
    b_ids = _graph_ids(fd, graph, fd.b.admin.headers)
    for field in subs:
        kind = _kind(type_name(field["type"])) or _kind(field["name"])
        query, variables = graph.operation("subscription", field, _picker(ids, kind, 0))
        init = {"type": "connection_init", "payload": {"authorization": f"Bearer {fd.b.admin.token}"}}
        outcome = await _ws_outcome(f"{ws}/graphql", {}, init, ["graphql-transport-ws"], {
            "id": "1", "type": "subscribe", "payload": {"query": query, "variables": variables}})
        data = [m["payload"].get("data") for m in outcome if isinstance(m, dict) and m.get("type") == "next"]
        if _a_graph_leaks(data, fd, ids, b_ids, variables):
            wrong.append(f"subscription {field['name']} with A's ids: {outcome}")
        forged_init = {"type": "connection_init", "payload": {"authorization": f"Bearer {fd.b.admin.token}",
                                                              "org": fd.a.org}}
        outcome = await _ws_outcome(f"{ws}/graphql", {}, forged_init, ["graphql-transport-ws"], {
            "id": "1", "type": "subscribe", "payload": {"query": query, "variables": variables}})
        if any(isinstance(m, dict) and m.get("type") == "next" for m in outcome):
            wrong.append(f"subscription {field['name']} with forged org: {outcome}")
    print(f"\nwebsocket outcomes with a forged org: tracking {tracking}, dashboard {dashboard}, graphql {gql_forged}"
          f" / {gql_param}; anonymous tracking {anonymous}")
    print(f"websockets: /ws/tracking, /ws/dashboard, GraphQL ws (header and payload org); "
          f"{len(subs)} subscriptions with A's ids and with a forged org")
    assert not wrong, "\n".join(wrong)


# --------------------------------------------------------------------------------------------------
# gRPC

OPEN_METHODS = {"/footfall.v1.AccountsService/Login", "/footfall.v1.AccountsService/Logout",
                "/footfall.v1.AccountsService/Authenticate"}


def _methods() -> list[tuple[str, Any]]:
    out = []
    for module in (accounts_pb2, occupancy_pb2, customers_pb2, vision_pb2):
        for service in module.DESCRIPTOR.services_by_name.values():
            for method in service.methods:
                out.append((f"/{service.full_name}/{method.name}", method))
    return out


async def _grpc_code(channel: grpc.aio.Channel, name: str, method: Any, metadata: Any,
                     request: Any = None) -> tuple[grpc.StatusCode, Any]:
    request_cls = GetMessageClass(method.input_type)
    response_cls = GetMessageClass(method.output_type)
    request = request if request is not None else request_cls()
    kw = {"request_serializer": request_cls.SerializeToString, "response_deserializer": response_cls.FromString}
    try:
        if method.client_streaming:
            requests = iter([request])
            if method.server_streaming:
                call = channel.stream_stream(name, **kw)(requests, metadata=metadata, timeout=10)
                async for reply in call:
                    return grpc.StatusCode.OK, reply
            else:
                return grpc.StatusCode.OK, await channel.stream_unary(name, **kw)(requests, metadata=metadata,
                                                                                  timeout=10)
        elif method.server_streaming:
            call = channel.unary_stream(name, **kw)(request, metadata=metadata, timeout=5)
            async for reply in call:
                call.cancel()
                return grpc.StatusCode.OK, reply
        else:
            return grpc.StatusCode.OK, await channel.unary_unary(name, **kw)(request, metadata=metadata, timeout=10)
    except grpc.aio.AioRpcError as err:
        return err.code(), None
    return grpc.StatusCode.OK, None


async def test_grpc_every_method(frontdoor: FrontDoor) -> None:
    fd, wrong, probed = frontdoor, [], 0
    methods = _methods()
    forged = (("authorization", f"Bearer {fd.b.admin.token}"), ("x-footfall-org", fd.a.org))
    forged_device = (("authorization", f"Bearer {fd.b.device_key}"), ("x-footfall-org", fd.a.org))
    async with grpc.aio.insecure_channel(fd.grpc_target) as channel:
        for name, method in methods:
            if name in OPEN_METHODS:
                continue
            for who, metadata, expected in (("B forging A", forged, grpc.StatusCode.PERMISSION_DENIED),
                                            ("B's device forging A", forged_device, grpc.StatusCode.PERMISSION_DENIED),
                                            ("anonymous", (), grpc.StatusCode.UNAUTHENTICATED),
                                            ("garbage token", (("authorization", "Bearer x.y.z"),),
                                             grpc.StatusCode.UNAUTHENTICATED)):
                code, _ = await _grpc_code(channel, name, method, metadata)
                if code != expected:
                    wrong.append(f"{name} {who}: {code}")
            # B's own credential, naming A's things in the request: never A's data.
            request = _request_with_a_ids(method, fd.a)
            if request is not None:
                probed += 1
                code, reply = await _grpc_code(channel, name, method,
                                               (("authorization", f"Bearer {fd.b.admin.token}"),), request)
                one_thing = {f.name for f, _ in request.ListFields()} & {"id", "username"}
                shown = leaks(json_format.MessageToDict(reply), fd.a.org) if reply is not None else []
                if code == grpc.StatusCode.OK and (one_thing or shown):
                    wrong.append(f"{name} with A's ids as B: OK {shown[:3]}")
        # Health and reflection stay open; Login answers anonymous callers.
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
    guarded = len([m for m in methods if m[0] not in OPEN_METHODS])
    print(f"\ngRPC: {guarded} methods x (forged org as admin and as device, anonymous, garbage token); "
          f"{len(OPEN_METHODS)} open; {probed} methods called as B with A's ids")
    assert not wrong, "\n".join(wrong)


def _request_with_a_ids(method: Any, a: OrgWorld) -> Any:
    """The request with A's ids and keys in its fields; None for calls that create things (a key names a new
    thing in the caller's own org) or name none of A's."""
    if method.name.startswith(("Create", "Record", "Start", "Process", "Push")):
        return None
    cls = GetMessageClass(method.input_type)
    values = {}
    for f in method.input_type.fields:
        is_int = f.type in (f.TYPE_INT64, f.TYPE_INT32, f.TYPE_UINT64, f.TYPE_UINT32)
        name = "camera_id" if f.name == "id" and "Camera" in method.name else \
            f"{method.name.removeprefix('Get').removeprefix('Update').removeprefix('Resolve').lower()}_id" \
            if f.name == "id" else f.name
        value = a_value(name, {"type": "integer" if is_int else "string"}, a)
        if value is not None and not f.is_repeated:
            values[f.name] = value
    return json_format.ParseDict(values, cls()) if values else None

