"""The gateway's live-occupancy cache (graph/occupancy/live_cache.py, live_reads.py) against the real stack.

The occupancy service, PostgreSQL and NATS are real (tests/graph/conftest.py); the gateway's channel counts
the `GetLiveOccupancy` calls it makes, so a test can tell a read answered from memory from one that asked.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import grpc
import httpx
import pytest
from footfall.graph import occupancy
from footfall.graph.app import create_app
from footfall.graph.occupancy.live_cache import LiveOccupancyCache
from footfall.graph.occupancy.live_reads import camera_number
from footfall.services.core.config import Settings
from footfall.v1 import occupancy_pb2
from starlette.applications import Starlette

from tests.conftest import AuthKit, unique_org
from tests.graph.conftest import Stack, bearer, cross, gql, gql_data, http_client, make_camera, make_line

GET_LIVE = "/footfall.v1.OccupancyService/GetLiveOccupancy"
LIVE_QUERY = "query($id: ID!) { liveOccupancy(cameraId: $id) { cameraId currentOccupancy totalEntries totalExits } }"
LIVE_FIELDS = {"camera_id", "current_occupancy", "total_entries", "total_exits", "unique_persons", "last_updated"}


class CountingInterceptor(grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    """Counts the unary calls the gateway makes, by method."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    async def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        method = details.method.decode() if isinstance(details.method, bytes) else details.method
        self.calls[method] += 1
        return await continuation(details, request)


@dataclass
class Gateway:
    app: Starlette
    cache: LiveOccupancyCache
    calls: Counter[str]

    def client(self, auth: AuthKit, org: str, role: str = "org_admin") -> httpx.AsyncClient:
        return http_client(self.app, bearer(auth, org, role))


async def _gateway(settings: Settings, stack: Stack, auth: AuthKit, nats_url: str | None) -> AsyncIterator[Gateway]:
    counter = CountingInterceptor()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{stack.port}", interceptors=[counter])
    app = create_app(
        settings, channel, domains=(occupancy.DOMAIN,), authenticator=auth.authenticator, nats_url=nats_url
    )
    cache = app.state.live_occupancy
    await cache.start(app.state.nats_url)  # what the app's lifespan does
    try:
        yield Gateway(app, cache, counter.calls)
    finally:
        await cache.close()
        await channel.close()


@pytest.fixture
async def gateway(graph_settings: Settings, occupancy_stack: Stack, auth: AuthKit) -> AsyncIterator[Gateway]:
    async for gw in _gateway(graph_settings, occupancy_stack, auth, None):  # settings.nats_url: subscribed
        assert gw.cache.active
        yield gw


