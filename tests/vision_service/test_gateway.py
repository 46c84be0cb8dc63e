"""The gateway's vision adapters (seed 002 REST routes, MJPEG, websocket, GraphQL) over the real service.

JSON routes go through `httpx.ASGITransport`; the MJPEG stream and the websockets need a real uvicorn.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest
import uvicorn
import websockets
from footfall.graph import vision as vision_domain
from footfall.graph.app import create_app
from footfall.services.core.config import Settings
from footfall.services.core.events import EventBus
from starlette.applications import Starlette

from tests.conftest import listening_socket, refusing_port
from tests.vision_service.conftest import Vision, jpeg, new_camera, start_vision_stack, stop_vision_stack
from tests.vision_service.test_grpc import watchers_registered

pytestmark = pytest.mark.data

FRAME_REQUIRED = {"detail": "frame_b64 is required"}


@pytest.fixture
async def stack(event_bus: EventBus, detector: Any, tmp_path: Path) -> AsyncIterator[tuple[Vision, Starlette]]:
    vision = await start_vision_stack(event_bus, detector)
    settings = Settings(data_dir=tmp_path, default_org=vision.org, rate_limit_enabled=False)
    app = create_app(settings, vision.channel, domains=(vision_domain.DOMAIN,), authenticator=vision.auth.authenticator)
    yield vision, app
    await stop_vision_stack(vision)


@pytest.fixture
async def client(stack: tuple[Vision, Starlette]) -> AsyncIterator[httpx.AsyncClient]:
    vision, app = stack
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver",
                                 headers=_bearer(vision)) as c:
        yield c


@pytest.fixture
async def live_server(stack: tuple[Vision, Starlette]) -> AsyncIterator[str]:
    _, app = stack
    sock = listening_socket()  # the port is ours from here on: no window for another process to take it
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, ws="websockets-sansio", lifespan="off",
                                           log_level="warning"))
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve(sockets=[sock]))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while not server.started:
        assert not task.done(), task
        assert loop.time() < deadline, "uvicorn did not start within 10s"
        await asyncio.sleep(0.01)
    yield f"127.0.0.1:{port}"
    server.should_exit = True
    await asyncio.wait_for(task, 10)
    sock.close()


def _bearer(vision: Vision, role: str = "org_admin") -> dict[str, str]:
    return {"Authorization": f"Bearer {vision.auth.token(vision.org, role)}"}


def b64(image: np.ndarray) -> str:
    return base64.b64encode(jpeg(image)).decode()


async def gql(client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    r = await client.post("/graphql", json={"query": query, "variables": variables or {}})
    assert r.status_code == 200, r.text
    return r.json()


async def test_process_frame_returns_overlay_data(
    client: httpx.AsyncClient, pets_frames: Callable[[int, int], list[np.ndarray]]
) -> None:
    frames = pets_frames(200, 3)
    r = await client.post("/process-frame", json={"frame_b64": b64(frames[0]), "camera_id": "kiosk"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"camera_id", "timestamp", "detections"} and body["camera_id"] == "kiosk"
    assert body["timestamp"].startswith("20")
    assert len(body["detections"]) >= 3
    for d in body["detections"]:
        assert set(d) == {"bbox", "user_id", "confidence", "name", "loyalty_status", "object_id"}
        assert len(d["bbox"]) == 4 and all(isinstance(v, int) for v in d["bbox"])
        assert d["bbox"][0] < d["bbox"][2] and d["bbox"][1] < d["bbox"][3]
        assert 0 < d["confidence"] <= 1 and d["user_id"] is None and d["name"] is None
        assert d["object_id"] is None or isinstance(d["object_id"], str)
    # A data: URL works too, and from the second frame on people carry their track ids.
    for image in frames[1:]:
        r = await client.post("/process-frame", json={"frame_b64": "data:image/jpeg;base64," + b64(image),
                                                      "camera_id": "kiosk"})
        assert r.status_code == 200, r.text
    ids = [d["object_id"] for d in r.json()["detections"] if d["object_id"]]
    assert len(ids) >= 3 and len(set(ids)) == len(ids)
    # Without camera_id: the seed's default.
    r = await client.post("/process-frame", json={"frame_b64": b64(frames[0])})
    assert r.status_code == 200 and r.json()["camera_id"] == "device-camera"


@pytest.mark.parametrize("body", [
    {}, {"camera_id": "kiosk"}, {"frame_b64": ""}, {"frame_b64": "   "}, {"frame_b64": None}, {"frame_b64": 42},
    {"frame_b64": "***not base64***"}, {"frame_b64": base64.b64encode(b"plain text, not an image").decode()},
    {"frame_b64": "data:image/png;base64,"},
])
async def test_process_frame_rejects_missing_or_bad_frames(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    r = await client.post("/process-frame", json=body)
    assert r.status_code == 400 and r.json() == FRAME_REQUIRED


async def test_camera_tracking_shape(
    client: httpx.AsyncClient, pets_frames: Callable[[int, int], list[np.ndarray]]
) -> None:
    for image in pets_frames(300, 3):
        r = await client.post("/process-frame", json={"frame_b64": b64(image), "camera_id": "aisle-3"})
        assert r.status_code == 200
    r = await client.get("/cameras/aisle-3/tracking")
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"camera_id", "tracked_objects"} and body["camera_id"] == "aisle-3"
    assert len(body["tracked_objects"]) >= 3
    for o in body["tracked_objects"]:
        assert set(o) == {"object_id", "camera_id", "bbox", "confidence", "object_type", "last_seen", "user_id",
                          "identification_confidence", "name", "loyalty_status"}
        assert o["camera_id"] == "aisle-3" and o["object_type"] == "person" and len(o["bbox"]) == 4
        assert o["user_id"] is None and o["identification_confidence"] == 0.0 and o["last_seen"].startswith("20")
    r = await client.get("/cameras/no-such-camera/tracking")
    assert r.status_code == 404 and r.json() == {"detail": "Camera not found"}


async def _parts(response: httpx.Response) -> AsyncIterator[tuple[dict[str, str], bytes]]:
    """The parts of a multipart/x-mixed-replace body, in order: their headers and payloads."""
    buffer = b""
    async for chunk in response.aiter_bytes():
        buffer += chunk
        while (head_end := buffer.find(b"\r\n\r\n")) >= 0:
            lines = buffer[:head_end].decode().split("\r\n")
            assert lines[0] == "--frame", lines
            headers = dict(line.split(": ", 1) for line in lines[1:])
            length = int(headers["Content-Length"])
            if len(buffer) < head_end + 4 + length + 2:
                break
            payload = buffer[head_end + 4: head_end + 4 + length]
            assert buffer[head_end + 4 + length: head_end + 6 + length] == b"\r\n"
            buffer = buffer[head_end + 6 + length:]
            yield headers, payload
    raise AssertionError("the stream ended before a whole part arrived")


LINE_BGR, OBSERVED_BGR = (0, 215, 255), (60, 200, 60)  # services/vision/render.py's door line and tracked boxes


def _overlay(image: np.ndarray, raw_frames: list[np.ndarray]) -> tuple[int, np.ndarray]:
    """Which raw video frame `image` shows (the closest), and the pixels drawn over it."""
    signed = image.astype(np.int16)
    distances = [float(np.abs(signed - raw).mean()) for raw in raw_frames]
    best = int(np.argmin(distances))
    drawn = np.abs(signed - raw_frames[best]).max(axis=2) > 60  # far beyond JPEG noise
    return best, drawn


def _near(image: np.ndarray, colour: tuple[int, int, int], tolerance: int = 60) -> np.ndarray:
    return np.abs(image.astype(np.int16) - np.array(colour, np.int16)).max(axis=2) <= tolerance


async def test_mjpeg_stream_sends_annotated_jpeg_frames(
    stack: tuple[Vision, Starlette], live_server: str, pets_video: Path,
    pets_frames: Callable[[int, int], list[np.ndarray]],
) -> None:
    vision, _ = stack
    raw_frames = [f.astype(np.int16) for f in pets_frames(0, 200)]
    camera = new_camera("LIVE")
    async with httpx.AsyncClient(base_url=f"http://{live_server}", headers=_bearer(vision),
                                 timeout=30) as http:
        # Start the stream through GraphQL (loop at the video's real rate), then watch it.
        started = await gql(http, """
            mutation($input: StartStreamInput!) { startStream(input: $input) { cameraId status sessionId lines { name } } }
        """, {"input": {"cameraId": camera, "path": str(pets_video), "loop": True, "realtime": True,
                        "lines": [{"name": "door", "x1": 240, "y1": 0, "x2": 240, "y2": 360}]}})
        assert not started.get("errors"), started
        assert started["data"]["startStream"]["cameraId"] == camera
        assert started["data"]["startStream"]["lines"] == [{"name": "door"}]

        async with http.stream("GET", f"/cameras/{camera}/stream") as response:
            assert response.status_code == 200
            assert response.headers["content-type"] == "multipart/x-mixed-replace; boundary=frame"
            boxes_seen = 0
            async for headers, payload in _parts(response):
                assert headers["Content-Type"] == "image/jpeg"
                assert payload[:2] == b"\xff\xd8" and payload[-2:] == b"\xff\xd9"
                image = cv2.imdecode(np.frombuffer(payload, np.uint8), cv2.IMREAD_COLOR)
                assert image is not None and image.shape == (360, 480, 3)
                # Against the raw video frame: the door line is drawn down x=240, in the line colour
                # (below its label) ...
                index, drawn = _overlay(image, raw_frames)
                band = (slice(40, 360), slice(239, 242))
                assert drawn[band].mean() > 0.5 and _near(image, LINE_BGR)[band].mean() > 0.5, index
                assert not _near(raw_frames[index].astype(np.uint8), LINE_BGR)[band].any()
                # ... and, once people are tracked, boxes in the tracked colour.
                boxes_seen = int((drawn & _near(image, OBSERVED_BGR)).sum())
                if boxes_seen > 200:
                    break
                assert index < len(raw_frames) - 1, "no tracked box drawn in the first frames"

        r = await http.get("/cameras/NOPE/stream")
        assert r.status_code == 404 and r.json() == {"detail": "Camera not found"}

        # GraphQL: the stream is listed and its tracks can be read; stopping it reports stopped.
        body = await gql(http, "{ visionStreams { totalCount edges { cursor node { cameraId status source frames } } "
                               "pageInfo { hasNextPage } } }")
        listed = body["data"]["visionStreams"]
        assert listed["totalCount"] == 1 and listed["pageInfo"] == {"hasNextPage": False}
        streams = [e["node"] for e in listed["edges"]]
        assert [s["cameraId"] for s in streams] == [camera] and streams[0]["status"] == "CONNECTED"
        body = await gql(http, "query($c: ID!) { tracks(cameraId: $c) { cameraId frameIndex tracks { trackId cameraId } } }",
                         {"c": camera})
        assert body["data"]["tracks"]["cameraId"] == camera
        body = await gql(http, "mutation($c: ID!) { stopStream(cameraId: $c) { status statusDetail } }",
                         {"c": camera})
        assert body["data"]["stopStream"] == {"status": "STOPPED", "statusDetail": "stopped on request"}
        body = await gql(http, "query($c: ID!) { tracks(cameraId: $c) { cameraId } }", {"c": "missing"})
        assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_mjpeg_stream_is_503_while_the_camera_has_no_frame(
    stack: tuple[Vision, Starlette], client: httpx.AsyncClient
) -> None:
    vision, _ = stack
    camera = new_camera("DOWN")
    with refusing_port() as port:
        await _mjpeg_stream_is_503_while_the_camera_has_no_frame(vision, client, camera, port)


async def _mjpeg_stream_is_503_while_the_camera_has_no_frame(
    vision: Vision, client: httpx.AsyncClient, camera: str, port: int
) -> None:
    r = await client.post("/graphql", json={
        "query": "mutation($i: StartStreamInput!) { startStream(input: $i) { status } }",
        "variables": {"i": {"cameraId": camera, "url": f"rtsp://127.0.0.1:{port}/x"}},
    })
    assert not r.json().get("errors"), r.text
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while (await vision.service.get_stream(vision.org, camera)).state.value != "reconnecting":
        assert loop.time() < deadline
        await asyncio.sleep(0.05)
    r = await client.get(f"/cameras/{camera}/stream")
    assert r.status_code == 503 and r.json() == {"detail": "Service not ready"}


async def test_tracking_websocket_and_graphql_subscription(
    stack: tuple[Vision, Starlette], live_server: str, pets_frames: Callable[[int, int], list[np.ndarray]]
) -> None:
    vision, _ = stack
    frames = pets_frames(400, 4)
    async with httpx.AsyncClient(base_url=f"http://{live_server}", headers=_bearer(vision),
                                 timeout=30) as http:
        r = await http.post("/process-frame", json={"frame_b64": b64(frames[0]), "camera_id": "ws-cam"})
        assert r.status_code == 200
        async with (
            websockets.connect(f"ws://{live_server}/ws/tracking", additional_headers=_bearer(vision)) as ws,
            websockets.connect(f"ws://{live_server}/graphql", subprotocols=["graphql-transport-ws"]) as gws,
        ):
            await gws.send(json.dumps({"type": "connection_init", "payload": {
                "authorization": f"Bearer {vision.auth.token(vision.org)}"}}))
            assert json.loads(await asyncio.wait_for(gws.recv(), 10))["type"] == "connection_ack"
            await gws.send(json.dumps({"type": "subscribe", "id": "t", "payload": {
                "query": "subscription($c: ID) { trackUpdates(cameraId: $c) { cameraId frameIndex "
                         "tracks { trackId confidence box { x1 y1 x2 y2 } } } }",
                "variables": {"c": "ws-cam"}}}))
            await watchers_registered(vision.service, 2)  # the websocket's and the subscription's
            for image in frames[1:]:
                r = await http.post("/process-frame", json={"frame_b64": b64(image), "camera_id": "ws-cam"})
                assert r.status_code == 200
            messages = [json.loads(await asyncio.wait_for(ws.recv(), 10)) for _ in range(3)]
            assert [m["frame_index"] for m in messages] == [1, 2, 3]
            last = messages[-1]
            assert last["type"] == "tracking_update" and last["camera_id"] == "ws-cam" and last["tracked_objects"]
            assert set(last["tracked_objects"][0]) >= {"object_id", "camera_id", "bbox", "confidence", "object_type"}

            updates = []
            while len(updates) < 3:
                msg = json.loads(await asyncio.wait_for(gws.recv(), 10))
                if msg["type"] == "ping":
                    await gws.send(json.dumps({"type": "pong"}))
                    continue
                assert msg["type"] == "next" and not msg["payload"].get("errors"), msg
                updates.append(msg["payload"]["data"]["trackUpdates"])
            assert [u["frameIndex"] for u in updates] == [1, 2, 3] and updates[-1]["tracks"]

        async with websockets.connect(f"ws://{live_server}/ws/tracking?camera_id=unknown",
                                      additional_headers=_bearer(vision)) as ws:
            msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert msg == {"type": "error", "detail": "Camera not found"}
        # Without a credential (or with one that may not read) the handshake is refused.
        for headers in ({}, _bearer(vision, "device")):
            with pytest.raises(websockets.InvalidStatus):
                async with websockets.connect(f"ws://{live_server}/ws/tracking", additional_headers=headers):
                    pass


async def test_roles_and_login(stack: tuple[Vision, Starlette], pets_frames: Callable[[int, int], list[np.ndarray]]) -> None:
    vision, app = stack
    frame = {"frame_b64": b64(pets_frames(200, 1)[0]), "camera_id": "roles"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as anonymous:
        for method, path in (("POST", "/process-frame"), ("GET", "/cameras/roles/tracking"),
                             ("GET", "/cameras/roles/stream")):
            r = await anonymous.request(method, path, json=frame if method == "POST" else None)
            assert r.status_code == 401 and r.json() == {"detail": "Not authenticated"}, path
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver",
                                 headers=_bearer(vision, "device")) as device:
        assert (await device.post("/process-frame", json=frame)).status_code == 200  # devices feed frames
        assert (await device.get("/cameras/roles/tracking")).status_code == 403
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver",
                                 headers=_bearer(vision, "analyst")) as analyst:
        assert (await analyst.get("/cameras/roles/tracking")).status_code == 200
        assert (await analyst.post("/process-frame", json=frame)).status_code == 403
