"""The vision pipeline: detect people, track them, count line crossings and zone visits.

:class:`CameraAnalytics` is everything after detection for one camera (tracker, lines, zones);
it takes detections, so it is also what a worker uses when detection runs elsewhere (Triton).
:class:`VisionPipeline` adds a detector shared by any number of cameras:
:meth:`VisionPipeline.process_batch` sends one frame per camera to the detector in a single
batched call, then runs each camera's analytics. Each camera's :class:`~footfall.services.vision.gating.MotionGate`
(``CameraConfig.gate``) first narrows detection to where its frame changed or people are tracked
(:meth:`VisionPipeline.detect_batch`).

Frame indices are 0-based per camera; timestamps are seconds (media time for files,
wall-clock for live cameras) and must increase per camera.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from footfall.services.vision.gating import FULL as FULL_FRAME
from footfall.services.vision.gating import GateConfig, GateDecision, MotionGate, near_boundary
from footfall.services.vision.lines import LineCounter, LineCrossing, LineZone
from footfall.services.vision.sources import Frame
from footfall.services.vision.track import Track, TrackEnd
from footfall.services.vision.tracking import PersonTracker, TrackerConfig
from footfall.services.vision.zones import PolygonZone, ZoneCounter, ZoneEvent

DEFAULT_CAMERA = "default"


class DetectionsLike(Protocol):
    """What the pipeline needs of ``footfall.inference.detections.Detections``."""

    xyxy: np.ndarray
    confidence: np.ndarray

    def __len__(self) -> int: ...


class NotDetected:
    """The detections of a frame the detector was not run on (adaptive detection rate, see
    :mod:`~footfall.services.vision.gating`): none, and the camera's tracks are extrapolated."""

    xyxy = np.zeros((0, 4), np.float32)
    confidence = np.zeros(0, np.float32)
    class_id = np.zeros(0, np.int32)

    def __len__(self) -> int:
        return 0

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(())


NOT_DETECTED = NotDetected()


@dataclass(frozen=True, slots=True)
class PartlyDetected:
    """The detections of a frame whose crops left some settled people out on purpose (per-person detection
    rate, see :mod:`~footfall.services.vision.gating`): their tracks are extrapolated, not missed."""

    detections: Any
    predicted: frozenset[int]

    @property
    def xyxy(self) -> np.ndarray:
        return self.detections.xyxy

    @property
    def confidence(self) -> np.ndarray:
        return self.detections.confidence

    def __len__(self) -> int:
        return len(self.detections)


class PersonDetectorLike(Protocol):
    """What the pipeline needs of ``inference.PersonDetector``.

    A detector that also has ``detect_regions(frame, regions)`` (``PersonDetector``, and the
    vision service's ``FittedDetector`` unless its ``gating`` is off) gets motion-gated frames.
    """

    def detect(self, frame_bgr: np.ndarray) -> Any: ...

    def detect_batch(self, frames: Sequence[np.ndarray]) -> list[Any]: ...


@dataclass(frozen=True, slots=True)
class CameraConfig:
    """Lines, zones, tracker and motion-gating settings of one camera."""

    lines: tuple[LineZone, ...] = ()
    zones: tuple[PolygonZone, ...] = ()
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    gate: GateConfig = field(default_factory=GateConfig)

    def __post_init__(self) -> None:
        object.__setattr__(self, "lines", tuple(self.lines))
        object.__setattr__(self, "zones", tuple(self.zones))
        for kind, items in (("line", self.lines), ("zone", self.zones)):
            names = [i.name for i in items]
            if len(names) != len(set(names)):
                raise ValueError(f"{kind} names must be unique within a camera: {names}")


@dataclass(frozen=True, slots=True)
class FrameResult:
    """Everything that happened at one frame of one camera.

    ``tracks`` are the confirmed people at this frame (including briefly occluded ones with
    ``observed=False``); ``crossings`` and ``zone_events`` are the events confirmed at this frame
    (each carries the frame where it happened); ``ended`` are tracks that ended at this frame.
    """

    camera_id: str
    frame_index: int
    timestamp: float
    detections: int
    tracks: tuple[Track, ...]
    crossings: tuple[LineCrossing, ...]
    zone_events: tuple[ZoneEvent, ...]
    ended: tuple[TrackEnd, ...]


