"""REST compatibility routes of the edge processor (seed 002, "Video API"), thin adapters over VisionService.

* `GET /cameras/{camera_id}/stream`: `multipart/x-mixed-replace` MJPEG with boxes, track ids, lines and zones
  drawn; 404 `{"detail": "Camera not found"}`, 503 `{"detail": "Service not ready"}` while the camera has no
  frame yet (or the vision service cannot be reached). Query `fps` (default 10) and `quality` (default 80).
* `GET /cameras/{camera_id}/snapshot`: the latest annotated frame as one JPEG (same errors as the stream).
* `GET /cameras/{camera_id}/tracking`: the people tracked on the camera at its latest frame.
* `POST /process-frame`: `{"frame_b64": ..., "camera_id": "device-camera"}`, a base64 image -> overlay data;
  400 `{"detail": "frame_b64 is required"}` when the frame is missing, empty, not base64 or not an image.
* `WebSocket /ws/tracking`: JSON track updates of every camera (or `?camera_id=`), one message per frame.

The organisation is the caller's (a platform admin may name another with `X-Footfall-Org`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Path
from footfall.graph.core.convert import iso_offset
from footfall.graph.core.errors import DETAIL
from footfall.graph.core.rest import Feeder, Reader, client, domain_router, error_responses
from footfall.graph.security.auth import authenticate
from footfall.graph.vision.client import VisionClient
from footfall.graph.vision.convert import (
    FRAME_REQUIRED, bbox, decode_frame, identity_fields, tracked_object, tracking_update,
)
from footfall.services.core import errors
from footfall.services.core.principal import READERS
from footfall.v1 import vision_pb2
from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

log = logging.getLogger(__name__)

ERROR_STYLE = DETAIL
router = domain_router(tags=["vision"], style=ERROR_STYLE)
Vision = Annotated[VisionClient, Depends(client(VisionClient))]
CameraKey = Annotated[str, Path(min_length=1, max_length=128, description="The camera's external key")]

CAMERA_NOT_FOUND = "Camera not found"
NOT_READY = "Service not ready"
PROCESSING_FAILED = "Frame processing failed"
BOUNDARY = "frame"
# How long the MJPEG route waits for a connecting camera's first frame before answering 503.
FIRST_FRAME_WAIT_S = 5.0
# ProcessFrame's INVALID_ARGUMENT messages that mean "the image is missing or not an image".
_IMAGE_ERRORS = ("image is required", "image is not a decodable image")
_NO_FRAMES_YET = (vision_pb2.STREAM_STATUS_RECONNECTING, vision_pb2.STREAM_STATUS_FAILED,
                  vision_pb2.STREAM_STATUS_STOPPED)


class TrackedObject(BaseModel):
    object_id: str
    camera_id: str
    bbox: list[int] = Field(description="x1, y1, x2, y2 in frame pixels", examples=[[0, 0, 100, 100]])
    confidence: float
    object_type: str = "person"
    last_seen: str | None
    user_id: str | None = None
    identification_confidence: float = 0.0
    name: str | None = None
    loyalty_status: str | None = None


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


@router.get("/cameras/{camera_id}/tracking", responses=error_responses(404),
            summary="Current tracking data for a camera")
async def get_camera_tracking(caller: Reader, vision: Vision, camera_id: CameraKey) -> TrackingOut:
    """The people tracked on the camera at its latest analysed frame."""
    try:
        reply = await vision.list_tracks(caller, camera_id)
    except errors.NotFound:
        raise errors.NotFound(CAMERA_NOT_FOUND) from None
    return TrackingOut.model_validate(
        {"camera_id": reply.camera_id, "tracked_objects": [tracked_object(t) for t in reply.tracks]}
    )


@router.post("/process-frame", responses=error_responses(400, 413, 500),
             summary="Process a video frame from the frontend and return overlay data")
async def process_frame(caller: Feeder, vision: Vision, body: FrameIn) -> FrameOut:
    """Detect and track people on one frame; frames of the same `camera_id` keep their track ids."""
    image = decode_frame(body.frame_b64)
    camera_id = body.camera_id if isinstance(body.camera_id, str) and body.camera_id.strip() else "device-camera"
    try:
        reply = await vision.process_frame(caller, camera_id, image)
    except errors.InvalidArgument as err:
        if str(err).startswith(_IMAGE_ERRORS):
            raise errors.InvalidArgument(FRAME_REQUIRED) from None
        raise
    except (errors.Unavailable, errors.TooLarge, errors.Unauthenticated, errors.PermissionDenied):
        raise
    except errors.FootfallError as err:
        log.warning("process-frame for %s/%s failed: %s", caller.org, camera_id, err)
        raise errors.FootfallError(PROCESSING_FAILED) from None
    timestamp = iso_offset(reply.timestamp) or datetime.now(UTC).isoformat()
    tracks = {t.track_id: t for t in reply.tracks}
    detections = []
    for d in reply.detections:
        who = identity_fields(tracks.get(d.track_id) if d.track_id else None)
        detections.append({"bbox": bbox(d.box), "user_id": who["user_id"], "confidence": round(d.confidence, 4),
                           "name": who["name"], "loyalty_status": who["loyalty_status"],
                           "object_id": d.track_id or None})
    return FrameOut.model_validate({"camera_id": reply.camera_id, "timestamp": timestamp, "detections": detections})


def _error(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


def _number(raw: str | None, default: float, low: float, high: float) -> float:
    try:
        value = float(raw) if raw is not None else default
    except ValueError:
        return default
    return min(high, max(low, value)) if math.isfinite(value) else default


def _part(jpeg: bytes) -> bytes:
    return (f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n").encode() + jpeg + b"\r\n"


@router.get("/cameras/{camera_id}/stream", response_class=StreamingResponse, responses=error_responses(404),
            summary="The camera's annotated live view (MJPEG)")
async def camera_stream(caller: Reader, vision: Vision, camera_id: CameraKey, request: Request) -> Response:
    """`multipart/x-mixed-replace` JPEG frames with boxes, track ids, lines and zones drawn; query `fps`
    (default 10, at most 60) and `quality` (1-100, default 80)."""
    fps = _number(request.query_params.get("fps"), 10.0, 0.0, 60.0)
    quality = int(_number(request.query_params.get("quality"), 80, 1, 100))
    try:
        stream = await vision.get_stream(caller, camera_id)
    except errors.NotFound:
        return _error(404, CAMERA_NOT_FOUND)
    except errors.Unavailable:
        return _error(503, NOT_READY)
    if stream.frames == 0 and stream.status in _NO_FRAMES_YET:
        return _error(503, NOT_READY)  # reconnecting, failed or stopped before any frame
    frames = vision.watch_frames(caller, camera_id, max_fps=fps, quality=quality)
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
            log.info("MJPEG stream of %s/%s ended: %s", caller.org, camera_id, err)
        finally:
            await frames.aclose()

    return StreamingResponse(
        body(), media_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}",
        headers={"Cache-Control": "no-cache, no-store, must-revalidate", "Pragma": "no-cache",
                 "X-Accel-Buffering": "no"},
    )


@router.get("/cameras/{camera_id}/snapshot", response_class=Response, responses=error_responses(404, 503),
            summary="The camera's latest annotated frame (one JPEG)")
async def camera_snapshot(caller: Reader, vision: Vision, camera_id: CameraKey, request: Request) -> Response:
    """One JPEG with boxes, lines and zones drawn, for pages that refresh a picture instead of holding an
    MJPEG connection open (browsers allow only a few per host); query `quality` (1-100, default 70).
    404 when the camera has no stream, 503 while it has no frame yet."""
    quality = int(_number(request.query_params.get("quality"), 70, 1, 100))
    try:
        stream = await vision.get_stream(caller, camera_id)
    except errors.NotFound:
        return _error(404, CAMERA_NOT_FOUND)
    except errors.Unavailable:
        return _error(503, NOT_READY)
    if stream.frames == 0 and stream.status in _NO_FRAMES_YET:
        return _error(503, NOT_READY)
    frames = vision.watch_frames(caller, camera_id, quality=quality)
    try:
        frame = await asyncio.wait_for(anext(frames), FIRST_FRAME_WAIT_S)
    except (TimeoutError, StopAsyncIteration, errors.FootfallError):
        return _error(503, NOT_READY)
    finally:
        await frames.aclose()
    return Response(frame.jpeg, media_type="image/jpeg",
                    headers={"Cache-Control": "no-store", "X-Frame-Width": str(frame.frame_width),
                             "X-Frame-Height": str(frame.frame_height)})


async def tracking_socket(websocket: WebSocket) -> None:
    """`/ws/tracking`: authenticated like any request (header, API key or the session cookie with our Origin);
    refused before the handshake completes (close 1008) otherwise."""
    try:
        caller = await authenticate(websocket)
        caller.principal.require(READERS)
    except errors.FootfallError:
        await websocket.close(code=1008)
        return
    camera_id = (websocket.query_params.get("camera_id") or "")[:128]
    vision = websocket.app.state.clients.get(VisionClient)
    await websocket.accept()
    updates = vision.watch_tracks(caller, camera_id)

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
                log.warning("tracking websocket for %s failed: %r", caller.org, err)
                detail, code = "Internal Server Error", 1011
            with contextlib.suppress(Exception):
                await websocket.send_json({"type": "error", "detail": detail})
                await websocket.close(code=code)
    finally:
        for task in (sender, receiver):
            task.cancel()
        await asyncio.gather(sender, receiver, return_exceptions=True)
        await updates.aclose()


ROUTES = (WebSocketRoute("/ws/tracking", tracking_socket, name="ws_tracking"),)
