"""The `personJoined` subscription over graphql-transport-ws on the real gateway: persons created through seed
003's REST route reach the analysts of their organisation, and nobody else's.

A subscription is known to be in place once a probe person created after it started arrives; probes are told
apart by the ids their creation answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import websockets
from footfall.v1 import common_pb2, identity_pb2, identity_pb2_grpc
from websockets.asyncio.client import ClientConnection

from tests.graph_identity.conftest import Account, Store

SUBSCRIPTION = """
subscription($camera: ID) {
  personJoined(cameraId: $camera) { id fullName age gender emotion bodyType cameraId occurredAt customerId }
}"""


class Subscriber:
    """One `personJoined` subscription; its websocket read in the background into a queue."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for raw in self.ws:
            msg = json.loads(raw)
            if msg.get("type") == "ping":
                await self.ws.send(json.dumps({"type": "pong"}))
            elif msg.get("type") != "pong":
                self.queue.put_nowait(msg)

    async def message(self, timeout: float = 15.0) -> dict[str, Any]:
        return await asyncio.wait_for(self.queue.get(), timeout)

    async def person(self, timeout: float = 15.0) -> dict[str, Any]:
        msg = await self.message(timeout)
        assert msg["type"] == "next" and not msg["payload"].get("errors"), msg
        return msg["payload"]["data"]["personJoined"]  # type: ignore[no-any-return]

    async def next_real(self, probes: set[str]) -> dict[str, Any]:
        """The next person that is not a probe (probes still in flight are skipped)."""
        while True:
            person = await self.person()
            if person["id"] not in probes:
                return person


@contextlib.asynccontextmanager
async def subscribed(store: Store, account: Account, camera: str | None = None) -> AsyncIterator[Subscriber]:
    url = store.base_url.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:
        init = {"authorization": f"Bearer {store.tokens[account.username]}"}
        await ws.send(json.dumps({"type": "connection_init", "payload": init}))
        subscriber = Subscriber(ws)
        ack = await subscriber.message()
        assert ack["type"] == "connection_ack", ack
        payload = {"query": SUBSCRIPTION, "variables": {"camera": camera}}
        await ws.send(json.dumps({"type": "subscribe", "id": "p", "payload": payload}))
        try:
            yield subscriber
        finally:
            subscriber.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, websockets.ConnectionClosed):
                await subscriber.task


async def create_person(http: httpx.AsyncClient, store: Store, account: Account, **fields: object) -> str:
    form = {k: str(v) for k, v in fields.items()}
    r = await http.post("/api/client/person/", data=form, headers=store.headers(account))
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def wait_until_subscribed(
    http: httpx.AsyncClient, store: Store, admin: Account, subscriber: Subscriber, probes: set[str]
) -> None:
    """Create probe persons until one arrives: the subscription is in place from then on."""
    for _ in range(100):
        probes.add(await create_person(http, store, admin, body_type="Probe"))
        with contextlib.suppress(TimeoutError):
            person = await subscriber.person(timeout=0.2)
            assert person["id"] in probes, person
            return
    raise AssertionError("the subscription never started")


async def test_an_analyst_sees_the_persons_joining_their_organisation_and_nobody_elses(
    store: Store, http: httpx.AsyncClient
) -> None:
    probes: set[str] = set()
    async with subscribed(store, store.analyst_a) as sub_a, subscribed(store, store.analyst_b) as sub_b:
        await wait_until_subscribed(http, store, store.admin_a, sub_a, probes)
        await wait_until_subscribed(http, store, store.admin_b, sub_b, probes)

        person_id = await create_person(
            http, store, store.admin_a, age=41, gender="Male", emotion="Happy", body_type="Athletic"
        )
        got = await sub_a.next_real(probes)
        assert got == {
            "id": person_id,
            "fullName": None,
            "age": 41,
            "gender": "Male",
            "emotion": "Happy",
            "bodyType": "Athletic",
            "cameraId": None,
            "occurredAt": got["occurredAt"],
            "customerId": None,
        }
        assert got["occurredAt"]

        # B's stream is ordered: B's own person created after A's arrives with nothing of A's before it
        marker = await create_person(http, store, store.admin_b, body_type="Marker")
        assert (await sub_b.next_real(probes))["id"] == marker


async def test_a_camera_filter_leaves_out_persons_first_seen_elsewhere(
    store: Store, http: httpx.AsyncClient
) -> None:
    identity = identity_pb2_grpc.IdentityServiceStub(store.channel)
    probes: set[str] = set()

    async def track(camera: str, object_id: str) -> str:
        """A new track on a camera starts a person there (the identity service announces it)."""
        objects = [identity_pb2.TrackedObjectUpdate(object_id=object_id, position=common_pb2.Point(x=3, y=4))]
        reply = await identity.Track(
            identity_pb2.TrackRequest(camera_id=camera, objects=objects),
            metadata=store.auth.metadata(store.admin_a.org),
        )
        return reply.person_ids[0]

    async with subscribed(store, store.analyst_a, camera="SUB_CAM") as sub:
        for n in range(100):
            probes.add(await track("SUB_CAM", f"probe-{uuid.uuid4()}"))
            with contextlib.suppress(TimeoutError):
                assert (await sub.person(timeout=0.2))["cameraId"] == "SUB_CAM"
                break
        else:
            raise AssertionError("the subscription never started")

        await create_person(http, store, store.admin_a, body_type="NoCamera")
        await track("OTHER_CAM", f"elsewhere-{uuid.uuid4()}")
        visitor = await track("SUB_CAM", f"visitor-{uuid.uuid4()}")
        got = await sub.next_real(probes)
        assert got["id"] == visitor and got["cameraId"] == "SUB_CAM"


async def test_a_device_may_not_subscribe(store: Store) -> None:
    url = store.base_url.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:
        token = store.auth.token(store.admin_a.org, "device")
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        )
        subscriber = Subscriber(ws)
        assert (await subscriber.message())["type"] == "connection_ack"
        await ws.send(json.dumps({"type": "subscribe", "id": "d", "payload": {"query": SUBSCRIPTION}}))
        msg = await subscriber.message()
        subscriber.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await subscriber.task
        errors = msg["payload"] if msg["type"] == "error" else msg["payload"].get("errors")
        assert errors and errors[0]["extensions"]["code"] == "FORBIDDEN", msg
