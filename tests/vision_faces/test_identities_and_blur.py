"""A recognition from the identity service (on real NATS) attaches a real customer (from the real customers
service over gRPC) to a tracked person in every track view; blurring hides the faces of outgoing frames."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import cv2
import grpc
import httpx
import numpy as np
import pytest
from footfall.graph import vision as vision_domain
from footfall.graph.app import create_app
from footfall.v1 import customers_pb2, customers_pb2_grpc, events_pb2, vision_pb2

from footfall.services.core.config import Settings
from footfall.services.core.db import Database
from footfall.services.core.events import EventBus
from footfall.services.core.grpc import GrpcServer
from footfall.services.customers.runtime import start_customers
from footfall.services.vision.identities import GrpcCustomerDirectory, IdentityListener
from tests.conftest import AuthKit
from tests.vision_faces.conftest import face_engine
from tests.vision_service.conftest import Vision, jpeg, new_camera, start_vision_stack, stop_vision_stack

pytestmark = pytest.mark.data


def clip_frames(clip: Path, start: int, count: int) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(clip))
    frames = []
    index = 0
    while len(frames) < count:
        ok, image = cap.read()
        assert ok, f"frame {index} of {clip} is not decodable"
        if index >= start:
            frames.append(image)
        index += 1
    cap.release()
    return frames


@pytest.fixture
async def customers(database: Database, auth: AuthKit) -> AsyncIterator[str]:
    """The customers service on a gRPC server of its own; yields its address."""
    server = GrpcServer("127.0.0.1", 0, authenticator=auth.authenticator)
    runtime = await start_customers(Settings(), database, None, server, consume=False)
    port = await server.start()
    yield f"127.0.0.1:{port}"
    await runtime.stop()
    await server.stop(0)


@pytest.fixture
async def stack(event_bus: EventBus, detector: Any, face_analyzer: Any, customers: str,
                tmp_path: Path) -> AsyncIterator[tuple[Vision, IdentityListener, httpx.AsyncClient]]:
    vision = await start_vision_stack(event_bus, detector, faces=face_engine(face_analyzer))
    listener = IdentityListener(event_bus, vision.service, GrpcCustomerDirectory(lambda: customers))
    await listener.start()
    app = create_app(Settings(data_dir=tmp_path, default_org=vision.org, rate_limit_enabled=False), vision.channel,
                     domains=(vision_domain.DOMAIN,), authenticator=vision.auth.authenticator)
    token = vision.auth.token(vision.org, "org_admin")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver",
                                 headers={"Authorization": f"Bearer {token}"}) as client:
        yield vision, listener, client
    await listener.stop()
    await stop_vision_stack(vision)


async def push(client: httpx.AsyncClient, camera: str, image: np.ndarray) -> dict[str, Any]:
    r = await client.post("/process-frame", json={"frame_b64": base64.b64encode(jpeg(image)).decode(),
                                                  "camera_id": camera})
    assert r.status_code == 200, r.text
    return r.json()


async def until(predicate: Any, timeout: float = 20.0) -> None:
    async def loop() -> None:
        while not await predicate():
            await asyncio.sleep(0.05)

    await asyncio.wait_for(loop(), timeout)


async def test_a_recognised_customer_appears_on_the_track(
    stack: tuple[Vision, IdentityListener, httpx.AsyncClient], customers: str, hamilton_clip: Path
) -> None:
    vision, listener, client = stack
    channel = grpc.aio.insecure_channel(customers)
    created = await customers_pb2_grpc.CustomersServiceStub(channel).CreateCustomer(
        customers_pb2.CreateCustomerRequest(customer=customers_pb2.Customer(
            name="Lin-Manuel Miranda", loyalty_status=customers_pb2.LOYALTY_STATUS_GOLD)),
        metadata=vision.md,
    )
    await channel.close()
    camera = new_camera("KIOSK")
    frames = clip_frames(hamilton_clip, 100, 6)
    for image in frames[:-1]:
        body = await push(client, camera, image)
    tracked = [d["object_id"] for d in body["detections"] if d["object_id"]]
    assert tracked and all(d["user_id"] is None for d in body["detections"])
    track_id = tracked[0]

    # A stranger's track id, a camera that is not here: nothing attaches.
    assert not await listener.apply(vision.org, events_pb2.CustomerIdentified(
        customer_id=created.customer.id, confidence=0.9, camera_id=camera, track_id="nosuchsession-1"))
    assert not await listener.apply(vision.org, events_pb2.CustomerIdentified(
        customer_id=created.customer.id, confidence=0.9, camera_id="ELSEWHERE", track_id=track_id))

    # The identity service's event, on NATS.
    await vision.bus.emit(vision.org, "identity", "customer_identified", events_pb2.CustomerIdentified(
        customer_id=created.customer.id, confidence=0.93, camera_id=camera, track_id=track_id))

    async def attached() -> bool:
        r = await client.get(f"/cameras/{camera}/tracking")
        return any(o["user_id"] for o in r.json()["tracked_objects"])

    await until(attached)
    r = await client.get(f"/cameras/{camera}/tracking")
    who = next(o for o in r.json()["tracked_objects"] if o["object_id"] == track_id)
    assert who["user_id"] == str(created.customer.id) and who["name"] == "Lin-Manuel Miranda"
    assert who["loyalty_status"] == "gold" and who["identification_confidence"] == 0.93
    assert all(o["user_id"] is None for o in r.json()["tracked_objects"] if o["object_id"] != track_id)

    body = await push(client, camera, frames[-1])
    mine = [d for d in body["detections"] if d["object_id"] == track_id]
    assert mine and mine[0]["name"] == "Lin-Manuel Miranda" and mine[0]["loyalty_status"] == "gold"
    assert mine[0]["user_id"] == str(created.customer.id)

    r = await client.post("/graphql", json={"query": "query($c: ID!) { tracks(cameraId: $c) { tracks { trackId "
                                                     "userId name loyaltyStatus identificationConfidence } } }",
                                            "variables": {"c": camera}})
    tracks = r.json()["data"]["tracks"]["tracks"]
    assert {"trackId": track_id, "userId": str(created.customer.id), "name": "Lin-Manuel Miranda",
            "loyaltyStatus": "gold", "identificationConfidence": 0.93} in tracks

    # Erasure: the customer leaves the track.
    await vision.bus.emit(vision.org, "identity", "erased",
                          events_pb2.IdentityErased(customer_id=created.customer.id))

    async def forgotten() -> bool:
        r = await client.get(f"/cameras/{camera}/tracking")
        return all(o["user_id"] is None for o in r.json()["tracked_objects"])

    await until(forgotten)


async def test_blurring_hides_the_faces_of_outgoing_frames(
    event_bus: EventBus, detector: Any, face_analyzer: Any, hamilton_clip: Path
) -> None:
    vision = await start_vision_stack(event_bus, detector, faces=face_engine(face_analyzer))
    try:
        frames = {}
        for blur in (False, True):
            camera = new_camera("BLUR" if blur else "PLAIN")
            await vision.stub.StartStream(vision_pb2.StartStreamRequest(
                camera_id=camera, path=str(hamilton_clip), max_frames=1, blur_faces=blur, face_crops=False),
                metadata=vision.md)
            await vision.wait_finished(camera)
            reply = vision.stub.WatchFrames(vision_pb2.WatchFramesRequest(camera_id=camera), metadata=vision.md)
            async for frame in reply:
                frames[blur] = cv2.imdecode(np.frombuffer(frame.jpeg, np.uint8), cv2.IMREAD_COLOR)
                break
            reply.cancel()
        plain, blurred = frames[False], frames[True]
        faces = face_analyzer.detect(plain)
        assert faces, "the clip's first frame shows a face"
        for face in faces:
            x1, y1, x2, y2 = (round(float(v)) for v in face.box)
            before = plain[y1:y2, x1:x2].astype(np.int16)
            after = blurred[y1:y2, x1:x2].astype(np.int16)
            assert np.abs(before - after).mean() > 10  # the face pixels changed
            grey = cv2.cvtColor(blurred[y1:y2, x1:x2], cv2.COLOR_BGR2GRAY)
            assert cv2.Laplacian(grey, cv2.CV_64F).var() < 0.2 * cv2.Laplacian(
                cv2.cvtColor(plain[y1:y2, x1:x2], cv2.COLOR_BGR2GRAY), cv2.CV_64F).var()
        assert face_analyzer.detect(blurred) == []  # nothing left for a detector to find
        # Away from the faces (and the overlay) the frame is the same picture.
        mask = np.ones(plain.shape[:2], bool)
        for face in faces:
            x1, y1, x2, y2 = (round(float(v)) for v in face.box)
            mask[max(0, y1 - 40):y2 + 40, max(0, x1 - 40):x2 + 40] = False
        assert np.abs(plain.astype(np.int16) - blurred.astype(np.int16))[mask].mean() < 3
    finally:
        await stop_vision_stack(vision)


async def test_a_pushed_camera_the_service_always_blurs_sends_no_face_out(
    event_bus: EventBus, detector: Any, face_analyzer: Any, hamilton_clip: Path
) -> None:
    """Pushed-frame cameras have no stream options: `faces_blur_cameras` blurs them (and only them)."""
    blurred_camera, plain_camera = new_camera("PUSHBLUR"), new_camera("PUSHPLAIN")
    vision = await start_vision_stack(event_bus, detector, faces=face_engine(face_analyzer),
                                      blur_cameras=frozenset({blurred_camera}))
    try:
        image = clip_frames(hamilton_clip, 0, 1)[0]
        faces = face_analyzer.detect(image)
        assert faces, "the clip's first frame shows a face"
        sent = {}
        for camera in (blurred_camera, plain_camera):
            push = vision_pb2.ProcessFrameRequest(camera_id=camera, image=jpeg(image))
            await vision.stub.ProcessFrame(push, metadata=vision.md)  # the camera exists from its first frame
            reply = vision.stub.WatchFrames(vision_pb2.WatchFramesRequest(camera_id=camera), metadata=vision.md)
            frames = reply.__aiter__()
            await vision.stub.ProcessFrame(push, metadata=vision.md)
            frame = await asyncio.wait_for(frames.__anext__(), 30)
            sent[camera] = cv2.imdecode(np.frombuffer(frame.jpeg, np.uint8), cv2.IMREAD_COLOR)
            reply.cancel()
        assert face_analyzer.detect(sent[blurred_camera]) == []
        assert face_analyzer.detect(sent[plain_camera]), "a camera not listed is not blurred"
    finally:
        await stop_vision_stack(vision)
