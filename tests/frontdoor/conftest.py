"""The front door under test: one realistic platform for the whole session, reached only through its sockets.

PostgreSQL and NATS come from tests/conftest.py; `footfall.deploy.platform.Platform` starts the accounts,
occupancy, customers and vision services on one authenticating gRPC server and builds the gateway
(`footfall.graph.app.create_app`), which uvicorn serves on a free port. All of it runs on an event loop in a
thread of its own, so synchronous tests (schemathesis) and async tests (websockets, gRPC) both talk to it as
any client would.

Two organisations, A and B, each with an org admin and an analyst (logged in with `POST /admin/login`), a
device API key, and data: a camera with a line, crossings fed by the device (over capacity: an alert), two
journeys, a point-of-sale transaction and a webhook with an https target. One platform admin.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import threading
import uuid
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import cv2
import grpc
import httpx
import numpy as np
import pytest
import uvicorn
from footfall.deploy.platform import Platform
from footfall.services.core.config import Settings
from footfall.services.core.embedded import free_port
from footfall.services.core.principal import Role
from footfall.v1 import common_pb2, occupancy_pb2, occupancy_pb2_grpc
from google.protobuf.timestamp_pb2 import Timestamp

from tests.conftest import AuthKit, unique_org
from tests.customers.factories import tick, visit_events

T = TypeVar("T")
PASSWORD = "correct horse battery staple"
T0 = 1_700_200_000.0  # journeys: 2023-11-17T05:46:40Z
CAMERA_KEY = "GATE_A"  # the same external key in both orgs: ids, not keys, must keep them apart


@dataclass
class Person:
    username: str
    email: str
    role: Role
    token: str = ""

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class OrgWorld:
    """One organisation's people, credentials and the ids of its data."""

    org: str
    admin: Person
    analyst: Person
    device_key: str = ""
    camera_id: int = 0  # database id
    camera_key: str = CAMERA_KEY
    # A camera key only this org uses (vision tracks, journeys): every row of the org's data names the org.
    vision_key: str = ""
    line_id: int = 0
    alert_id: int = 0
    journey_id: int = 0
    webhook_id: int = 0
    transaction_id: str = ""
    ids: dict[str, Any] = field(default_factory=dict)

    @property
    def device_headers(self) -> dict[str, str]:
        return {"X-API-Key": self.device_key}


