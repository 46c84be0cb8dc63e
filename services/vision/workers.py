"""Camera workers: read frames in threads, analyse them in batches on one shared detector, publish events.

* :class:`FrameReader` decodes a :class:`~footfall.services.vision.sources.FrameSource` in its own thread. Files are
  read frame by frame with back-pressure (every frame is analysed unless a frame-rate limit skips it);
  live sources keep only the newest frame, so a slow analysis never builds up latency
  (:attr:`StreamOptions.every_frame` says which, explicitly).
* :class:`~footfall.services.vision.engine.AnalysisEngine` (engine.py) owns the one detector and the
  pipeline of every camera.
* :class:`CameraSession` is one run of one camera (a stream, or frames pushed by clients): its lines and
  zones, counters, status, latest frame and tracks; it turns each :class:`FrameResult` into events.
* :class:`StreamWorker` is the task that drives a session from a source: pacing, frame-rate limit,
  looping files, reconnect status, and the end of the stream.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import Enum

import numpy as np

from footfall.services.core.errors import Unavailable
from footfall.services.core.logging import bind_log_context
from footfall.services.core.metrics import FRAMES_ANALYSED, FRAMES_DROPPED, STREAM_FPS, STREAM_UP
from footfall.services.vision import publisher as pub
from footfall.services.vision.engine import Analysis, AnalysisEngine
from footfall.services.vision.face_engine import FaceEngine
from footfall.services.vision.faces import FaceCrop
from footfall.services.vision.identities import TrackIdentity
from footfall.services.vision.lines import LineZone
from footfall.services.vision.pipeline import CameraConfig, FrameResult
from footfall.services.vision.sources import (
    Frame, FrameSource, LiveSource, SourceError, SourceStatus, VideoFileSource, open_live_capture,
)
from footfall.services.vision.track import Track
from footfall.services.vision.tracking import TrackerConfig
from footfall.services.vision.zones import PolygonZone

log = logging.getLogger(__name__)


class StreamState(str, Enum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    FAILED = "failed"
    STOPPED = "stopped"

    @property
    def finished(self) -> bool:
        return self in (StreamState.FAILED, StreamState.STOPPED)


@dataclass(frozen=True)
class CameraLine:
    """A counting line and the occupancy line id it stands for (0 when it has none)."""

    zone: LineZone
    line_id: int = 0

    def scaled(self, sx: float, sy: float) -> CameraLine:
        if sx == 1.0 and sy == 1.0:
            return self
        start = (self.zone.start[0] * sx, self.zone.start[1] * sy)
        end = (self.zone.end[0] * sx, self.zone.end[1] * sy)
        return replace(self, zone=replace(self.zone, start=start, end=end))


@dataclass(frozen=True)
class LineSet:
    """Lines with the frame size their coordinates refer to (None: the frame's own pixels)."""

    lines: tuple[CameraLine, ...] = ()
    reference_size: tuple[int, int] | None = None

    def for_frame(self, size: tuple[int, int]) -> tuple[CameraLine, ...]:
        if self.reference_size is None or self.reference_size == size:
            return self.lines
        sx = size[0] / self.reference_size[0]
        sy = size[1] / self.reference_size[1]
        return tuple(line.scaled(sx, sy) for line in self.lines)


# --------------------------------------------------------------------------------------------------
# Reading frames


class FrameReader:
    """Iterates a source in a daemon thread; :meth:`get` hands frames to the event loop.

    ``latest_only`` (live sources): keep only the newest frame, counting the ones replaced in
    :attr:`dropped`. Otherwise (files) the thread waits while ``maxsize`` frames are queued.
    """

    def __init__(self, source: FrameSource, *, latest_only: bool, maxsize: int = 2, name: str = "frames") -> None:
        self.source = source
        self.latest_only = latest_only
        self.maxsize = 1 if latest_only else max(1, maxsize)
        self.dropped = 0
        self.error: BaseException | None = None
        self._buf: collections.deque[Frame] = collections.deque()
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._done = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = asyncio.Event()
        self._thread = threading.Thread(target=self._run, name=f"reader:{name}", daemon=True)

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._thread.start()

    def _wake(self) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._ready.set)

    def _run(self) -> None:
        iterator = iter(self.source)
        try:
            for frame in iterator:
                with self._cond:
                    if self._stop.is_set():
                        break
                    if self.latest_only:
                        if self._buf:
                            self._buf.clear()
                            self.dropped += 1
                    else:
                        while len(self._buf) >= self.maxsize and not self._stop.is_set():
                            self._cond.wait(0.2)
                        if self._stop.is_set():
                            break
                    self._buf.append(frame)
                self._wake()
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            self.error = exc
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    close()
            with contextlib.suppress(Exception):
                self.source.close()
            with self._cond:
                self._done = True
            self._wake()

    async def get(self) -> Frame | None:
        """The next frame; None at the end of the source or once stopped. Raises the source's error."""
        while True:
            self._ready.clear()
            if self._stop.is_set():
                return None
            with self._cond:
                if self._buf:
                    frame = self._buf.popleft()
                    self._cond.notify_all()
                    return frame
                if self._done:
                    if self.error is not None:
                        raise self.error
                    return None
            await self._ready.wait()

    def stop(self) -> None:
        """Ask the thread to finish (live sources are closed at once; files after the current frame)."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if isinstance(self.source, LiveSource):
            self.source.close()
        self._ready.set()

    async def join(self, timeout: float = 2.0) -> None:
        if self._thread.is_alive():
            await asyncio.to_thread(self._thread.join, timeout)


# --------------------------------------------------------------------------------------------------
# One run of one camera


@dataclass(frozen=True)
class Snapshot:
    """The latest analysed frame of a camera."""

    version: int
    frame_index: int
    timestamp: float
    wall_time: datetime
    image: np.ndarray | None
    tracks: tuple[Track, ...]
    line_counts: dict[str, dict[str, int]]
    zone_occupancy: dict[str, int]


@dataclass(frozen=True)
class TrackUpdate:
    """What one analysed frame changed: for WatchTracks subscribers."""

    org: str
    camera_id: str
    session: CameraSession
    frame_index: int
    wall_time: datetime
    tracks: tuple[Track, ...]
    crossings: tuple[pub.Outgoing, ...]
    ended_track_ids: tuple[str, ...]


class _FpsMeter:
    def __init__(self, window_s: float = 5.0) -> None:
        self.window_s = window_s
        self._times: collections.deque[float] = collections.deque()

    def tick(self, now: float) -> None:
        self._times.append(now)
        while self._times and now - self._times[0] > self.window_s:
            self._times.popleft()

    def rate(self, now: float) -> float:
        while self._times and now - self._times[0] > self.window_s:
            self._times.popleft()
        if len(self._times) < 2:
            return 0.0
        span = self._times[-1] - self._times[0]
        return (len(self._times) - 1) / span if span > 0 else 0.0


class CameraSession:
    """One run of one camera: configuration, counters, status, latest frame, and its events.

    ``publisher`` None: nothing is published (a file analysed outside the platform, ``footfall process``).
    """

    def __init__(
        self,
        *,
        org: str,
        camera_id: str,
        session_id: str,
        source: str,
        kind: str,
        lines: LineSet,
        zones: Sequence[PolygonZone],
        engine: AnalysisEngine,
        publisher: pub.EventPublisher | None,
        on_update: Callable[[TrackUpdate], None],
        tracker: TrackerConfig | None = None,
        time_mode: str = "wall",
        faces: FaceEngine | None = None,
        face_crops: bool = False,
        blur_faces: bool = False,
        on_result: Callable[[FrameResult, bool], None] | None = None,
    ) -> None:
        self.org = org
        self.camera_id = camera_id
        self.session_id = session_id
        self.source = source
        self.kind = kind  # "url" | "path" | "device" | "push"
        self.line_set = lines
        self.lines: tuple[CameraLine, ...] = lines.lines if lines.reference_size is None else ()
        self.zones = tuple(zones)
        self.engine = engine
        self.publisher = publisher
        self._on_update = on_update
        # Every FrameResult in order, and whether it is an analysed frame (False: tracks ended without one);
        # ``footfall process`` sums them up.
        self._on_result = on_result
        self.tracker = tracker or TrackerConfig()
        self.time_mode = time_mode  # "wall": stream timestamps are epoch seconds; "media": seconds from start
        self.key = f"{org}/{camera_id}/{session_id}"
        self.state = StreamState.CONNECTING
        self.detail = ""
        self.frames = 0
        self.frames_skipped = 0
        self.reconnects = 0
        self.frame_size: tuple[int, int] | None = None
        self.started_at = datetime.now(UTC)
        self._started_mono = time.monotonic()
        self._media_origin: float | None = None
        self.last_frame_at: datetime | None = None
        self.last_activity = time.monotonic()
        self.snapshot: Snapshot | None = None
        self.changed = asyncio.Condition()
        self.lock = asyncio.Lock()  # one frame at a time (pushed frames)
        self._fps = _FpsMeter()
        self._added = False
        self._line_counts: dict[str, dict[str, int]] = {}
        self._zone_occupancy: dict[str, int] = {}
        self._jpeg_cache: tuple[int, int, bytes] | None = None
        # Called with a frame's index before its events are published; False: do not publish them (this
        # worker no longer owns the camera). The vision cluster records the stream's position there.
        self.before_publish: Callable[[int], Awaitable[bool]] | None = None
        self.faces = faces
        self.face_sampler = faces.sampler() if faces is not None and face_crops else None
        self.blur_faces = blur_faces
        self.identities: dict[int, TrackIdentity] = {}  # tracker id -> who the identity service says it is
        self.events = pub.EventContext(
            org=org, camera_id=camera_id, session_id=session_id, wall_time=self.wall_time,
            track_key=self.track_key, line_ids={}, frame_size=None,
        )

    # ---- identity and time --------------------------------------------------------------------------

    def track_key(self, track_id: int) -> str:
        """The published id of a tracker id: unique per camera session."""
        return f"{self.session_id}-{track_id}"

    def wall_time(self, ts: float) -> datetime:
        """When a stream time happened. Files: session start + media time, never later than now."""
        if self.time_mode == "wall":
            return datetime.fromtimestamp(ts, UTC)
        origin = self._media_origin if self._media_origin is not None else 0.0
        at = self.started_at.timestamp() + (ts - origin)
        return datetime.fromtimestamp(min(at, time.time()), UTC)

    @property
    def fps(self) -> float:
        return self._fps.rate(time.monotonic())

    @property
    def line_counts(self) -> dict[str, dict[str, int]]:
        return self._line_counts

    # ---- lifecycle ----------------------------------------------------------------------------------

    async def ensure_added(self, frame_size: tuple[int, int], *, streaming: bool) -> None:
        """Register the camera with the engine at its first frame (lines scaled to the frame size)."""
        if self._added:
            return
        self.frame_size = frame_size
        self.lines = self.line_set.for_frame(frame_size)
        config = CameraConfig(lines=tuple(line.zone for line in self.lines), zones=self.zones, tracker=self.tracker)
        await self.engine.add_camera(self.key, config, streaming=streaming)
        self._added = True
        self.events = replace(self.events, line_ids={line.zone.name: line.line_id for line in self.lines},
                              frame_size=frame_size)
        self._line_counts = {line.zone.name: {"in": 0, "out": 0} for line in self.lines}
        self._zone_occupancy = {zone.name: 0 for zone in self.zones}

    async def analyse(self, frame: Frame, *, streaming: bool) -> Analysis:
        """Analyse one frame and apply its result (pushed frames: one at a time)."""
        return await self.complete(frame, await self.submit(frame, streaming=streaming))

    async def submit(self, frame: Frame, *, streaming: bool) -> asyncio.Future[Analysis]:
        """Hand a frame to the engine; :meth:`complete` it (in submission order) to apply its result."""
        await self.ensure_added(frame.size, streaming=streaming)
        if self._media_origin is None:
            self._media_origin = frame.timestamp
        return self.engine.submit(self.key, frame)

    async def complete(self, frame: Frame, pending: asyncio.Future[Analysis]) -> Analysis:
        """Wait for a submitted frame's analysis, then publish its events and make it the latest snapshot."""
        try:
            analysis = await pending
        except asyncio.CancelledError:
            pending.cancel()
            raise
        self._line_counts = analysis.line_counts
        self._zone_occupancy = analysis.zone_occupancy
        await self.apply(analysis.result, frame.image, await self._sample_faces(frame, analysis.result))
        return analysis

    async def _sample_faces(self, frame: Frame, result: FrameResult) -> list[FaceCrop]:
        """This frame's face crops worth publishing; a face failure costs the crops, never the frame."""
        if self.face_sampler is None or self.faces is None:
            return []
        try:
            return await self.faces.sample(self.face_sampler, frame.image, result.tracks, result.frame_index,
                                           result.timestamp)
        except Exception as exc:  # noqa: BLE001
            log.warning("stream %s: face sampling at frame %d failed: %s", self.key, result.frame_index, exc)
            return []

    async def apply(
        self, result: FrameResult, image: np.ndarray | None, faces: Sequence[FaceCrop] = ()
    ) -> list[pub.Outgoing]:
        """Publish a result's events (without a publisher: hand the result to ``on_result`` only) and make it
        the latest snapshot."""
        if self._on_result is not None:
            self._on_result(result, image is not None)
        crossings: list[pub.Outgoing] = []
        outgoing: list[pub.Outgoing] = []
        if self.publisher is not None:
            crossings = [pub.crossing_event(self.events, c) for c in result.crossings]
            outgoing = list(crossings)
            outgoing += [pub.zone_event(self.events, z) for z in result.zone_events]
            outgoing += [pub.face_crop_event(self.events, c) for c in faces]
            outgoing += [pub.track_end_event(self.events, e) for e in result.ended]
        if result.ended:
            ended = [e.track_id for e in result.ended]
            if self.face_sampler is not None:
                self.face_sampler.forget(ended)
            for track_id in ended:
                self.identities.pop(track_id, None)
        if outgoing and self.publisher is not None and (
            self.before_publish is None or await self.before_publish(result.frame_index)
        ):
            await self.publisher.put(self.org, outgoing)
        now = datetime.now(UTC)
        if image is not None:
            self.frames += 1
            self.last_frame_at = now
            self.last_activity = time.monotonic()
            self._fps.tick(self.last_activity)
            FRAMES_ANALYSED.labels(self.org, self.camera_id).inc()
            STREAM_FPS.labels(self.org, self.camera_id).set(self._fps.rate(self.last_activity))
        previous = self.snapshot
        self.snapshot = Snapshot(
            version=(previous.version + 1) if previous else 1, frame_index=result.frame_index,
            timestamp=result.timestamp, wall_time=self.wall_time(result.timestamp),
            image=image if image is not None else (previous.image if previous else None),
            tracks=result.tracks, line_counts={k: dict(v) for k, v in self._line_counts.items()},
            zone_occupancy=dict(self._zone_occupancy) if image is not None else {},
        )
        self._on_update(TrackUpdate(
            org=self.org, camera_id=self.camera_id, session=self, frame_index=result.frame_index,
            wall_time=self.snapshot.wall_time, tracks=result.tracks, crossings=tuple(crossings),
            ended_track_ids=tuple(self.track_key(e.track_id) for e in result.ended),
        ))
        async with self.changed:
            self.changed.notify_all()
        return crossings

    # ---- identities ---------------------------------------------------------------------------------

    def attach_identity(self, track_key: str, identity: TrackIdentity) -> bool:
        """Hold a recognition on the track it names, while that track is in view; False otherwise."""
        prefix = f"{self.session_id}-"
        if not track_key.startswith(prefix) or not track_key[len(prefix):].isdigit():
            return False
        track_id = int(track_key[len(prefix):])
        snapshot = self.snapshot
        if snapshot is None or all(t.track_id != track_id for t in snapshot.tracks):
            return False
        self.identities[track_id] = identity
        self._jpeg_cache = None
        return True

    def forget_customer(self, customer_id: int) -> None:
        """Drop an erased customer from every track."""
        for track_id in [t for t, who in self.identities.items() if who.customer_id == customer_id]:
            del self.identities[track_id]
        self._jpeg_cache = None

    def identity_of(self, track_id: int) -> TrackIdentity | None:
        return self.identities.get(track_id)

    async def reconfigure(
        self, lines: LineSet | None = None, zones: Sequence[PolygonZone] | None = None
    ) -> None:
        """Change the counting lines and/or zones of a running camera between two frames; counts of the
        lines that did not change continue (see :meth:`AnalysisEngine.reconfigure_camera`)."""
        if lines is not None:
            self.line_set = lines
        if zones is not None:
            self.zones = tuple(zones)
        if not self._added or self.frame_size is None:  # applied at the first frame (ensure_added)
            self.lines = self.line_set.lines if self.line_set.reference_size is None else ()
            return
        self.lines = self.line_set.for_frame(self.frame_size)
        config = CameraConfig(lines=tuple(line.zone for line in self.lines), zones=self.zones, tracker=self.tracker)
        swapped = await self.engine.reconfigure_camera(self.key, config)
        self.events = replace(self.events, line_ids={line.zone.name: line.line_id for line in self.lines})
        if swapped is not None:
            self._line_counts, self._zone_occupancy = swapped
        self._jpeg_cache = None
        log.info("stream %s: now %d lines, %d zones", self.key, len(self.lines), len(self.zones))

    async def end_tracks(self) -> None:
        """End every open track now (looping file wrapped), publishing their ends."""
        if self._added:
            result = await self.engine.end_tracks(self.key)
            await self.apply(result, None)

    async def close(self) -> None:
        """Remove the camera from the engine; its open tracks end and are published."""
        if self._added:
            self._added = False
            result = await self.engine.remove_camera(self.key)
            if result is not None:
                await self.apply(result, None)
        self.identities.clear()
        if self.snapshot is not None:
            self.snapshot = replace(self.snapshot, tracks=(), version=self.snapshot.version + 1)
        async with self.changed:
            self.changed.notify_all()

    async def set_state(self, state: StreamState, detail: str = "", *, publish: bool = True) -> None:
        changed = state is not self.state
        self.state = state
        for each in StreamState:  # footfall_stream_state: 1 for the state it is in, 0 for the others
            STREAM_UP.labels(self.org, self.camera_id, each.value).set(1 if each is state else 0)
        self.detail = detail
        if changed and publish and state is not StreamState.CONNECTING and self.publisher is not None:
            await self.publisher.put(self.org, [pub.status_event(self.camera_id, state.value, detail)])
        async with self.changed:
            self.changed.notify_all()

    # ---- the live view ------------------------------------------------------------------------------

    def render_jpeg(self, snapshot: Snapshot, quality: int) -> bytes:
        """In a thread: the snapshot drawn and JPEG-encoded (cached per snapshot version and quality)."""
        from footfall.services.vision.blur import blur_regions, head_boxes
        from footfall.services.vision.render import encode_jpeg, render_overlay

        cached = self._jpeg_cache
        if cached is not None and cached[0] == snapshot.version and cached[1] == quality:
            return cached[2]
        assert snapshot.image is not None
        image = snapshot.image
        if self.blur_faces:
            image = self.faces.blur(image, snapshot.tracks) if self.faces is not None else blur_regions(
                image, head_boxes(snapshot.tracks), padding=0.0)
        names = {tid: f"{tid} {who.name or who.user_id}" for tid, who in list(self.identities.items())}
        image = render_overlay(
            image, snapshot.tracks, [line.zone for line in self.lines], self.zones,
            snapshot.line_counts, snapshot.zone_occupancy, track_labels=names,
        )
        data = encode_jpeg(image, quality)
        self._jpeg_cache = (snapshot.version, quality, data)
        return data