class CameraAnalytics:
    """Tracker, line counters and zone counters of one camera; detections in, events out."""

    def __init__(self, config: CameraConfig | None = None, camera_id: str = DEFAULT_CAMERA) -> None:
        self.camera_id = camera_id
        self.config = config or CameraConfig()
        self.tracker = PersonTracker(self.config.tracker)
        self.gate = MotionGate(self.config.gate)
        self.lines = {line.name: LineCounter(line) for line in self.config.lines}
        self.zones = {zone.name: ZoneCounter(zone) for zone in self.config.zones}

    @property
    def line_counts(self) -> dict[str, dict[str, int]]:
        """``{line: {"in": n, "out": n}}`` since the camera started."""
        return {name: counter.counts for name, counter in self.lines.items()}

    @property
    def zone_occupancy(self) -> dict[str, int]:
        """Tracks inside each zone now."""
        return {name: counter.occupancy for name, counter in self.zones.items()}

    def step(
        self,
        detections: DetectionsLike,
        frame_index: int,
        timestamp: float,
        frame_size: tuple[int, int] | None = None,
    ) -> FrameResult:
        """Track this frame's detections (:data:`NOT_DETECTED`: extrapolate the tracks) and update lines
        and zones."""
        lines, zones, margin = self.config.lines, self.config.zones, self.config.gate.boundary_margin
        settled: dict[int, Any] = {}
        if detections is NOT_DETECTED:
            tracking = self.tracker.predict(frame_index, timestamp, frame_size)
            watched = [(t.track_id, t.xyxy) for t in tracking.tracks]
        else:
            predicted = detections.predicted if isinstance(detections, PartlyDetected) else frozenset()
            found = detections.detections if isinstance(detections, PartlyDetected) else detections
            tracking = self.tracker.update(found, frame_index, timestamp, frame_size, predicted=predicted)
            watched = self.tracker.watched()
            settled = self.tracker.settled()  # who may be left out of the next frame's crops
        near = {t.track_id for t in tracking.tracks if near_boundary([t], lines, zones, margin)} \
            if lines or zones else set()
        settled = {tid: box for tid, box in settled.items() if tid not in near}
        steady = self.tracker.steady and not near
        self.gate.set_tracked([box for _, box in watched], timestamp, steady=steady,
                              owners=[owner for owner, _ in watched], settled=settled)
        crossings: list[LineCrossing] = []
        for counter in self.lines.values():
            crossings.extend(counter.update(tracking.tracks, frame_index, timestamp))
        zone_events: list[ZoneEvent] = []
        for zone in self.zones.values():
            zone_events.extend(zone.update(tracking.tracks, frame_index, timestamp))
        zone_events.extend(self._release(tracking.ended))
        return FrameResult(
            camera_id=self.camera_id,
            frame_index=frame_index,
            timestamp=timestamp,
            detections=len(detections),
            tracks=tracking.tracks,
            crossings=tuple(crossings),
            zone_events=tuple(zone_events),
            ended=tracking.ended,
        )

    def finish(self, frame_index: int, timestamp: float) -> FrameResult:
        """End of stream: end every open track (journeys) and close their zone visits."""
        ended = self.tracker.finish(frame_index, timestamp)
        self.gate.reset()
        zone_events = self._release(ended)
        return FrameResult(
            camera_id=self.camera_id,
            frame_index=frame_index,
            timestamp=timestamp,
            detections=0,
            tracks=(),
            crossings=(),
            zone_events=tuple(zone_events),
            ended=ended,
        )

    def _release(self, ended: Sequence[TrackEnd]) -> list[ZoneEvent]:
        events: list[ZoneEvent] = []
        for end in ended:
            for counter in self.lines.values():
                counter.forget(end.track_id)
            for zone in self.zones.values():
                events.extend(zone.end_track(end))
        return events


