"""The vision service against real servers: NATS JetStream (tests/conftest.py), a gRPC server on a free port,
the real person detector, and the PETS 2009 video from the shared test data.

Every test acts in an organisation of its own and its own bus stream, so tests never see each other's
events. The detector is loaded once per session and shared by every service instance the tests start.
"""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import grpc
import numpy as np
import pytest
from nats.aio.msg import Msg

from footfall.v1 import events_pb2, vision_pb2, vision_pb2_grpc
from footfall.services.core.config import Settings
from footfall.services.core.events import EventBus
from footfall.services.core.grpc import GrpcServer
from footfall.services.vision.service import LinesProvider, VisionService
from footfall.services.vision.servicer import SERVICE_NAME, VisionServicer
from footfall.services.vision.source_policy import SourcePolicy
from tests.conftest import AuthKit, test_data_dir, unique_org

VIDEO = "video/pets2009_s2l1_480x360.avi"

_AUTH: list[AuthKit] = []


@pytest.fixture(autouse=True)
def vision_auth(auth: AuthKit) -> AuthKit:
    """Every vision test's servers authenticate with the session's kit (see start_vision_stack)."""
    if not _AUTH:
        _AUTH.append(auth)
    return auth


@pytest.fixture(scope="session")
def pets_video(shared_data: Path) -> Path:
    path = shared_data / VIDEO
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return path


@pytest.fixture(scope="session")
def detector() -> Any:
    from footfall.inference import load_person_detector

    return load_person_detector(threads=2)


@pytest.fixture(scope="session")
def pets_frames(pets_video: Path) -> Callable[[int, int], list[np.ndarray]]:
    """`frames(start, count)`: decoded BGR frames of the PETS video."""
    cache: dict[int, np.ndarray] = {}

    def frames(start: int, count: int = 1) -> list[np.ndarray]:
        if not all(i in cache for i in range(start, start + count)):
            cap = cv2.VideoCapture(str(pets_video))
            i = 0
            while i < start + count:
                ok, image = cap.read()
                assert ok, f"frame {i} of {pets_video} is not decodable"
                if i >= start:
                    cache[i] = image
                i += 1
            cap.release()
        return [cache[i] for i in range(start, start + count)]

    return frames


def jpeg(image: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return buf.tobytes()


@dataclass
class Collected:
    """Every message on `<prefix>.<org>.vision.>` (core NATS view, duplicates included)."""

    messages: list[tuple[str, events_pb2.EventEnvelope]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def of(self, event: str) -> list[events_pb2.EventEnvelope]:
        return [env for subject, env in self.messages if subject.endswith(f".vision.{event}")]

    async def wait_for(self, predicate: Callable[[Collected], bool], timeout: float = 30.0) -> None:
        async def loop() -> None:
            while not predicate(self):
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(loop(), timeout)


@dataclass
class Vision:
    service: VisionService
    server: GrpcServer
    port: int
    channel: grpc.aio.Channel
    stub: vision_pb2_grpc.VisionServiceStub
    bus: EventBus
    org: str
    events: Collected
    auth: AuthKit

    @property
    def md(self) -> Any:
        """An org admin of this stack's organisation."""
        return self.auth.metadata(self.org)

    async def wait_finished(self, camera_id: str, timeout: float = 240.0) -> vision_pb2.Stream:
        """Poll GetStream until the stream is stopped or failed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            reply = await self.stub.GetStream(vision_pb2.GetStreamRequest(camera_id=camera_id), metadata=self.md)
            if reply.stream.status in (vision_pb2.STREAM_STATUS_STOPPED, vision_pb2.STREAM_STATUS_FAILED):
                return reply.stream
            assert loop.time() < deadline, f"stream {camera_id} still {reply.stream.status} after {timeout}s"
            await asyncio.sleep(0.1)


def stream_sources() -> SourcePolicy:
    """Streams here read the shared footage and files the tests write under the temp folder, and may reach
    local test servers (a refused loopback URL is tested in tests/security)."""
    roots = [p for p in (test_data_dir(), Path(tempfile.gettempdir())) if p is not None]
    return SourcePolicy.from_settings(Settings(media_roots=roots, camera_networks=["127.0.0.0/8"]))


async def start_vision_stack(
    bus: EventBus, detector: Any, *, lines_provider: LinesProvider | None = None,
    load_detector: Callable[[], Any] | None = None, auth: AuthKit | None = None, **service_options: Any
) -> Vision:
    auth = auth or _AUTH[0]
    service_options.setdefault("sources", stream_sources())
    service = VisionService(bus, load_detector or (lambda: detector), lines_provider=lines_provider,
                            **service_options)
    await service.start()
    server = GrpcServer("127.0.0.1", 0, authenticator=auth.authenticator)
    org = unique_org("vis")
    server.add(vision_pb2_grpc.add_VisionServiceServicer_to_server, VisionServicer(service, org), SERVICE_NAME)
    port = await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    events = Collected()

    async def on_message(msg: Msg) -> None:
        envelope = events_pb2.EventEnvelope()
        envelope.ParseFromString(msg.data)
        events.messages.append((msg.subject, envelope))
        events.changed.set()

    await bus.nc.subscribe(f"{bus.prefix}.{org}.vision.>", cb=on_message)
    await bus.nc.flush()
    return Vision(service, server, port, channel, vision_pb2_grpc.VisionServiceStub(channel), bus, org, events, auth)


async def stop_vision_stack(v: Vision) -> None:
    await v.channel.close()
    await v.service.stop()
    await v.server.stop(0)


@pytest.fixture
async def vision(event_bus: EventBus, detector: Any) -> AsyncIterator[Vision]:
    v = await start_vision_stack(event_bus, detector)
    yield v
    await stop_vision_stack(v)


async def stream_message_count(bus: EventBus, subject: str) -> int:
    """How many messages JetStream stored on `subject` (duplicates dropped by Nats-Msg-Id are not counted)."""
    info = await bus.js.stream_info(bus.stream, subjects_filter=subject)
    return sum((info.state.subjects or {}).values())


def new_camera(prefix: str = "CAM") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:6].upper()}"
