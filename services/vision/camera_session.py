"""One run of one camera (a stream, or frames pushed by clients).

A :class:`CameraSession` holds the camera's lines and zones, counters, status, latest frame and tracks; it
hands frames to the shared :class:`~footfall.services.vision.engine.AnalysisEngine` and turns each
:class:`~footfall.services.vision.pipeline.FrameResult` into events.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import Enum

import numpy as np

from footfall.services.core.metrics import FRAMES_ANALYSED, STREAM_FPS, STREAM_UP
from footfall.services.vision import publisher as pub
from footfall.services.vision.camera_lines import CameraLine, LineSet
from footfall.services.vision.engine import Analysis, AnalysisEngine
from footfall.services.vision.face_engine import FaceEngine
from footfall.services.vision.faces import FaceCrop
from footfall.services.vision.gating import GateConfig
from footfall.services.vision.identities import TrackIdentity
from footfall.services.vision.pipeline import CameraConfig, FrameResult
from footfall.services.vision.sources import Frame
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
        config = CameraConfig(lines=tuple(line.zone for line in self.lines), zones=self.zones, tracker=self.tracker,
                              gate=self._gate())
        await self.engine.add_camera(self.key, config, streaming=streaming)
        self._added = True
        self.events = replace(self.events, line_ids={line.zone.name: line.line_id for line in self.lines},
                              frame_size=frame_size)
        self._line_counts = {line.zone.name: {"in": 0, "out": 0} for line in self.lines}
        self._zone_occupancy = {zone.name: 0 for zone in self.zones}

    def _gate(self) -> GateConfig:
        """Pushed frames answer each frame with its detections, so none is predicted (adaptive detection rate
        is for streams)."""
        return GateConfig(predict_seconds=0.0) if self.kind == "push" else GateConfig()

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
        config = CameraConfig(lines=tuple(line.zone for line in self.lines), zones=self.zones, tracker=self.tracker,
                              gate=self._gate())
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
