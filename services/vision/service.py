"""The vision service's domain facade (no transport): camera streams, pushed frames, tracks, live view.

One :class:`VisionService` serves every organisation. It owns one person detector, shared by every
camera through :class:`~footfall.services.vision.workers.AnalysisEngine` (frames of different cameras are detected
in one batched call), and one :class:`~footfall.services.vision.publisher.EventPublisher`.

* A **stream** (:meth:`VisionService.start_stream`) reads a video file, a stream URL or a local camera in
  its own thread and analyses it until stopped; a live source that drops is retried with back-off, and
  every status change is published as ``CameraSourceStatusChanged``.
* **Pushed frames** (:meth:`VisionService.process_frame`) come one by one from clients; frames of the same
  camera share one tracker. A pushed camera idle for ``pushed_idle_s`` ends its tracks and is forgotten.

A camera's counting lines come from the request or, when it names none, from the occupancy service's
active lines for that camera (:class:`OccupancyLines`), scaled from the camera's configured resolution to
the frame size, keeping each line's id so crossings name it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import functools
import logging
import math
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import numpy as np

from footfall.services.core.errors import AlreadyExists, InvalidArgument, NotFound, Unavailable
from footfall.services.core.events import EventBus
from footfall.services.vision import publisher as pub
from footfall.services.vision.lines import LineDirection, LineZone
from footfall.services.vision.face_engine import FaceEngine
from footfall.services.vision.image_limits import DEFAULT_MAX_PIXELS, check_image
from footfall.services.vision.source_policy import SourcePolicy
from footfall.services.vision.sources import Frame, FrameSource, SourceError, VideoFileSource
from footfall.services.vision.track import Track
from footfall.services.vision.tracking import TrackerConfig
from footfall.services.vision.workers import (
    AnalysisEngine,
    CameraLine,
    CameraSession,
    LineSet,
    Snapshot,
    StreamOptions,
    StreamState,
    StreamWorker,
    TrackUpdate,
    open_stream_source,
)
from footfall.services.vision.zones import PolygonZone

log = logging.getLogger(__name__)

DEFAULT_PUSH_CAMERA = "device-camera"
PUSH_SOURCE = "push"
# Messages the REST adapter recognises (it answers them with the seed's `frame_b64 is required`).
IMAGE_REQUIRED = "image is required: send an encoded JPEG or PNG image"
IMAGE_UNDECODABLE = "image is not a decodable image: send JPEG, PNG, WebP or BMP bytes"
_SESSION_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_MAX_CAMERA_ID = 128
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100
LIVE_FRAME_RATE = 10.0
# A detection is reported by ProcessFrame when it belongs to a track or is at least this confident.
REPORT_CONFIDENCE = 0.5

SourceKind = Literal["url", "path", "device"]
LinesProvider = Callable[[str, str], Awaitable[LineSet]]


# --------------------------------------------------------------------------------------------------
# Requests and results (plain data; the servicer converts them from/to protobuf)


@dataclass(frozen=True)
class StreamRequest:
    camera_id: str
    kind: SourceKind
    target: str | int
    lines: tuple[CameraLine, ...] = ()
    zones: tuple[PolygonZone, ...] = ()
    max_fps: float = 0.0
    loop: bool = False
    realtime: bool = False
    max_frames: int = 0
    max_reconnect_attempts: int = 0
    session_id: str = ""
    face_crops: bool | None = None  # None: the service's default (FaceEngine.enabled)
    blur_faces: bool = False


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


@dataclass(frozen=True)
class TrackList:
    camera_id: str
    session: CameraSession
    snapshot: Snapshot | None


@dataclass(frozen=True)
class EncodedFrame:
    jpeg: bytes
    frame_index: int
    timestamp: datetime
    frame_size: tuple[int, int]


@dataclass(eq=False)
class _Watcher:
    org: str
    camera_id: str | None
    queue: asyncio.Queue[TrackUpdate] = field(default_factory=lambda: asyncio.Queue(maxsize=256))
    dropped: int = 0


# --------------------------------------------------------------------------------------------------
# Validation helpers


def validate_camera_id(camera_id: str) -> str:
    camera_id = (camera_id or "").strip()
    if not camera_id:
        raise InvalidArgument("camera_id is required")
    if len(camera_id) > _MAX_CAMERA_ID or any(ord(c) < 32 for c in camera_id):
        raise InvalidArgument(f"camera_id must be 1-{_MAX_CAMERA_ID} printable characters")
    return camera_id


def _finite(value: float, what: str) -> float:
    if not math.isfinite(value):
        raise InvalidArgument(f"{what} must be a finite number")
    return float(value)


def make_line(
    name: str, start: tuple[float, float], end: tuple[float, float], direction: LineDirection | str = "bidirectional",
    *, line_id: int = 0, hysteresis_px: float | None = None,
) -> CameraLine:
    """A validated counting line (InvalidArgument with the reason when malformed)."""
    name = (name or "").strip()
    if not name:
        raise InvalidArgument("every line needs a name")
    coords = [_finite(v, f"line {name!r} coordinates") for v in (*start, *end)]
    try:
        zone = LineZone(name=name, start=(coords[0], coords[1]), end=(coords[2], coords[3]),
                        direction=LineDirection(direction), hysteresis_px=hysteresis_px)
    except ValueError as exc:
        raise InvalidArgument(f"line {name!r}: {exc}") from None
    return CameraLine(zone, int(line_id))


def make_zone(name: str, points: Sequence[tuple[float, float]]) -> PolygonZone:
    name = (name or "").strip()
    if not name:
        raise InvalidArgument("every zone needs a name")
    pts = tuple((_finite(x, f"zone {name!r} points"), _finite(y, f"zone {name!r} points")) for x, y in points)
    try:
        return PolygonZone(name=name, points=pts)
    except ValueError as exc:
        raise InvalidArgument(f"zone {name!r}: {exc}") from None


def _unique(items: Sequence[Any], what: str, name: Callable[[Any], str]) -> None:
    names = [name(i) for i in items]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InvalidArgument(f"{what} names must be unique within a camera: {', '.join(dupes)}")


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


# --------------------------------------------------------------------------------------------------
# Lines from the occupancy service


class OccupancyLines:
    """A camera's active virtual lines from the occupancy service (gRPC), by the camera's external key.

    ``target`` gives the gRPC address when first needed (the in-process server's port is known only once
    it has started). Any failure (occupancy not running, camera unknown) means no lines, with a log line.
    """

    def __init__(self, target: Callable[[], str | None], *, timeout: float = 5.0, credentials: Any = None) -> None:
        self._target = target
        self.timeout = timeout
        # A ServiceCredentials; None: the process's default (set by whoever starts the platform).
        self._credentials = credentials
        self._channel: Any = None

    def _stub(self) -> Any:
        import grpc

        from footfall.v1 import occupancy_pb2_grpc

        if self._channel is None:
            target = self._target()
            if not target:
                raise Unavailable("occupancy service address unknown")
            self._channel = grpc.aio.insecure_channel(target)
        return occupancy_pb2_grpc.OccupancyServiceStub(self._channel)

    def _metadata(self, org: str) -> Any:
        from footfall.services.core.tokens import default_service_credentials

        return (self._credentials or default_service_credentials()).metadata(org)

    async def find_camera(self, org: str, camera_id: str) -> Any | None:
        """The occupancy camera with this external key (one ListCameras call, filtered by the key), or None."""
        from footfall.v1 import occupancy_pb2

        reply = await self._stub().ListCameras(
            occupancy_pb2.ListCamerasRequest(include_inactive=True, page_size=1, camera_key=camera_id),
            metadata=self._metadata(org), timeout=self.timeout,
        )
        return next((c for c in reply.cameras if c.camera_id == camera_id), None)

    async def __call__(self, org: str, camera_id: str) -> LineSet:
        from footfall.v1 import common_pb2, occupancy_pb2

        try:
            camera = await self.find_camera(org, camera_id)
            if camera is None:
                log.info("camera %s/%s is not registered with occupancy: no counting lines", org, camera_id)
                return LineSet()
            stub = self._stub()
            lines: list[Any] = []
            token = ""
            while True:
                reply = await stub.ListLines(
                    occupancy_pb2.ListLinesRequest(camera_id=camera.id, page_size=100, page_token=token),
                    metadata=self._metadata(org), timeout=self.timeout,
                )
                lines.extend(reply.lines)
                token = reply.next_page_token
                if not token:
                    break
        except Exception as exc:  # noqa: BLE001 - occupancy absent or unreachable: stream without lines
            reason = exc.details() if hasattr(exc, "details") and callable(exc.details) else str(exc)
            log.warning("could not read occupancy lines for %s/%s (%s): streaming without lines", org, camera_id,
                        reason or type(exc).__name__)
            return LineSet()
        directions = {
            common_pb2.LINE_DIRECTION_ENTRY: LineDirection.ENTRY,
            common_pb2.LINE_DIRECTION_EXIT: LineDirection.EXIT,
            common_pb2.LINE_DIRECTION_BIDIRECTIONAL: LineDirection.BIDIRECTIONAL,
        }
        out: list[CameraLine] = []
        used: set[str] = set()
        for line in sorted(lines, key=lambda v: v.id):
            if not line.is_active:
                continue
            name = line.line_name or f"line-{line.id}"
            if name in used:
                name = f"{name}#{line.id}"
            used.add(name)
            try:
                out.append(make_line(name, (line.x1, line.y1), (line.x2, line.y2),
                                     directions.get(line.direction, LineDirection.BIDIRECTIONAL), line_id=line.id))
            except InvalidArgument as exc:
                log.warning("skipping occupancy line %d of %s/%s: %s", line.id, org, camera_id, exc)
        size = None
        if camera.resolution_width > 0 and camera.resolution_height > 0:
            size = (int(camera.resolution_width), int(camera.resolution_height))
        return LineSet(tuple(out), size)

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel = None


# --------------------------------------------------------------------------------------------------
# The facade


class VisionService:
    """Camera streams and pushed frames for every organisation, on one shared detector.

    Args:
        bus: Where events are published.
        load_detector: Builds the detector (called once, in a thread); see
            :func:`footfall.services.vision.detection.detector_loader`.
        lines_provider: ``(org, camera_id) -> LineSet`` for cameras started without lines.
        max_batch / batch_window_s / detect_workers: See :class:`AnalysisEngine` (``workers``).
        pushed_idle_s: A pushed camera without frames for this long is closed (its tracks end).
        sources: Which files and URLs callers may stream (default: no files; URLs by the network rule).
        max_image_pixels: Pushed images with more pixels are refused (TooLarge) before they are decoded.
        faces: The face detector for best face crops and face blurring; None: no faces at all.
    """

    def __init__(
        self,
        bus: EventBus,
        load_detector: Callable[[], Any],
        *,
        lines_provider: LinesProvider | None = None,
        max_batch: int = 8,
        batch_window_s: float = 0.01,
        detect_workers: int = 1,
        pushed_idle_s: float = 60.0,
        sources: SourcePolicy | None = None,
        max_image_pixels: int = DEFAULT_MAX_PIXELS,
        faces: FaceEngine | None = None,
    ) -> None:
        self.bus = bus
        self.faces = faces
        self.sources = sources or SourcePolicy()
        self.max_image_pixels = max_image_pixels
        self.engine = AnalysisEngine(load_detector, max_batch=max_batch, batch_window_s=batch_window_s,
                                     workers=detect_workers)
        self.publisher = pub.EventPublisher(bus)
        self.lines_provider = lines_provider
        self.pushed_idle_s = pushed_idle_s
        self._sessions: dict[tuple[str, str], CameraSession] = {}
        self._workers: dict[tuple[str, str], StreamWorker] = {}
        self._camera_locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._watchers: set[_Watcher] = set()
        self._reaper: asyncio.Task[None] | None = None
        self._closing = False
        # Streams as configuration, shared between workers (footfall.services.vision.cluster.VisionCluster):
        # set by the cluster when it runs, which then owns start_stream/stop_stream.
        self.cluster: Any = None
        # Cameras whose lines come from the occupancy service (refresh_lines re-reads them).
        self._occupancy_lines: set[tuple[str, str]] = set()
        # Frames per file of each file stream (None: unknown), for the position a resumed run starts at.
        self.source_frames: dict[tuple[str, str], int | None] = {}

    # ---- lifecycle ----------------------------------------------------------------------------------

    async def start(self, *, preload: bool = True) -> None:
        self.publisher.start()
        self._reaper = asyncio.create_task(self._reap_pushed(), name="vision-reaper")
        if preload:
            task = asyncio.create_task(self._preload(), name="vision-preload")
            task.add_done_callback(lambda t: t.exception() if not t.cancelled() else None)

    async def _preload(self) -> None:
        with contextlib.suppress(Unavailable):
            await self.engine.load()
        if self.faces is not None and self.faces.enabled:
            await self.faces.analyzer()

    @property
    def ready(self) -> bool:
        """Whether the detector is loaded."""
        return self.engine.ready

    async def stop(self) -> None:
        if self.cluster is not None:  # hands the cameras to the other workers first (no-op once done)
            await self.cluster.stop()
        self._closing = True
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
        await asyncio.gather(*(w.stop("service stopping") for w in list(self._workers.values())),
                             return_exceptions=True)
        for session in list(self._sessions.values()):
            if session.kind == PUSH_SOURCE and not session.state.finished:
                with contextlib.suppress(Exception):
                    await session.close()
                    await session.set_state(StreamState.STOPPED, "service stopping")
        await self.publisher.stop()
        await self.engine.close()
        if self.faces is not None:
            await self.faces.close()
        if isinstance(self.lines_provider, OccupancyLines):
            await self.lines_provider.close()

    def _lock(self, org: str, camera_id: str) -> asyncio.Lock:
        return self._camera_locks.setdefault((org, camera_id), asyncio.Lock())

    # ---- streams ------------------------------------------------------------------------------------

    async def _resolve_lines(self, org: str, camera_id: str, lines: Sequence[CameraLine]) -> LineSet:
        if lines:
            _unique(lines, "line", lambda line: line.zone.name)
            return LineSet(tuple(lines))
        if self.lines_provider is None:
            return LineSet()
        try:
            return await asyncio.wait_for(self.lines_provider(org, camera_id), 15)
        except Exception as exc:  # noqa: BLE001
            log.warning("no occupancy lines for %s/%s: %s", org, camera_id, exc)
            return LineSet()

    def _face_options(self, request: StreamRequest | None) -> dict[str, Any]:
        """A new session's face settings: crops unless the stream or the service turned them off; blurring
        when the stream asked (its detector starts loading now, so the first frames are blurred by it)."""
        faces = self.faces
        wanted = request.face_crops if request is not None else None
        blur = request.blur_faces if request is not None else False
        if faces is not None and blur:
            task = asyncio.create_task(faces.analyzer(), name="vision-faces-load")
            task.add_done_callback(lambda t: t.exception() if not t.cancelled() else None)
        return {
            "faces": faces, "blur_faces": blur,
            "face_crops": faces is not None and (faces.enabled if wanted is None else wanted),
        }

    def camera_session(self, org: str, camera_id: str) -> CameraSession | None:
        """The camera's current session, if it runs here (for identities arriving on NATS)."""
        session = self._sessions.get((org, camera_id))
        return session if session is not None and not session.state.finished else None

    def org_sessions(self, org: str) -> list[CameraSession]:
        return [s for (o, _), s in self._sessions.items() if o == org]

    def _recheck_url(self, url: str) -> None:
        """The URL policy again, from a reader thread before a reconnect (DNS may answer differently now)."""
        asyncio.run(self.sources.stream_url(url))

    async def start_stream(self, org: str, request: StreamRequest, *, trusted: bool = False) -> CameraSession:
        """Start analysing a camera's source; returns its session (status connecting).

        ``trusted``: the source comes from the platform itself (the demo feed), not from a caller, so the
        source policy (media roots, URL targets) is not applied. With a cluster the stream is stored and
        survives restarts (see :mod:`footfall.services.vision.cluster`).
        """
        if self.cluster is not None:
            return await self.cluster.start_stream(org, request, trusted=trusted)
        return await self.run_stream(org, request, trusted=trusted)

    async def run_stream(
        self, org: str, request: StreamRequest, *, trusted: bool = False, start_frame: int = 0
    ) -> CameraSession:
        """Run a stream in this process (what start_stream does without a cluster). ``start_frame``: where a
        file stream resumed by another run begins."""
        if self._closing:
            raise Unavailable("vision service is stopping")
        camera_id = validate_camera_id(request.camera_id)
        max_fps = _finite(request.max_fps, "max_fps")
        if max_fps < 0 or request.max_frames < 0 or request.max_reconnect_attempts < 0:
            raise InvalidArgument("max_fps, max_frames and max_reconnect_attempts must not be negative")
        session_id = request.session_id or uuid.uuid4().hex[:12]
        if not _SESSION_RE.match(session_id):
            raise InvalidArgument("session_id must be 1-64 letters, digits, '-' or '_'")
        _unique(request.zones, "zone", lambda z: z.name)
        kind, target = request.kind, request.target
        open_target = target  # what the worker opens: the real path of a file, which callers never see
        if kind == "url":
            target = open_target = str(target).strip()
            if not trusted:
                await self.sources.stream_url(target)
        elif kind == "path":
            target = open_target = str(target).strip()
            if not target:
                raise InvalidArgument("path is required")
            if not trusted:
                open_target = str(await asyncio.to_thread(self.sources.media_file, target))
        elif kind == "device":
            if not isinstance(target, int) or target < 0:
                raise InvalidArgument("device_index must be 0 or more")
        else:
            raise InvalidArgument("a source is required: url, path or device_index")

        async with self._lock(org, camera_id):
            current = self._sessions.get((org, camera_id))
            if current is not None and not current.state.finished:
                raise AlreadyExists(
                    f"camera {camera_id} is already streaming from {current.source}; stop it first"
                )
            first_source: FrameSource | None = None
            fps = LIVE_FRAME_RATE
            if kind == "path":
                try:
                    first_source = await asyncio.to_thread(
                        functools.partial(VideoFileSource, open_target, start_frame=start_frame))
                except SourceError as exc:
                    raise InvalidArgument(str(exc).replace(str(open_target), str(target))) from None
                fps = first_source.fps or LIVE_FRAME_RATE
            if max_fps:
                fps = min(fps, max_fps) if kind == "path" else max_fps
            try:
                line_set = await self._resolve_lines(org, camera_id, request.lines)
            except BaseException:
                if first_source is not None:
                    first_source.close()
                raise
            session = CameraSession(
                org=org, camera_id=camera_id, session_id=session_id, source=str(target), kind=kind,
                lines=line_set, zones=request.zones, engine=self.engine, publisher=self.publisher,
                on_update=self._on_update, tracker=TrackerConfig(frame_rate=fps),
                time_mode="media" if kind == "path" else "wall", **self._face_options(request),
            )
            options = StreamOptions(
                max_fps=max_fps, loop=request.loop, realtime=request.realtime, max_frames=request.max_frames,
                max_reconnect_attempts=request.max_reconnect_attempts,
            )
            recheck = None if trusted or kind != "url" else self._recheck_url
            opener = open_stream_source(kind, open_target, max_reconnect_attempts=request.max_reconnect_attempts,
                                        recheck=recheck)
            worker = StreamWorker(session, opener, options, first_source)
            self._sessions[(org, camera_id)] = session
            self._workers[(org, camera_id)] = worker
            if not request.lines:
                self._occupancy_lines.add((org, camera_id))
            else:
                self._occupancy_lines.discard((org, camera_id))
            if isinstance(first_source, VideoFileSource):
                self.source_frames[(org, camera_id)] = first_source.frame_count
            worker.start()
        log.info("stream %s/%s started from %s (session %s, %d lines, %d zones)", org, camera_id, target,
                 session_id, len(line_set.lines), len(request.zones))
        return session

    async def stop_stream(self, org: str, camera_id: str) -> CameraSession:
        """Stop a camera (stream or pushed frames); its open tracks end. The camera stays listed, stopped.
        With a cluster the stored stream is removed too, so it is not started again."""
        if self.cluster is not None:
            return await self.cluster.stop_stream(org, validate_camera_id(camera_id))
        return await self.halt_stream(org, camera_id)

    async def halt_stream(self, org: str, camera_id: str, reason: str = "stopped on request") -> CameraSession:
        """Stop a camera's run in this process (its stored definition, if any, stays)."""
        camera_id = validate_camera_id(camera_id)
        async with self._lock(org, camera_id):
            session = self._session(org, camera_id)
            worker = self._workers.pop((org, camera_id), None)
            if worker is not None:
                await worker.stop(reason)
            elif not session.state.finished:
                await session.close()
                await session.set_state(StreamState.STOPPED, reason)
        return session

    async def refresh_lines(self, org: str, camera_id: str) -> bool:
        """Re-read the occupancy lines of a running camera that counts on them and swap them in between two
        frames (a line edited in occupancy); False when the camera does not run here on occupancy lines."""
        session = self.camera_session(org, camera_id)
        if session is None or (org, camera_id) not in self._occupancy_lines:
            return False
        line_set = await self._resolve_lines(org, camera_id, ())
        if self.camera_session(org, camera_id) is not session:  # replaced or stopped meanwhile
            return False
        await session.reconfigure(lines=line_set)
        return True

    async def wait_stream(self, org: str, camera_id: str, timeout: float | None = None) -> CameraSession:
        """Wait until a stream has finished (a file ended, max_frames reached, failed or stopped)."""
        session = self._session(org, camera_id)
        worker = self._workers.get((org, camera_id))
        if worker is not None:
            await asyncio.wait_for(worker.wait(), timeout)
        return session

    def _session(self, org: str, camera_id: str) -> CameraSession:
        session = self._sessions.get((org, validate_camera_id(camera_id)))
        if session is None:
            raise NotFound(f"camera {camera_id} not found: it has no stream and no pushed frames")
        return session

    async def get_stream(self, org: str, camera_id: str) -> CameraSession:
        return self._session(org, camera_id)

    async def list_streams(self, org: str, page_size: int = 0, page_token: str = "") -> tuple[list[CameraSession], str]:
        if page_size < 0:
            raise InvalidArgument("page_size must not be negative")
        size = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        after = ""
        if page_token:
            try:
                after = base64.urlsafe_b64decode(page_token.encode()).decode()
            except (binascii.Error, UnicodeDecodeError, ValueError):
                raise InvalidArgument("invalid page_token") from None
        sessions = sorted((s for (o, _), s in self._sessions.items() if o == org), key=lambda s: s.camera_id)
        if after:
            sessions = [s for s in sessions if s.camera_id > after]
        page = sessions[:size]
        token = ""
        if len(sessions) > size:
            token = base64.urlsafe_b64encode(page[-1].camera_id.encode()).decode()
        return page, token

    # ---- pushed frames ------------------------------------------------------------------------------

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
                **self._face_options(None),
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

    # ---- tracks -------------------------------------------------------------------------------------

    async def list_tracks(self, org: str, camera_id: str) -> TrackList:
        session = self._session(org, camera_id)
        return TrackList(session.camera_id, session, session.snapshot)

    def _on_update(self, update: TrackUpdate) -> None:
        for watcher in self._watchers:
            if watcher.org != update.org or (watcher.camera_id is not None and watcher.camera_id != update.camera_id):
                continue
            if watcher.queue.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    watcher.queue.get_nowait()
                    watcher.dropped += 1
            watcher.queue.put_nowait(update)

    async def watch_tracks(self, org: str, camera_id: str | None = None) -> AsyncIterator[TrackUpdate]:
        """Every analysed frame's tracks (one camera, or every camera of ``org``) until the caller stops."""
        if camera_id:
            self._session(org, camera_id)
        watcher = _Watcher(org, validate_camera_id(camera_id) if camera_id else None)
        self._watchers.add(watcher)
        try:
            while True:
                yield await watcher.queue.get()
        finally:
            self._watchers.discard(watcher)

    async def watch_frames(
        self, org: str, camera_id: str, *, max_fps: float = 0.0, quality: int = 80
    ) -> AsyncIterator[EncodedFrame]:
        """The camera's frames with the overlay drawn, as JPEG; ends when its stream has finished."""
        session = self._session(org, camera_id)
        if session.blur_faces and self.faces is not None:
            await self.faces.analyzer()  # blur by detection from the first frame sent
        quality = int(quality) if 1 <= int(quality) <= 100 else 80
        min_gap = 1.0 / max_fps if max_fps and max_fps > 0 else 0.0
        sent_version = 0
        sent_at = -math.inf
        while True:
            snap = session.snapshot
            fresh = snap is not None and snap.image is not None and snap.version != sent_version
            if fresh and snap is not None:
                wait = sent_at + min_gap - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                    continue
                data = await asyncio.to_thread(session.render_jpeg, snap, quality)
                sent_version, sent_at = snap.version, time.monotonic()
                assert snap.image is not None
                yield EncodedFrame(data, snap.frame_index, snap.wall_time,
                                   (int(snap.image.shape[1]), int(snap.image.shape[0])))
                continue
            if session.state.finished:
                return
            async with session.changed:
                if session.snapshot is snap and not session.state.finished:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(session.changed.wait(), 1.0)
