"""Identity against the real stack: PostgreSQL and NATS (tests/conftest.py), the accounts (audit log),
customers (customer records) and identity services on one authenticating gRPC server on a free port, the
embedded Qdrant store in a temporary data directory, and the real face models on the shared photos.

Callers are the AuthKit's signed tokens. Face crop events are built the way vision builds them: the face
detected in a photo, cut out with a margin, its landmarks moved into the crop.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import cv2
import grpc
import pytest
from footfall.services.accounts.runtime import start_accounts
from footfall.services.core.config import Settings
from footfall.services.core.db import Database
from footfall.services.core.events import EventBus, make_envelope
from footfall.services.core.grpc import GrpcServer
from footfall.services.customers.runtime import start_customers
from footfall.services.customers.service import CustomersConfig
from footfall.services.identity.runtime import IdentityRuntime, start_identity
from footfall.v1 import (
    accounts_pb2,
    accounts_pb2_grpc,
    common_pb2,
    events_pb2,
    identity_pb2,
    identity_pb2_grpc,
)

from tests.conftest import AuthKit, serving_only, unique_org

FACES = "faces/face_recognition"
PHOTOS = {
    "obama": ["tests/test_images/obama.jpg", "tests/test_images/obama2.jpg", "tests/test_images/obama3.jpg",
              "examples/obama-480p.jpg", "examples/obama_small.jpg", "examples/knn_examples/test/obama1.jpg"],
    "biden": ["tests/test_images/biden.jpg", "examples/knn_examples/train/biden/biden2.jpg"],
    "alex": ["examples/alex-lacamoire.png", "examples/knn_examples/train/alex_lacamoire/img1.jpg",
             "examples/knn_examples/test/alex_lacamoire1.jpg"],
    "kit": ["examples/knn_examples/train/kit_harington/john1.jpeg",
            "examples/knn_examples/train/kit_harington/john2.jpeg"],
    "lin": ["examples/lin-manuel-miranda.png"],
}


class EventWatch:
    """Identity events of one organisation as they arrive on NATS (core subscription to the stream's subjects)."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[events_pb2.EventEnvelope] = asyncio.Queue()
        self.sub = None

    async def on_message(self, msg) -> None:  # type: ignore[no-untyped-def]
        envelope = events_pb2.EventEnvelope()
        envelope.ParseFromString(msg.data)
        self.queue.put_nowait(envelope)

    async def next(self, event_type: str, timeout: float = 60.0) -> events_pb2.EventEnvelope:
        """The next event of `event_type` (others before it are dropped)."""
        async with asyncio.timeout(timeout):
            while True:
                envelope = await self.queue.get()
                if envelope.type == event_type:
                    return envelope

    def pending(self, event_type: str) -> list[events_pb2.EventEnvelope]:
        found = []
        while not self.queue.empty():
            envelope = self.queue.get_nowait()
            if envelope.type == event_type:
                found.append(envelope)
        return found

    async def close(self) -> None:
        if self.sub is not None:
            await self.sub.unsubscribe()


@dataclass
class Stack:
    settings: Settings
    auth: AuthKit
    bus: EventBus
    channel: grpc.aio.Channel
    runtime: IdentityRuntime
    shared: Path
    db: Database
    watches: list[EventWatch] = field(default_factory=list)

    @property
    def identity(self) -> identity_pb2_grpc.IdentityServiceStub:
        return identity_pb2_grpc.IdentityServiceStub(self.channel)

    @property
    def accounts(self) -> accounts_pb2_grpc.AccountsServiceStub:
        return accounts_pb2_grpc.AccountsServiceStub(self.channel)

    def md(self, org: str, role: str = "org_admin"):  # type: ignore[no-untyped-def]
        return self.auth.metadata(org, role)

    def photo(self, person: str, index: int = 0) -> bytes:
        return (self.shared / FACES / PHOTOS[person][index]).read_bytes()

    async def watch(self, org: str) -> EventWatch:
        watch = EventWatch()
        watch.sub = await self.bus.nc.subscribe(self.bus.subject(org, "identity", "*"), cb=watch.on_message)
        self.watches.append(watch)
        return watch

    async def register(self, org: str, person: str, index: int = 0, *, name: str = "", consent: bool = True
                       ) -> identity_pb2.RegisterResponse:
        request = identity_pb2.RegisterRequest(name=name or person.title(), email=f"{person}-{uuid.uuid4().hex[:6]}@x.test",
                                               image=self.photo(person, index))
        if consent:
            request.consent.CopyFrom(identity_pb2.Consent(given_by=name or person, method="kiosk",
                                                          purpose="recognition_for_loyalty"))
        return await self.identity.Register(request, metadata=self.md(org))

    def crop_event(self, org: str, person: str, index: int, camera: str, track: str, *,
                   event_id: str | None = None, position: tuple[float, float] = (100.0, 300.0)
                   ) -> events_pb2.EventEnvelope:
        """A `vision.face_crop` event for the largest face of a photo, built as vision builds it."""
        frame = cv2.imread(str(self.shared / FACES / PHOTOS[person][index]))
        analyzer = self.runtime.deps.faces.analyzer()
        face = max(analyzer.detect(frame), key=lambda f: f.width * f.height)
        quality = analyzer.quality(frame, face)
        x1, y1, x2, y2 = (float(v) for v in face.box)
        mx, my = (x2 - x1) * 0.3, (y2 - y1) * 0.3
        left, top = max(0, int(x1 - mx)), max(0, int(y1 - my))
        right, bottom = min(frame.shape[1], int(x2 + mx)), min(frame.shape[0], int(y2 + my))
        ok, jpeg = cv2.imencode(".jpg", frame[top:bottom, left:right], [cv2.IMWRITE_JPEG_QUALITY, 90])
        assert ok
        payload = events_pb2.FaceCropObserved(
            camera_id=camera, track_id=track, crop_jpeg=bytes(jpeg), box_x1=x1 - left, box_y1=y1 - top,
            box_x2=x2 - left, box_y2=y2 - top, detection_score=face.score,
            landmarks=[common_pb2.Point(x=float(x) - left, y=float(y) - top) for x, y in face.landmarks],
            quality_score=quality.score, sharpness=quality.sharpness, face_size=quality.size, frontal=quality.frontal,
            position=common_pb2.Point(x=position[0], y=position[1]))
        payload.observed_at.FromDatetime(datetime.now(UTC))
        return make_envelope(org, "vision", "face_crop", payload, event_id=event_id)

    async def audit_actions(self, org: str) -> list[accounts_pb2.AuditEntry]:
        reply = await self.accounts.ListAuditLog(accounts_pb2.ListAuditLogRequest(limit=1000), metadata=self.md(org))
        return list(reply.entries)


@pytest.fixture(scope="session")
async def stack(tmp_path_factory: pytest.TempPathFactory, database_url: str, database: Database, nats_url: str,
                auth: AuthKit, shared_data: Path) -> AsyncIterator[Stack]:
    tag = uuid.uuid4().hex[:10]
    settings = Settings(
        data_dir=Path(tmp_path_factory.mktemp("identity-data")), database_url=database_url,
        default_org=unique_org("dflt"), rate_limit_enabled=False, **auth.settings_overrides(),  # type: ignore[arg-type]
    )
    bus = EventBus(nats_url, stream=f"I{tag.upper()}", subject_prefix=f"i{tag}")
    await bus.connect()
    server = GrpcServer("127.0.0.1", 0, authenticator=auth.authenticator)
    accounts = await start_accounts(settings, database, None, server)
    customers = await serving_only(await start_customers(
        settings, database, None, server, config=CustomersConfig(idle_flush_s=3600), consume=False))
    runtime = await start_identity(settings, database, bus, server, retention=False)
    port = await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    stack = Stack(settings, auth, bus, channel, runtime, shared_data, database)
    yield stack
    for watch in stack.watches:
        with contextlib.suppress(Exception):
            await watch.close()
    await channel.close()
    await runtime.stop()
    await customers.stop()
    stop_accounts = getattr(accounts, "stop", None)
    if stop_accounts is not None:
        await stop_accounts()
    await server.stop(0)
    with contextlib.suppress(Exception):
        await bus.js.delete_stream(bus.stream)
    await bus.close()