class LoopThread:
    """An event loop running in its own thread; `call(coro)` runs a coroutine there and waits for it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="frontdoor-stack", daemon=True)
        self.thread.start()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 180) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@dataclass
class FrontDoor:
    settings: Settings
    platform: Platform
    runner: LoopThread
    base_url: str
    grpc_target: str
    root: Person
    a: OrgWorld
    b: OrgWorld

    def login(self, person: Person) -> str:
        """A fresh access token for `person` (a real `POST /admin/login`)."""
        r = httpx.post(f"{self.base_url}/admin/login", json={"username": person.username, "password": PASSWORD})
        assert r.status_code == 200, r.text
        token: str = r.json()["access_token"]
        return token


def frame_b64(width: int = 160, height: int = 120) -> str:
    """A small real JPEG (a grey frame with a dark figure), base64."""
    image = np.full((height, width, 3), 200, np.uint8)
    cv2.rectangle(image, (60, 20), (90, 110), (40, 40, 40), -1)
    ok, buf = cv2.imencode(".jpg", image)
    assert ok
    return base64.b64encode(buf.tobytes()).decode()


def _settings(tmp: Path, database_url: str, nats_url: str, auth: AuthKit) -> Settings:
    tag = uuid.uuid4().hex[:10]
    return Settings(
        data_dir=tmp,
        database_url=database_url,
        nats_url=nats_url,
        nats_stream=f"FD{tag.upper()}",
        nats_subject_prefix=f"fd{tag}",
        http_host="127.0.0.1",
        http_port=free_port(),
        grpc_host="127.0.0.1",
        grpc_port=0,
        default_org=unique_org("fdroot"),
        admin_username=f"root-{tag[:6]}",
        admin_password=PASSWORD,
        admin_email=f"root-{tag[:6]}@example.com",
        **auth.settings_overrides(),  # type: ignore[arg-type]  # one signing key per test process
        allowed_origins=["https://admin.example.com"],
        # The limits themselves are tested in tests/security; here they must not stop thousands of calls.
        rate_limit_default="1000000/hour",
        rate_limit_login="100000/minute",
        rate_limit_statistics="1000000/hour",
    )


async def _serve(platform: Platform, port: int) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    config = uvicorn.Config(
        platform.app, host="127.0.0.1", port=port, ws="websockets-sansio", lifespan="on", log_level="warning"
    )
    server = uvicorn.Server(config)
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign]  # pytest owns the signals
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    return server, task


async def _people(platform: Platform, org: str) -> OrgWorld:
    accounts = platform.runtimes["accounts"].accounts  # type: ignore[attr-defined]
    await accounts.ensure_org(org)
    people = []
    for role, tag in ((Role.ORG_ADMIN, "admin"), (Role.ANALYST, "analyst")):
        name = f"{tag}-{org}"
        await accounts.create_user(None, org, username=name, email=f"{name}@example.com",
                                   full_name=f"{tag.title()} of {org}", password=PASSWORD, role=role)
        people.append(Person(name, f"{name}@example.com", role))
    world = OrgWorld(org, *people, vision_key=f"cam-{org}")
    _, world.device_key = await accounts.create_api_key(None, org, Role.DEVICE, f"door-{org}")
    return world


async def _login(http: httpx.AsyncClient, person: Person) -> None:
    r = await http.post("/admin/login", json={"username": person.username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    person.token = r.json()["access_token"]


async def _data(platform: Platform, http: httpx.AsyncClient, grpc_target: str, w: OrgWorld) -> None:
    """The org's data, made as its users and device would make it."""
    h = w.admin.headers
    r = await http.post("/api/occupancy/cameras", headers=h, json={
        "camera_id": w.camera_key, "camera_name": f"Gate of {w.org}", "location": "Main Gate",
        "camera_type": "entry_only", "max_occupancy": 2, "resolution_width": 1920, "resolution_height": 1080})
    assert r.status_code == 201, r.text
    w.camera_id = r.json()["id"]
    r = await http.post("/api/occupancy/lines", headers=h, json={
        "camera_id": w.camera_id, "line_name": "Entrance", "x1": 0, "y1": 300, "x2": 1920, "y2": 300,
        "direction": "entry", "confidence_threshold": 0.5})
    assert r.status_code == 201, r.text
    w.line_id = r.json()["id"]

    # Three people in through a camera for two: the device feeds the crossings, occupancy raises an alert.
    async with grpc.aio.insecure_channel(grpc_target) as channel:
        stub = occupancy_pb2_grpc.OccupancyServiceStub(channel)
        for i in range(3):
            at = Timestamp()
            at.GetCurrentTime()
            await stub.RecordCrossing(
                occupancy_pb2.RecordCrossingRequest(
                    event_id=str(uuid.uuid4()), camera_id=w.camera_key, line_id=w.line_id, line_name="Entrance",
                    direction=common_pb2.CROSSING_DIRECTION_IN, track_id=f"p{i}", confidence=0.9, occurred_at=at),
                metadata=(("authorization", f"Bearer {w.device_key}"),), timeout=10)
    r = await http.get("/api/occupancy/alerts", headers=h)
    assert r.status_code == 200 and r.json(), r.text
    w.alert_id = r.json()[0]["id"]

    customers = platform.runtimes["customers"].customers  # type: ignore[attr-defined]
    events = []
    for i in range(2):
        start = T0 + i * 600
        events += visit_events(w.vision_key, f"t{i}", start, start + 90,
                               [("shelves", start + 5, start + 40), ("checkout", start + 45, start + 85)])
    await customers.apply_vision_events(w.org, [*events, tick(w.vision_key, T0 + 3000)])
    r = await http.get("/api/journeys", headers=h)
    assert r.status_code == 200, r.text
    journeys = r.json()["journeys"] if isinstance(r.json(), dict) else r.json()
    assert journeys, r.text
    w.journey_id = journeys[0]["id"]

    w.transaction_id = f"receipt-{w.org}"
    r = await http.post("/api/transactions", headers=h, json={
        "transaction_id": w.transaction_id, "transaction_time": T0 + 80, "amount": 19.99, "currency": "EUR",
        "zone_name": "checkout", "camera_id": w.vision_key})
    assert r.status_code < 300, r.text
    r = await http.post("/api/webhooks", headers=h, json={
        "url": f"https://hooks.example.com/{w.org}", "events": ["journey_complete"]})
    assert r.status_code == 201, r.text
    w.webhook_id = r.json()["id"]

    # The device feeds one real frame (and the detector is loaded by then).
    r = await http.post("/process-frame", headers=w.device_headers,
                        json={"frame_b64": frame_b64(), "camera_id": w.vision_key})
    assert r.status_code == 200, r.text


async def _start(settings: Settings) -> tuple[Platform, uvicorn.Server, asyncio.Task[None], OrgWorld, OrgWorld,
                                              Person]:
    platform = Platform(settings)
    await platform.start()
    await platform.runtimes["vision"].service.engine.load()  # type: ignore[attr-defined]
    server, task = await _serve(platform, settings.http_port)
    grpc_target = f"127.0.0.1:{platform.grpc_port}"
    a = await _people(platform, unique_org("fda"))
    b = await _people(platform, unique_org("fdb"))
    root = Person(settings.admin_username, settings.admin_email, Role.PLATFORM_ADMIN)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.http_port}", timeout=60) as http:
        for person in (root, a.admin, a.analyst, b.admin, b.analyst):
            await _login(http, person)
        for w in (a, b):
            await _data(platform, http, grpc_target, w)
    return platform, server, task, a, b, root


async def _stop(platform: Platform, server: uvicorn.Server, task: asyncio.Task[None]) -> None:
    server.should_exit = True
    with contextlib.suppress(Exception):
        await asyncio.wait_for(task, 15)
    await platform.stop()
    with contextlib.suppress(Exception):
        await platform.infra.bus.js.delete_stream(platform.settings.nats_stream)  # type: ignore[union-attr]


@pytest.fixture(scope="session")
def frontdoor(
    tmp_path_factory: pytest.TempPathFactory, database_url: str, nats_url: str, auth: AuthKit
) -> Iterator[FrontDoor]:
    settings = _settings(Path(tmp_path_factory.mktemp("frontdoor")), database_url, nats_url, auth)
    runner = LoopThread()
    try:
        platform, server, task, a, b, root = runner.call(_start(settings))
    except BaseException:
        runner.close()
        raise
    yield FrontDoor(settings, platform, runner, f"http://127.0.0.1:{settings.http_port}",
                    f"127.0.0.1:{platform.grpc_port}", root, a, b)
    try:
        runner.call(_stop(platform, server, task), timeout=60)
    finally:
        runner.close()