# --------------------------------------------------------------------------------------------------
# Driving a session from a source


@dataclass(frozen=True)
class StreamOptions:
    """How a worker reads its source.

    ``every_frame``: True reads every frame with back-pressure (the reader waits for the analysis, nothing is
    dropped: what a file needs for results identical to ``footfall process``); False keeps only the newest frame
    (a live camera: a slow analysis never builds up latency). None: True for files, False for live sources.
    ``time_origin``: seconds added to every frame's timestamp (a file's media time starts there).
    """

    max_fps: float = 0.0
    loop: bool = False
    realtime: bool = False
    max_frames: int = 0
    max_reconnect_attempts: int = 0
    every_frame: bool | None = None
    time_origin: float = 0.0


# Consecutive frames whose analysis fails before a stream is failed.
MAX_ERRORS_IN_A_ROW = 10

_SOURCE_STATES = {
    SourceStatus.CONNECTING: StreamState.CONNECTING,
    SourceStatus.CONNECTED: StreamState.CONNECTED,
    SourceStatus.RECONNECTING: StreamState.RECONNECTING,
    SourceStatus.FAILED: StreamState.FAILED,
}


class StreamWorker:
    """The task that reads a camera's source and feeds its session until stopped or the source ends."""

    def __init__(
        self,
        session: CameraSession,
        open_source: Callable[[Callable[[SourceStatus, str | None], None] | None], FrameSource],
        options: StreamOptions,
        first_source: FrameSource | None = None,
    ) -> None:
        self.session = session
        self._open_source = open_source
        self.options = options
        self._first_source = first_source
        self._task: asyncio.Task[None] | None = None
        self._reader: FrameReader | None = None
        self._stop_reason = ""
        self._stopping = asyncio.Event()
        self._errors_in_a_row = 0
        self._status_tasks: set[asyncio.Task[None]] = set()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"vision-stream:{self.session.key}")

    async def stop(self, reason: str = "stopped on request", timeout: float = 10.0) -> None:
        """Stop after the frame in analysis (its events are published); cancel after ``timeout``."""
        self._stop_reason = reason
        self._stopping.set()
        if self._reader is not None:
            self._reader.stop()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        except (asyncio.CancelledError, Exception) as exc:  # noqa: BLE001 - the task logged its own failure
            log.debug("stream %s ended with %r", self.session.key, exc)

    async def wait(self) -> None:
        if self._task is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.shield(self._task)

    # Called from the reader thread by LiveSource.
    def _status_callback(self, loop: asyncio.AbstractEventLoop) -> Callable[[SourceStatus, str | None], None]:
        def on_status(status: SourceStatus, detail: str | None) -> None:
            state = _SOURCE_STATES.get(status)
            if state is None:
                return

            def apply() -> None:
                if status is SourceStatus.RECONNECTING:
                    self.session.reconnects += 1
                task = asyncio.ensure_future(self.session.set_state(state, detail or ""))
                self._status_tasks.add(task)
                task.add_done_callback(self._status_tasks.discard)

            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(apply)

        return on_status

    async def _run(self) -> None:
        session, opts = self.session, self.options
        bind_log_context(org=session.org, camera=session.camera_id)  # this task's log records name the camera
        loop = asyncio.get_running_loop()
        index_offset = 0
        time_offset = opts.time_origin
        last_index = -1
        last_ts: float | None = None
        last_analysed_ts: float | None = None
        pace_origin: tuple[float, float] | None = None  # (monotonic, stream ts) for realtime pacing
        min_gap = 1.0 / opts.max_fps if opts.max_fps > 0 else 0.0
        submitted = 0
        # Frames in the engine at once: as many as it detects concurrently, so one file keeps every worker busy.
        depth = max(1, getattr(session.engine, "workers", 1))
        in_flight: collections.deque[tuple[Frame, asyncio.Future[Analysis]]] = collections.deque()
        final_state, final_detail = StreamState.STOPPED, ""
        source = self._first_source
        try:
            while True:
                if source is None:
                    source = await asyncio.to_thread(self._open_source, self._status_callback(loop))
                is_live = isinstance(source, LiveSource)
                every_frame = (not is_live) if opts.every_frame is None else opts.every_frame
                fps = source.fps or 0.0
                self._reader = reader = FrameReader(
                    source, latest_only=not every_frame, maxsize=depth + 1, name=session.key
                )
                if self._stopping.is_set():
                    reader.stop()
                reader.start()
                source = None
                dropped_seen = 0
                while True:
                    try:
                        frame = await reader.get()
                    except SourceError as exc:
                        await self._drain(in_flight)
                        final_state, final_detail = StreamState.FAILED, str(exc)
                        return
                    if frame is None or self._stopping.is_set():
                        break
                    if reader.dropped > dropped_seen:
                        session.frames_skipped += reader.dropped - dropped_seen
                        FRAMES_DROPPED.labels(session.org, session.camera_id).inc(reader.dropped - dropped_seen)
                        dropped_seen = reader.dropped
                    index = frame.index + index_offset
                    ts = frame.timestamp + time_offset
                    if last_ts is not None and ts <= last_ts:
                        ts = last_ts + (1.0 / fps if fps else 1e-3)
                    last_index, last_ts = index, ts
                    if min_gap and last_analysed_ts is not None and ts - last_analysed_ts < min_gap - 1e-6:
                        session.frames_skipped += 1
                        continue
                    if opts.realtime and not is_live:
                        if pace_origin is None:
                            pace_origin = (time.monotonic(), ts)
                        delay = pace_origin[0] + (ts - pace_origin[1]) - time.monotonic()
                        if delay < -0.5:  # fell behind (slow analysis): re-anchor instead of bursting
                            pace_origin, delay = (time.monotonic(), ts), 0.0
                        if delay > 0:
                            with contextlib.suppress(TimeoutError):
                                await asyncio.wait_for(self._stopping.wait(), delay)
                            if self._stopping.is_set():
                                break
                    if session.state is not StreamState.CONNECTED:
                        await session.set_state(StreamState.CONNECTED, "")
                    shifted = Frame(frame.image, index, ts)
                    in_flight.append((shifted, await session.submit(shifted, streaming=True)))
                    last_analysed_ts = ts
                    submitted += 1
                    while len(in_flight) >= depth:
                        await self._complete_oldest(in_flight)
                    if opts.max_frames and submitted >= opts.max_frames:
                        await self._drain(in_flight)
                        final_detail = f"analysed {submitted} frames (max_frames)"
                        return
                await self._drain(in_flight)
                await reader.join()
                if self._stopping.is_set():
                    final_detail = self._stop_reason
                    return
                if is_live:
                    # A LiveSource ends only when closed (stop) or after reporting failure.
                    final_detail = self._stop_reason or "source closed"
                    return
                if not opts.loop:
                    final_detail = "end of video file"
                    return
                # Looping file: people do not teleport from the last frame to the first.
                await session.end_tracks()
                index_offset = last_index + 1
                time_offset = (last_ts or 0.0) + (1.0 / fps if fps else 0.1)
                pace_origin = None
        except asyncio.CancelledError:
            final_state, final_detail = StreamState.STOPPED, self._stop_reason or "stopped"
            raise
        except (SourceError, Unavailable) as exc:
            final_state, final_detail = StreamState.FAILED, str(exc)
        except Exception as exc:
            log.exception("stream %s failed", session.key)
            final_state, final_detail = StreamState.FAILED, f"analysis failed: {exc}"
        finally:
            for _, pending in in_flight:
                pending.cancel()
            await self._finish(final_state, final_detail)

    async def _complete_oldest(self, in_flight: collections.deque[tuple[Frame, asyncio.Future[Analysis]]]) -> None:
        """Apply the oldest frame in flight. One bad frame (a corrupt decode, a detector hiccup) skips that frame;
        a run of MAX_ERRORS_IN_A_ROW fails the stream with the reason."""
        frame, pending = in_flight.popleft()
        try:
            await self.session.complete(frame, pending)
            self._errors_in_a_row = 0
        except (Unavailable, asyncio.CancelledError):
            raise
        except Exception as exc:
            self._errors_in_a_row += 1
            if self._errors_in_a_row >= MAX_ERRORS_IN_A_ROW:
                raise
            log.warning("stream %s: frame %d skipped: %s", self.session.key, frame.index, exc)
            self.session.frames_skipped += 1

    async def _drain(self, in_flight: collections.deque[tuple[Frame, asyncio.Future[Analysis]]]) -> None:
        while in_flight:
            await self._complete_oldest(in_flight)

    async def _finish(self, state: StreamState, detail: str) -> None:
        session = self.session
        if self._reader is not None:
            self._reader.stop()
            await self._reader.join(1.0)
        for task in list(self._status_tasks):
            with contextlib.suppress(Exception):
                await task
        try:
            await session.close()
        except Exception:
            log.exception("closing stream %s failed", session.key)
        if session.state is StreamState.FAILED and state is StreamState.STOPPED and not self._stop_reason:
            state, detail = StreamState.FAILED, session.detail
        await session.set_state(state, detail)
        # A local run (no publisher: `footfall process`) reports through its own output instead.
        log.log(logging.INFO if session.publisher is not None else logging.DEBUG,
                "stream %s/%s %s%s", session.org, session.camera_id, state.value, f": {detail}" if detail else "")


def open_stream_source(
    kind: str, target: str | int, *, max_reconnect_attempts: int = 0,
    recheck: Callable[[str], None] | None = None,
) -> Callable[[Callable[[SourceStatus, str | None], None] | None], FrameSource]:
    """A function that opens the source (in a thread) with a status callback for live sources.

    `recheck(url)` runs before every connection attempt of a URL source and raises when the target is no
    longer allowed: a camera host name that resolves elsewhere after a reconnect is refused again.
    """

    def connect(url: str | int, timeout_s: float):  # type: ignore[no-untyped-def]
        if recheck is not None and isinstance(url, str):
            recheck(url)
        return open_live_capture(url, timeout_s)

    def opener(on_status: Callable[[SourceStatus, str | None], None] | None) -> FrameSource:
        if kind == "path":
            return VideoFileSource(str(target))
        return LiveSource(
            int(target) if kind == "device" else str(target), on_status=on_status,
            max_attempts=max_reconnect_attempts or None, opener=connect,
        )

    return opener
