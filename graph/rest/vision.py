"""REST compatibility routes of the edge processor (seed 002, "Video API"), thin adapters over VisionService.

* ``GET /cameras/{camera_id}/stream``: ``multipart/x-mixed-replace`` MJPEG with boxes, track ids, lines and
  zones drawn; 404 ``{"detail": "Camera not found"}``, 503 ``{"detail": "Service not ready"}`` while the
  camera has no frame yet (or the vision service cannot be reached). Query ``fps`` (default 10) and
  ``quality`` (default 80) tune it.
* ``GET /cameras/{camera_id}/tracking``: the people tracked on the camera at its latest frame.
* ``POST /process-frame``: ``{"frame_b64": ..., "camera_id": "device-camera"}``, a base64 image (a
  ``data:image/...;base64,`` prefix is accepted) -> overlay data; 400 ``{"detail": "frame_b64 is required"}``
  when the frame is missing, empty, not base64 or not an image.
* ``WebSocket /ws/tracking``: JSON track updates of every camera (or ``?camera_id=``), one message per
  analysed frame.

The organisation is the ``X-Footfall-Org`` header (websocket: also ``?org=``), else the default.
Identity fields (``user_id``, ``name``, ``loyalty_status``) are null: vision does not identify people.

Mount with ``create_app(settings, channel, extra_routes=routes(channel, settings))``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
import re
from collections.abc import AsyncGenerator, AsyncIterator
from datetime import UTC, datetime
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from footfall.v1 import common_pb2, vision_pb2, vision_pb2_grpc
from footfall.graph.clients import Clients, ServiceClient
from footfall.graph.rest.routing import RestCall, RestRouter, org_from_request
from footfall.services.core import errors
from footfall.services.core.config import Settings
from footfall.services.core.tenancy import validate_org

log = logging.getLogger(__name__)

router = RestRouter("", tags=["vision"])

FRAME_REQUIRED = "frame_b64 is required"
CAMERA_NOT_FOUND = "Camera not found"
NOT_READY = "Service not ready"
PROCESSING_FAILED = "Frame processing failed"
BOUNDARY = "frame"
# How long the MJPEG route waits for a connecting camera's first frame before answering 503.
FIRST_FRAME_WAIT_S = 5.0
# ProcessFrame's INVALID_ARGUMENT messages that mean "the image is missing or not an image".
_IMAGE_ERRORS = ("image is required", "image is not a decodable image")
_DATA_URL = re.compile(r"^data:[\w/+.-]*;base64,", re.IGNORECASE)
_NO_FRAMES_YET = (vision_pb2.STREAM_STATUS_RECONNECTING, vision_pb2.STREAM_STATUS_FAILED,
                  vision_pb2.STREAM_STATUS_STOPPED)


# --------------------------------------------------------------------------------------------------
# The gRPC client


class VisionClient(ServiceClient):
    """`footfall.v1.VisionService`: streams, pushed frames, tracks and the live view."""

    service_name = "Vision"
    grpc_service = "footfall.v1.VisionService"

    def __init__(self, channel: grpc.aio.Channel, *, timeout: float = 10.0) -> None:
        super().__init__(channel, timeout=timeout)
        self.stub = vision_pb2_grpc.VisionServiceStub(channel)

    async def start_stream(self, org: str, request: vision_pb2.StartStreamRequest) -> vision_pb2.Stream:
        return (await self._unary(self.stub.StartStream, request, org)).stream

    async def stop_stream(self, org: str, camera_id: str) -> vision_pb2.Stream:
        return (await self._unary(self.stub.StopStream, vision_pb2.StopStreamRequest(camera_id=camera_id), org)).stream

    async def get_stream(self, org: str, camera_id: str) -> vision_pb2.Stream:
        return (await self._unary(self.stub.GetStream, vision_pb2.GetStreamRequest(camera_id=camera_id), org)).stream

    async def list_streams(self, org: str, page_size: int = 0, page_token: str = "") -> vision_pb2.ListStreamsResponse:
        request = vision_pb2.ListStreamsRequest(page_size=page_size, page_token=page_token)
        return await self._unary(self.stub.ListStreams, request, org)

    async def process_frame(self, org: str, camera_id: str, image: bytes) -> vision_pb2.ProcessFrameResponse:
        request = vision_pb2.ProcessFrameRequest(camera_id=camera_id, image=image)
        return await self._unary(self.stub.ProcessFrame, request, org)

    async def list_tracks(self, org: str, camera_id: str) -> vision_pb2.ListTracksResponse:
        return await self._unary(self.stub.ListTracks, vision_pb2.ListTracksRequest(camera_id=camera_id), org)

    def watch_tracks(self, org: str, camera_id: str = "") -> AsyncGenerator[vision_pb2.WatchTracksResponse, None]:
        """Track updates until the caller stops iterating (closing the iterator cancels the call)."""
        request = vision_pb2.WatchTracksRequest(camera_id=camera_id)
        return self._stream(self.stub.WatchTracks, request, org)

    def watch_frames(
        self, org: str, camera_id: str, *, max_fps: float = 0.0, quality: int = 0
    ) -> AsyncGenerator[vision_pb2.WatchFramesResponse, None]:
        request = vision_pb2.WatchFramesRequest(camera_id=camera_id, max_fps=max_fps, quality=quality)
        return self._stream(self.stub.WatchFrames, request, org)


# --------------------------------------------------------------------------------------------------
# Shapes (seed 002)


def _iso(ts: Timestamp) -> str | None:
    if not ts.seconds and not ts.nanos:
        return None
    return ts.ToDatetime(tzinfo=UTC).isoformat()


def _bbox(box: vision_pb2.BoundingBox) -> list[int]:
    return [round(box.x1), round(box.y1), round(box.x2), round(box.y2)]


class TrackedObject(BaseModel):
    object_id: str
    camera_id: str
    bbox: list[int] = Field(description="x1, y1, x2, y2 in frame pixels", examples=[[0, 0, 100, 100]])
    confidence: float
    object_type: str = "person"
    last_seen: str | None
    user_id: str | None = None
    identification_confidence: float = 0.0


class TrackingOut(BaseModel):
    camera_id: str
    tracked_objects: list[TrackedObject]


class FrameIn(BaseModel):
    frame_b64: Any = Field(None, description="The frame as base64 (JPEG/PNG), optionally as a data: URL")
    camera_id: Any = Field("device-camera", description="Frames of one camera share a tracker")


class FrameDetection(BaseModel):
    bbox: list[int] = Field(examples=[[0, 0, 100, 100]])
    user_id: str | None = None
    confidence: float
    name: str | None = None
    loyalty_status: str | None = None
    object_id: str | None = Field(None, description="The track id; null until the person is tracked")


class FrameOut(BaseModel):
    camera_id: str
    timestamp: str
    detections: list[FrameDetection]


def tracked_object(track: vision_pb2.Track) -> dict[str, Any]:
    return {
        "object_id": track.track_id, "camera_id": track.camera_id, "bbox": _bbox(track.box),
        "confidence": round(track.confidence, 4), "object_type": "person", "last_seen": _iso(track.last_seen_at),
        "user_id": None, "identification_confidence": 0.0,
    }


def tracking_update(update: vision_pb2.WatchTracksResponse) -> dict[str, Any]:
    """One websocket message."""
    return {
        "type": "tracking_update",
        "camera_id": update.camera_id,
        "frame_index": update.frame_index,
        "timestamp": _iso(update.timestamp),
        "tracked_objects": [tracked_object(t) for t in update.tracks],
        "crossings": [
            {"line_id": c.line_id, "line_name": c.line_name,
             "direction": "in" if c.direction == common_pb2.CROSSING_DIRECTION_IN else "out",
             "object_id": c.track_id, "timestamp": _iso(c.occurred_at)}
            for c in update.crossings
        ],
        "ended_object_ids": list(update.ended_track_ids),
    }


# --------------------------------------------------------------------------------------------------
# JSON routes


@router.get("/cameras/{camera_id}/tracking", response=TrackingOut, errors=(404, 503),
            summary="Current tracking data for a camera")
async def get_camera_tracking(call: RestCall, camera_id: str) -> TrackingOut:
    """The people tracked on the camera at its latest analysed frame."""
    try:
        reply = await call.clients.get(VisionClient).list_tracks(call.org, camera_id)
    except errors.NotFound:
        raise errors.NotFound(CAMERA_NOT_FOUND) from None
    return TrackingOut.model_validate(
        {"camera_id": reply.camera_id, "tracked_objects": [tracked_object(t) for t in reply.tracks]}
    )


def _decode_b64(value: Any) -> bytes:
    if not isinstance(value, str) or not value.strip():
        raise errors.InvalidArgument(FRAME_REQUIRED)
    text = _DATA_URL.sub("", value.strip(), count=1)
    text = re.sub(r"\s+", "", text)
    try:
        data = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        try:
            data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            raise errors.InvalidArgument(FRAME_REQUIRED) from None
    if not data:
        raise errors.InvalidArgument(FRAME_REQUIRED)
    return data


@router.post("/process-frame", response=FrameOut, errors=(400, 500, 503),
             summary="Process a video frame from the frontend and return overlay data")
async def process_frame(call: RestCall, body: FrameIn) -> FrameOut:
    """Detect and track people on one frame; frames of the same `camera_id` keep their track ids."""
    image = _decode_b64(body.frame_b64)
    camera_id = body.camera_id if isinstance(body.camera_id, str) and body.camera_id.strip() else "device-camera"
    try:
        reply = await call.clients.get(VisionClient).process_frame(call.org, camera_id, image)
    except errors.InvalidArgument as err:
        if str(err).startswith(_IMAGE_ERRORS):
            raise errors.InvalidArgument(FRAME_REQUIRED) from None
        raise
    except errors.Unavailable:
        raise
    except errors.FootfallError as err:
        log.warning("process-frame for %s/%s failed: %s", call.org, camera_id, err)
        raise errors.FootfallError(PROCESSING_FAILED) from None
    timestamp = _iso(reply.timestamp) or datetime.now(UTC).isoformat()
    return FrameOut.model_validate({
        "camera_id": reply.camera_id, "timestamp": timestamp,
        "detections": [
            {"bbox": _bbox(d.box), "user_id": None, "confidence": round(d.confidence, 4), "name": None,
             "loyalty_status": None, "object_id": d.track_id or None}
            for d in reply.detections
        ],
    })


# --------------------------------------------------------------------------------------------------
# MJPEG and websocket


def _error(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


def _number(raw: str | None, default: float, low: float, high: float) -> float:
    try:
        value = float(raw) if raw is not None else default
    except ValueError:
        return default
    return min(high, max(low, value))


def _part(jpeg: bytes) -> bytes:
    return (f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n").encode() + jpeg + b"\r\n"


def stream_routes(clients: Clients, settings: Settings) -> list[BaseRoute]:
    """The MJPEG and websocket routes (not JSON, so not in `router`)."""
    vision = clients.get(VisionClient)

    async def camera_stream(request: Request) -> Response:
        camera_id = request.path_params["camera_id"]
        try:
            org = org_from_request(request, settings)
        except errors.InvalidArgument as err:
            return _error(400, str(err))
        fps = _number(request.query_params.get("fps"), 10.0, 0.0, 60.0)
        quality = int(_number(request.query_params.get("quality"), 80, 1, 100))
        try:
            stream = await vision.get_stream(org, camera_id)
        except errors.NotFound:
            return _error(404, CAMERA_NOT_FOUND)
        except errors.Unavailable:
            return _error(503, NOT_READY)
        if stream.frames == 0 and stream.status in _NO_FRAMES_YET:
            return _error(503, NOT_READY)  # reconnecting, failed or stopped before any frame
        frames = vision.watch_frames(org, camera_id, max_fps=fps, quality=quality)
        try:
            first = await asyncio.wait_for(anext(frames), FIRST_FRAME_WAIT_S)
        except (TimeoutError, StopAsyncIteration, errors.FootfallError):
            await frames.aclose()
            return _error(503, NOT_READY)

        async def body() -> AsyncIterator[bytes]:
            try:
                yield _part(first.jpeg)
                async for frame in frames:
                    yield _part(frame.jpeg)
            except errors.FootfallError as err:
                log.info("MJPEG stream of %s/%s ended: %s", org, camera_id, err)
            finally:
                await frames.aclose()

        return StreamingResponse(
            body(), media_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}",
            headers={"Cache-Control": "no-cache, no-store, must-revalidate", "Pragma": "no-cache",
                     "X-Accel-Buffering": "no"},
        )

    async def tracking_socket(websocket: WebSocket) -> None:
        raw_org = websocket.query_params.get("org") or websocket.headers.get("x-footfall-org")
        camera_id = websocket.query_params.get("camera_id") or ""
        await websocket.accept()
        try:
            org = validate_org(raw_org.strip()) if raw_org else settings.default_org
        except errors.InvalidArgument as err:
            await websocket.send_json({"type": "error", "detail": str(err)})
            await websocket.close(code=1008)
            return
        updates = vision.watch_tracks(org, camera_id)

        async def forward() -> None:
            async for update in updates:
                await websocket.send_json(tracking_update(update))

        async def until_closed() -> None:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return

        sender = asyncio.create_task(forward())
        receiver = asyncio.create_task(until_closed())
        try:
            done, _ = await asyncio.wait({sender, receiver}, return_when=asyncio.FIRST_COMPLETED)
            if sender in done and sender.exception() is not None:
                err = sender.exception()
                if isinstance(err, errors.NotFound):
                    detail, code = CAMERA_NOT_FOUND, 4404
                elif isinstance(err, errors.Unavailable):
                    detail, code = NOT_READY, 1013
                elif isinstance(err, WebSocketDisconnect):
                    return
                else:
                    log.warning("tracking websocket for %s failed: %r", org, err)
                    detail, code = "Internal Server Error", 1011
                with contextlib.suppress(Exception):
                    await websocket.send_json({"type": "error", "detail": detail})
                    await websocket.close(code=code)
        finally:
            for task in (sender, receiver):
                task.cancel()
            await asyncio.gather(sender, receiver, return_exceptions=True)
            await updates.aclose()

    return [
        Route("/cameras/{camera_id}/stream", camera_stream, methods=["GET"], name="camera_stream"),
        WebSocketRoute("/ws/tracking", tracking_socket, name="ws_tracking"),
    ]


def routes(channel_or_clients: grpc.aio.Channel | Clients, settings: Settings) -> list[BaseRoute | RestRouter]:
    """Everything vision adds to the gateway, for `create_app(..., extra_routes=routes(channel, settings))`.

    The `RestRouter` joins `/openapi.json`; the MJPEG and websocket routes are plain Starlette routes.
    """
    clients = channel_or_clients if isinstance(channel_or_clients, Clients) else Clients(channel_or_clients)
    return [router, *stream_routes(clients, settings)]


def starlette_routes(channel_or_clients: grpc.aio.Channel | Clients, settings: Settings) -> list[BaseRoute]:
    """The same routes as plain Starlette routes (for an app that is not `footfall.graph.app.create_app`)."""
    clients = channel_or_clients if isinstance(channel_or_clients, Clients) else Clients(channel_or_clients)
    return [*router.starlette_routes(clients, settings), *stream_routes(clients, settings)]
