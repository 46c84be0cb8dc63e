"""Frames pushed one by one by clients (ProcessFrame), each camera's on one tracker.

A pushed camera gets a session at its first frame; one idle for ``pushed_idle_s`` ends its tracks and is
forgotten. :class:`PushedFrames` is part of :class:`~footfall.services.vision.service.VisionService` (it
shares the service's camera table and per-camera locks, so a camera is either streamed or pushed to).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from footfall.services.core.errors import InvalidArgument, Unavailable
from footfall.services.vision import publisher as pub
from footfall.services.vision.camera_session import CameraSession, StreamState
from footfall.services.vision.engine import AnalysisEngine
from footfall.services.vision.image_limits import check_image
from footfall.services.vision.sources import Frame
from footfall.services.vision.stream_requests import validate_camera_id
from footfall.services.vision.track import Track
from footfall.services.vision.tracking import TrackerConfig

log = logging.getLogger(__name__)

DEFAULT_PUSH_CAMERA = "device-camera"
PUSH_SOURCE = "push"
# Messages the REST adapter recognises (it answers them with the seed's `frame_b64 is required`).
IMAGE_REQUIRED = "image is required: send an encoded JPEG or PNG image"
IMAGE_UNDECODABLE = "image is not a decodable image: send JPEG, PNG, WebP or BMP bytes"
# A detection is reported by ProcessFrame when it belongs to a track or is at least this confident.
REPORT_CONFIDENCE = 0.5
# The frame rate the tracker assumes for pushed frames and live sources (a file says its own).
LIVE_FRAME_RATE = 10.0


@dataclass(frozen=True)
class DetectionResult:
    box: tuple[float, float, float, float]
    confidence: float
    track_id: str  # "" when not (yet) part of a confirmed track


@dataclass(frozen=True)
class FrameAnalysis:
    """What ProcessFrame returns."""

    camera_id: str
    frame_index: int
    timestamp: datetime
    frame_size: tuple[int, int]
    detections: tuple[DetectionResult, ...]
    tracks: tuple[Track, ...]
    crossings: tuple[pub.Outgoing, ...]
    session: CameraSession


def decode_image(data: bytes) -> np.ndarray | None:
    """Encoded image bytes -> BGR uint8 array, or None when they are not an image."""
    import cv2

    try:
        image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    except cv2.error:
        return None
    if image is None or image.size == 0 or image.ndim != 3:
        return None
    return image


def _iou(a: Sequence[float], b: Sequence[float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def match_detections(
    detections: Any, tracks: Sequence[Track], track_key: Callable[[int], str], min_iou: float = 0.3
) -> tuple[DetectionResult, ...]:
    """Each detection with the observed track it belongs to (greedy by IoU), the unmatched unless weak."""
    boxes = np.asarray(getattr(detections, "xyxy", np.zeros((0, 4))), dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(getattr(detections, "confidence", np.zeros((0,))), dtype=np.float64).reshape(-1)
    observed = [t for t in tracks if t.observed]
    pairs = sorted(
        ((_iou(boxes[i], t.xyxy), i, j) for i in range(len(boxes)) for j, t in enumerate(observed)), reverse=True
    )
    owner: dict[int, int] = {}
    taken: set[int] = set()
    for iou, i, j in pairs:
        if iou < min_iou:
            break
        if i in owner or j in taken:
            continue
        owner[i] = j
        taken.add(j)
    out: list[DetectionResult] = []
    for i in range(len(boxes)):
        j = owner.get(i)
        if j is None and scores[i] < REPORT_CONFIDENCE:
            continue
        box = (float(boxes[i][0]), float(boxes[i][1]), float(boxes[i][2]), float(boxes[i][3]))
        out.append(DetectionResult(box, float(scores[i]), track_key(observed[j].track_id) if j is not None else ""))
    return tuple(out)


class PushedFrames:
    """ProcessFrame for :class:`~footfall.services.vision.service.VisionService`, which provides the camera
    table and its locks (``_lock``), the lines (``_resolve_lines``) and face settings (``_face_options``)
    of a new session, and where its updates go (``_on_update``)."""

    # Set by VisionService.__init__.
    _closing: bool
    _sessions: dict[tuple[str, str], CameraSession]
    _workers: dict[tuple[str, str], Any]
    _camera_locks: dict[tuple[str, str], asyncio.Lock]
    _occupancy_lines: set[tuple[str, str]]
    engine: AnalysisEngine
    publisher: pub.EventPublisher
    max_image_pixels: int
    pushed_idle_s: float

    async def process_frame(
        self, org: str, camera_id: str, image: bytes, captured_at: datetime | None = None
    ) -> FrameAnalysis:
        """Detect, track and count on one encoded image pushed for ``camera_id``."""
        if self._closing:
            raise Unavailable("vision service is stopping")
        camera_id = validate_camera_id(camera_id or DEFAULT_PUSH_CAMERA)
        if not image:
            raise InvalidArgument(IMAGE_REQUIRED)
        try:  # the header's pixel count, before decoding allocates it
            check_image(image, self.max_image_pixels)
        except InvalidArgument:
            raise InvalidArgument(IMAGE_UNDECODABLE) from None
        decoded = await asyncio.to_thread(decode_image, bytes(image))
        if decoded is None:
            raise InvalidArgument(IMAGE_UNDECODABLE)
        session = await self._pushed_session(org, camera_id)
        async with session.lock:
            if session.state.finished:  # closed by the reaper or StopStream meanwhile: start afresh
                session = await self._pushed_session(org, camera_id)
            ts = captured_at.timestamp() if captured_at is not None else time.time()
            previous = session.snapshot
            if previous is not None and ts <= previous.timestamp:
                ts = previous.timestamp + 1e-3
            index = previous.frame_index + 1 if previous is not None else 0
            if session.state is not StreamState.CONNECTED:
                await session.set_state(StreamState.CONNECTED, "")
            analysis = await session.analyse(Frame(decoded, index, ts), streaming=False)
        result = analysis.result
        crossings = tuple(pub.crossing_event(session.events, c) for c in result.crossings)
        return FrameAnalysis(
            camera_id=camera_id, frame_index=result.frame_index, timestamp=session.wall_time(result.timestamp),
            frame_size=(int(decoded.shape[1]), int(decoded.shape[0])),
            detections=match_detections(analysis.detections, result.tracks, session.track_key),
            tracks=result.tracks, crossings=crossings, session=session,
        )

    async def _pushed_session(self, org: str, camera_id: str) -> CameraSession:
        key = (org, camera_id)
        session = self._sessions.get(key)
        if session is not None and session.kind == PUSH_SOURCE and not session.state.finished:
            return session
        async with self._lock(org, camera_id):
            session = self._sessions.get(key)
            if session is not None and not session.state.finished:
                if session.kind != PUSH_SOURCE:
                    raise InvalidArgument(
                        f"camera {camera_id} is streaming from {session.source}; frames cannot be pushed to it"
                    )
                return session
            await self.engine.load()
            line_set = await self._resolve_lines(org, camera_id, ())
            session = CameraSession(
                org=org, camera_id=camera_id, session_id=uuid.uuid4().hex[:12], source=PUSH_SOURCE,
                kind=PUSH_SOURCE, lines=line_set, zones=(), engine=self.engine, publisher=self.publisher,
                on_update=self._on_update, tracker=TrackerConfig(frame_rate=LIVE_FRAME_RATE), time_mode="wall",
                **self._face_options(camera_id, None),
            )
            self._sessions[key] = session
            self._workers.pop(key, None)
            self._occupancy_lines.add(key)
            return session

    async def _reap_pushed(self) -> None:
        while True:
            await asyncio.sleep(min(5.0, max(0.05, self.pushed_idle_s / 4)))
            now = time.monotonic()
            for key, session in list(self._sessions.items()):
                if session.kind != PUSH_SOURCE or session.state.finished:
                    continue
                if now - session.last_activity < self.pushed_idle_s or session.lock.locked():
                    continue
                async with self._lock(*key):
                    if self._sessions.get(key) is not session:
                        continue
                    try:
                        await session.close()
                        await session.set_state(StreamState.STOPPED, f"no frames for {self.pushed_idle_s:g}s")
                    except Exception:
                        log.exception("closing idle pushed camera %s failed", session.key)
                    del self._sessions[key]
                lock = self._camera_locks.get(key)
                if lock is not None and not lock.locked() and key not in self._sessions:
                    del self._camera_locks[key]  # nobody holds or awaits it (no await since the check)