async def _until(condition: Callable[[], bool], what: str, timeout: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


async def _camera_with_a_crossing(gw: Gateway, c: httpx.AsyncClient, org: str, key: str) -> dict[str, Any]:
    """A camera whose first read filled the cache, then one entry, announced over NATS and held."""
    camera = await make_camera(c, key)
    line = await make_line(c, camera["id"], "entry")
    assert (await c.get(f"/api/occupancy/cameras/{camera['id']}/live")).json()["total_entries"] == 0
    assert (await cross(c, key, line["id"], "IN"))["applied"]
    await _until(lambda: (held := gw.cache.get(org, camera["id"])) is not None and held.total_entries == 1,
                 "the update notification")
    return camera


async def test_live_reads_come_from_the_notifications_without_asking_the_service(
    gateway: Gateway, auth: AuthKit, org: str
) -> None:
    async with gateway.client(auth, org) as c:
        camera = await _camera_with_a_crossing(gateway, c, org, "GATE_A")
        asked = gateway.calls[GET_LIVE]
        assert asked == 1  # the first read, before the camera was held
        for _ in range(3):
            r = await c.get(f"/api/occupancy/cameras/{camera['id']}/live")
            assert r.status_code == 200, r.text
            body = r.json()
            assert set(body) == LIVE_FIELDS
            assert (body["camera_id"], body["current_occupancy"], body["total_entries"]) == (camera["id"], 1, 1)
            assert body["last_updated"].endswith("Z")
            assert r.headers["content-type"] == "application/json"
            assert r.headers["x-content-type-options"] == "nosniff"  # inside the hardening layers
        for _ in range(2):
            live = (await gql_data(c, LIVE_QUERY, {"id": "GATE_A"}))["liveOccupancy"]
            assert live == {"cameraId": "GATE_A", "currentOccupancy": 1, "totalEntries": 1, "totalExits": 0}
        assert gateway.calls[GET_LIVE] == asked


async def test_a_held_answer_is_the_one_the_route_gives(
    gateway: Gateway, auth: AuthKit, org: str
) -> None:
    async with gateway.client(auth, org) as c:
        camera = await _camera_with_a_crossing(gateway, c, org, "GATE_A")
        path = f"/api/occupancy/cameras/{camera['id']}/live"
        held = await c.get(path)
        await gateway.cache.close()  # the feed is gone: nothing held is trusted, the route asks the service
        asked = gateway.calls[GET_LIVE]
        fresh = await c.get(path)
        assert gateway.calls[GET_LIVE] == asked + 1
        assert fresh.content == held.content
        assert fresh.headers["content-type"] == held.headers["content-type"]


async def test_the_cache_never_answers_for_another_organisation(
    gateway: Gateway, auth: AuthKit, org: str
) -> None:
    other = unique_org("other")
    async with gateway.client(auth, org) as mine, gateway.client(auth, other) as theirs:
        camera = await _camera_with_a_crossing(gateway, mine, org, "GATE_A")
        r = await theirs.get(f"/api/occupancy/cameras/{camera['id']}/live")
        assert r.status_code == 404, r.text
        body = await gql(theirs, LIVE_QUERY, {"id": "GATE_A"})
        assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        assert gateway.cache.get(other, camera["id"]) is None
        r = await mine.get(f"/api/occupancy/cameras/{camera['id']}/live", headers={"X-Footfall-Org": other})
        assert r.status_code == 403  # an org admin may not point at another organisation
    async with gateway.client(auth, unique_org("ops"), "platform_admin") as admin:
        r = await admin.get(f"/api/occupancy/cameras/{camera['id']}/live", headers={"X-Footfall-Org": org})
        assert r.status_code == 200 and r.json()["total_entries"] == 1  # acting on the camera's organisation
        r = await admin.get(f"/api/occupancy/cameras/{camera['id']}/live")
        assert r.status_code == 404  # their own organisation has no such camera


async def test_credentials_and_roles_are_checked_before_the_cache(
    gateway: Gateway, auth: AuthKit, org: str
) -> None:
    async with gateway.client(auth, org) as c:
        camera = await _camera_with_a_crossing(gateway, c, org, "GATE_A")
    path = f"/api/occupancy/cameras/{camera['id']}/live"
    async with http_client(gateway.app) as anonymous:
        r = await anonymous.get(path)
        assert (r.status_code, r.json()) == (401, {"detail": "Not authenticated"})
        r = await anonymous.get(path, headers={"Authorization": "Bearer not-a-token"})
        assert r.status_code == 401
    async with gateway.client(auth, org, "device") as device:  # feeds crossings in, may not read
        r = await device.get(path)
        assert r.status_code == 403, r.text
        body = await gql(device, LIVE_QUERY, {"id": "GATE_A"})
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    async with gateway.client(auth, org, "analyst") as analyst:
        asked = gateway.calls[GET_LIVE]
        assert (await analyst.get(path)).json()["total_entries"] == 1
        assert gateway.calls[GET_LIVE] == asked


async def test_paths_the_route_refuses_are_left_to_it(gateway: Gateway, auth: AuthKit, org: str) -> None:
    async with gateway.client(auth, org) as c:
        await _camera_with_a_crossing(gateway, c, org, "GATE_A")
        for bad in ("0", "-1", "1e3", "9" * 20, "\u0663"):
            r = await c.get(f"/api/occupancy/cameras/{bad}/live")
            assert r.status_code in (404, 422), (bad, r.status_code, r.text)
            assert "detail" in r.json()
    assert camera_number("/api/occupancy/cameras/0012/live") == 12
    assert camera_number("/api/occupancy/cameras/12/live/") is None


async def test_without_nats_every_read_asks_the_service(
    graph_settings: Settings, occupancy_stack: Stack, auth: AuthKit, org: str
) -> None:
    async for gw in _gateway(graph_settings, occupancy_stack, auth, ""):
        assert not gw.cache.active
        async with gw.client(auth, org) as c:
            camera = await make_camera(c, "GATE_A")
            for n in range(1, 4):
                r = await c.get(f"/api/occupancy/cameras/{camera['id']}/live")
                assert r.status_code == 200 and r.json()["camera_id"] == camera["id"]
                assert gw.calls[GET_LIVE] == n


async def test_entries_expire_and_older_updates_never_replace_newer(graph_settings: Settings) -> None:
    now = [100.0]
    cache = LiveOccupancyCache(2.0, subject_prefix=graph_settings.nats_subject_prefix, clock=lambda: now[0])
    await cache.start(graph_settings.nats_url)
    try:
        newer = occupancy_pb2.LiveOccupancy(camera_id=7, total_entries=5)
        newer.last_updated.FromSeconds(2000)
        older = occupancy_pb2.LiveOccupancy(camera_id=7, total_entries=4)
        older.last_updated.FromSeconds(1000)
        cache.put("acme", newer)
        cache.put("acme", older)  # a reply overtaken by a notification
        assert cache.get("acme", 7) == newer
        assert cache.get("other", 7) is None
        now[0] += 2.5
        assert cache.get("acme", 7) is None  # older than the freshness bound: ask the service
    finally:
        await cache.close()
    assert not cache.active
    cache.put("acme", newer)
    assert cache.get("acme", 7) is None  # not subscribed: nothing is held


async def test_a_notification_reaches_the_cache_of_its_organisation_only(
    graph_settings: Settings, occupancy_stack: Stack
) -> None:
    cache = LiveOccupancyCache(30.0, subject_prefix=graph_settings.nats_subject_prefix)
    await cache.start(graph_settings.nats_url)
    try:
        bus = occupancy_stack.bus
        update = occupancy_pb2.LiveOccupancy(camera_id=42, current_occupancy=3, total_entries=3)
        await bus.notify(bus.live_subject("acme", "occupancy", "updated"), update)
        await bus.notify(bus.live_subject("acme", "occupancy", "alert_raised"), update)  # not an update
        await bus.nc.publish(bus.live_subject("acme", "occupancy", "updated"), b"\xff\xff")  # undecodable
        await _until(lambda: cache.get("acme", 42) is not None, "the notification")
        assert cache.get("acme", 42) == update
        assert cache.get("globex", 42) is None
        assert len(cache) == 1
    finally:
        await cache.close()


ALIASED = ("query Live($cam: ID!) { now: liveOccupancy(cameraId: $cam) { __typename id: cameraId "
           "n: currentOccupancy totalEntries totalExits uniquePersons lastUpdated } }")
LIVE_DOCUMENTS: list[tuple[str, dict[str, Any] | None, str | None]] = [
    (LIVE_QUERY, {"id": "GATE_A"}, None),
    (ALIASED, {"cam": "GATE_A"}, "Live"),
    ('{ liveOccupancy(cameraId: "GATE_A") { lastUpdated cameraId } }', None, None),
]


async def test_a_held_graphql_answer_is_the_one_strawberry_gives(gateway: Gateway, auth: AuthKit, org: str) -> None:
    async with gateway.client(auth, org) as c:
        await _camera_with_a_crossing(gateway, c, org, "GATE_A")
        assert (await gql_data(c, LIVE_QUERY, {"id": "GATE_A"}))["liveOccupancy"]["totalEntries"] == 1
        asked = gateway.calls[GET_LIVE]
        held = []
        for query, variables, name in LIVE_DOCUMENTS:
            held.append(await c.post("/graphql", json={"query": query, "variables": variables, "operationName": name}))
        assert gateway.calls[GET_LIVE] == asked  # all from memory
        await gateway.cache.close()  # now Strawberry executes each, asking the service
        for (query, variables, name), from_memory in zip(LIVE_DOCUMENTS, held, strict=True):
            executed = await c.post("/graphql", json={"query": query, "variables": variables, "operationName": name})
            assert executed.status_code == from_memory.status_code == 200
            assert executed.content == from_memory.content, (executed.text, from_memory.text)
            assert executed.headers["content-type"] == from_memory.headers["content-type"]
            assert "errors" not in executed.json()
        assert gateway.calls[GET_LIVE] == asked + len(LIVE_DOCUMENTS)


async def test_other_documents_and_refusals_still_go_through_graphql(
    gateway: Gateway, auth: AuthKit, org: str
) -> None:
    async with gateway.client(auth, org) as c:
        await _camera_with_a_crossing(gateway, c, org, "GATE_A")
        asked = gateway.calls[GET_LIVE]
        both = '{ liveOccupancy(cameraId: "GATE_A") { totalEntries } cameras { totalCount } }'
        assert await gql_data(c, both) == {"liveOccupancy": {"totalEntries": 1}, "cameras": {"totalCount": 1}}
        body = await gql(c, "query($id: ID!) { liveOccupancy(cameraId: $id) { nope } }", {"id": "GATE_A"})
        assert "nope" in body["errors"][0]["message"]
        r = await c.post("/graphql", json={"query": LIVE_QUERY, "variables": {"id": "GATE_A"}, "operationName": "X"})
        assert r.status_code == 400 and r.text == 'Unknown operation named "X".'  # as Strawberry refuses it
        r = await c.post("/graphql", json={"query": LIVE_QUERY, "variables": {"id": 5}})
        assert r.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"  # an Int ID is coerced, then looked up
        assert gateway.calls[GET_LIVE] == asked  # the resolver read the held count too
    async with http_client(gateway.app) as anonymous:
        r = await anonymous.post("/graphql", json={"query": LIVE_QUERY, "variables": {"id": "GATE_A"}})
        assert (r.status_code, r.json()) == (401, {"detail": "Not authenticated"})


async def test_concurrent_misses_share_one_call_and_aging_entries_refresh_in_the_background(
    gateway: Gateway, auth: AuthKit, org: str
) -> None:
    async with gateway.client(auth, org) as c:
        camera = await make_camera(c, "GATE_A")
        path = f"/api/occupancy/cameras/{camera['id']}/live"
        replies = await asyncio.gather(*(c.get(path) for _ in range(20)))
        assert {r.status_code for r in replies} == {200}
        assert gateway.calls[GET_LIVE] == 1  # one call for the twenty
        deadline = asyncio.get_running_loop().time() + 10
        while gateway.calls[GET_LIVE] == 1:  # past half the freshness bound a read asks again, in the background
            assert asyncio.get_running_loop().time() < deadline, "no refresh"
            assert (await c.get(path)).status_code == 200
            await asyncio.sleep(0.02)
        await _until(lambda: gateway.cache.get(org, camera["id"]) is not None, "the refreshed entry")
        assert gateway.calls[GET_LIVE] == 2