@dataclass(slots=True)
class _Clock:
    next_index: int = 0
    last_index: int = -1
    last_time: float = 0.0


class VisionPipeline:
    """Detector + per-camera analytics. One detector serves every camera.

    Args:
        detector: An ``inference`` person detector (``detect`` / ``detect_batch``).
        cameras: Camera id -> :class:`CameraConfig`. When omitted, one camera named
            ``"default"`` is created from ``lines``, ``zones`` and ``tracker``.
    """

    def __init__(
        self,
        detector: PersonDetectorLike,
        cameras: Mapping[str, CameraConfig] | None = None,
        *,
        lines: Sequence[LineZone] = (),
        zones: Sequence[PolygonZone] = (),
        tracker: TrackerConfig | None = None,
    ) -> None:
        self.detector = detector
        self.cameras: dict[str, CameraAnalytics] = {}
        self._clocks: dict[str, _Clock] = {}
        if cameras is None:
            cameras = {DEFAULT_CAMERA: CameraConfig(tuple(lines), tuple(zones), tracker or TrackerConfig())}
        for camera_id, config in cameras.items():
            self.add_camera(camera_id, config)

    def add_camera(self, camera_id: str, config: CameraConfig | None = None) -> CameraAnalytics:
        """Start analytics for a new camera."""
        if camera_id in self.cameras:
            raise ValueError(f"camera {camera_id!r} already exists")
        analytics = self.cameras[camera_id] = CameraAnalytics(config, camera_id)
        self._clocks[camera_id] = _Clock()
        return analytics

    def remove_camera(self, camera_id: str) -> FrameResult:
        """Stop a camera; returns its final result (all its tracks ended)."""
        result = self.finish(camera_id)
        del self.cameras[camera_id]
        del self._clocks[camera_id]
        return result

    def process_frame(
        self,
        frame: np.ndarray | Frame,
        frame_index: int | None = None,
        timestamp: float | None = None,
        camera_id: str = DEFAULT_CAMERA,
    ) -> FrameResult:
        """Detect, track and count on one frame of one camera.

        ``frame`` is a BGR image or a :class:`~footfall.services.vision.sources.Frame`. Without
        ``frame_index``/``timestamp`` the frame's own (for a ``Frame``) or the next index and
        the wall clock are used.
        """
        image, index, ts = self._resolve(camera_id, frame, frame_index, timestamp)
        (detections,) = self.detect_batch([(camera_id, image, ts)])
        return self._analyse(camera_id, detections, image, index, ts)

    def detect_batch(self, frames: Sequence[tuple[str, np.ndarray, float] | tuple[str, np.ndarray, float, float | None]]
                     ) -> list[Any]:
        """Detections for ``(camera_id, image, timestamp[, tracked_until])`` frames, each camera's motion gate
        applied (``tracked_until``: the gate uses the tracks of frames up to that timestamp only, see
        :meth:`~footfall.services.vision.gating.MotionGate.decide`).

        Frames to be detected whole go to the detector in one batched call; gated frames are
        detected in their regions only (``detect_regions``), or not at all when nothing moved and
        nobody is tracked. Thread-safe (the engine detects several frames at once); the gates see
        the tracks of the last *analysed* frame of their camera.
        """
        return self.detect_decided(frames, self.decide_batch(frames))

    def decide_batch(self, frames: Sequence[tuple[str, np.ndarray, float] | tuple[str, np.ndarray, float, float | None]]
                     ) -> list[GateDecision]:
        """The first half of :meth:`detect_batch`: each frame's gate decision (where to detect). A gate compares
        each frame with the one decided before it: decide a camera's frames in order (the engine does it on one
        thread); the detection itself (:meth:`detect_decided`) may then run for several frames at once."""
        regional = callable(getattr(self.detector, "detect_regions", None)) and getattr(self.detector, "gating", True)
        stride = int(getattr(self.detector, "stride", 1))
        decisions: list[GateDecision] = []
        for camera_id, image, ts, *until in frames:
            camera = self.cameras.get(camera_id)  # one removed meanwhile: detect whole, result dropped
            decisions.append(
                camera.gate.decide(image, ts, stride=stride, tracked_until=until[0] if until else None)
                if regional and camera is not None else FULL_FRAME
            )
        return decisions

    def detect_decided(self, frames: Sequence[tuple[Any, ...]], decisions: Sequence[GateDecision]) -> list[Any]:
        """The second half of :meth:`detect_batch`: detections where ``decisions`` say (thread-safe)."""
        found: list[Any] = [None] * len(frames)
        whole: list[int] = []
        for i, decision in enumerate(decisions):
            if decision.predict:
                found[i] = NOT_DETECTED
            elif decision.full:
                whole.append(i)
            else:
                found[i] = self.detector.detect_regions(frames[i][1], decision.regions)
                if decision.predicted:
                    found[i] = PartlyDetected(found[i], decision.predicted)
        if whole:
            batch = self.detector.detect_batch([frames[i][1] for i in whole])
            if len(batch) != len(whole):
                raise RuntimeError(f"detector returned {len(batch)} results for {len(whole)} frames")
            for i, dets in zip(whole, batch):
                found[i] = dets
        return found

    def process_batch(self, frames: Mapping[str, np.ndarray | Frame]) -> dict[str, FrameResult]:
        """One frame per camera, detected in one batched call (see :meth:`detect_batch`); results per camera."""
        resolved = {cid: self._resolve(cid, frame, None, None) for cid, frame in frames.items()}
        if not resolved:
            return {}
        batch = self.detect_batch([(cid, image, ts) for cid, (image, _, ts) in resolved.items()])
        return {
            cid: self._analyse(cid, dets, image, index, ts)
            for (cid, (image, index, ts)), dets in zip(resolved.items(), batch)
        }

    def process_detections(
        self,
        detections: DetectionsLike,
        frame_index: int,
        timestamp: float,
        frame_size: tuple[int, int] | None = None,
        camera_id: str = DEFAULT_CAMERA,
    ) -> FrameResult:
        """Run a camera's analytics on detections made elsewhere (e.g. a batched call)."""
        self._advance(camera_id, frame_index, timestamp)
        return self._camera(camera_id).step(detections, frame_index, timestamp, frame_size)

    def finish(self, camera_id: str = DEFAULT_CAMERA) -> FrameResult:
        """End of a camera's stream: ends its open tracks (see :meth:`CameraAnalytics.finish`)."""
        clock = self._clocks[camera_id]
        return self._camera(camera_id).finish(max(clock.last_index, 0), clock.last_time)

    def _camera(self, camera_id: str) -> CameraAnalytics:
        try:
            return self.cameras[camera_id]
        except KeyError:
            raise KeyError(f"unknown camera {camera_id!r}; add it with add_camera()") from None

    def _resolve(
        self, camera_id: str, frame: np.ndarray | Frame, frame_index: int | None, timestamp: float | None
    ) -> tuple[np.ndarray, int, float]:
        self._camera(camera_id)
        clock = self._clocks[camera_id]
        if isinstance(frame, Frame):
            image = frame.image
            frame_index = frame.index if frame_index is None else frame_index
            timestamp = frame.timestamp if timestamp is None else timestamp
        else:
            image = frame
        index = clock.next_index if frame_index is None else int(frame_index)
        ts = time.time() if timestamp is None else float(timestamp)
        return image, index, ts

    def _advance(self, camera_id: str, frame_index: int, timestamp: float) -> None:
        clock = self._clocks[camera_id]
        clock.next_index = frame_index + 1
        clock.last_index = frame_index
        clock.last_time = timestamp

    def _analyse(
        self, camera_id: str, detections: DetectionsLike, image: np.ndarray, index: int, ts: float
    ) -> FrameResult:
        self._advance(camera_id, index, ts)
        size = (int(image.shape[1]), int(image.shape[0]))
        return self.cameras[camera_id].step(detections, index, ts, size)
