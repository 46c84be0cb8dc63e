"""The vision service's domain facade (no transport): camera streams, pushed frames, tracks, live view.

One :class:`VisionService` serves every organisation. It owns one person detector, shared by every
camera through :class:`~footfall.services.vision.engine.AnalysisEngine` (frames of different cameras are detected
in one batched call), and one :class:`~footfall.services.vision.publisher.EventPublisher`.

* A **stream** (:meth:`VisionService.start_stream`) reads a video file, a stream URL or a local camera in
  its own thread and analyses it until stopped; a live source that drops is retried with back-off, and
  every status change is published as ``CameraSourceStatusChanged``.
* **Pushed frames** (:meth:`VisionService.process_frame`, :mod:`~footfall.services.vision.pushed_frames`) come
  one by one from clients; frames of the same camera share one tracker. A pushed camera idle for
  ``pushed_idle_s`` ends its tracks and is forgotten.
* **Tracks and the live view** (:mod:`~footfall.services.vision.live_view`): every analysed frame's tracks,
  and its JPEG with the overlay.

A camera's counting lines come from the request or, when it names none, from the occupancy service's
active lines for that camera (:class:`~footfall.services.vision.occupancy_lines.OccupancyLines`), scaled
from the camera's configured resolution to the frame size, keeping each line's id so crossings name it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import functools
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from footfall.services.core.errors import AlreadyExists, InvalidArgument, NotFound, Unavailable
from footfall.services.core.events import EventBus
from footfall.services.vision import publisher as pub
from footfall.services.vision.camera_lines import CameraLine, LineSet
from footfall.services.vision.camera_session import CameraSession, StreamState
from footfall.services.vision.engine import AnalysisEngine
from footfall.services.vision.face_engine import FaceEngine
from footfall.services.vision.image_limits import DEFAULT_MAX_PIXELS
from footfall.services.vision.live_view import LiveView, TrackWatcher
from footfall.services.vision.occupancy_lines import OccupancyLines
from footfall.services.vision.pushed_frames import LIVE_FRAME_RATE, PUSH_SOURCE, PushedFrames
from footfall.services.vision.source_policy import SourcePolicy
from footfall.services.vision.sources import FrameSource, SourceError, VideoFileSource
from footfall.services.vision.stream_requests import (
    StreamRequest,
    finite_number,
    unique_names,
    validate_camera_id,
)
from footfall.services.vision.stream_worker import StreamOptions, StreamWorker, open_stream_source
from footfall.services.vision.tracking import TrackerConfig

log = logging.getLogger(__name__)

_SESSION_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100

LinesProvider = Callable[[str, str], Awaitable[LineSet]]


class VisionService(PushedFrames, LiveView):
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
        blur_cameras: Camera keys whose outgoing images are always blurred, streamed or pushed (``*``: every
            camera); a stream can also ask for it (``blur_faces``).
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
        blur_cameras: frozenset[str] = frozenset(),
    ) -> None:
        self.bus = bus
        self.faces = faces
        self.blur_cameras = frozenset(blur_cameras)
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
        self._watchers: set[TrackWatcher] = set()
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
            unique_names(lines, "line", lambda line: line.zone.name)
            return LineSet(tuple(lines))
        if self.lines_provider is None:
            return LineSet()
        try:
            return await asyncio.wait_for(self.lines_provider(org, camera_id), 15)
        except Exception as exc:  # noqa: BLE001
            log.warning("no occupancy lines for %s/%s: %s", org, camera_id, exc)
            return LineSet()

    def _face_options(self, camera_id: str, request: StreamRequest | None) -> dict[str, Any]:
        """A new session's face settings: crops unless the stream or the service turned them off; blurring
        when the stream asked or the camera is one the service always blurs (its detector starts loading now,
        so the first frames are blurred by it)."""
        faces = self.faces
        wanted = request.face_crops if request is not None else None
        blur = (request is not None and request.blur_faces) or bool({camera_id, "*"} & self.blur_cameras)
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
        max_fps = finite_number(request.max_fps, "max_fps")
        if max_fps < 0 or request.max_frames < 0 or request.max_reconnect_attempts < 0:
            raise InvalidArgument("max_fps, max_frames and max_reconnect_attempts must not be negative")
        session_id = request.session_id or uuid.uuid4().hex[:12]
        if not _SESSION_RE.match(session_id):
            raise InvalidArgument("session_id must be 1-64 letters, digits, '-' or '_'")
        unique_names(request.zones, "zone", lambda z: z.name)
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
                time_mode="media" if kind == "path" else "wall", **self._face_options(camera_id, request),
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
