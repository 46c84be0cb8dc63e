"""Person tracking: detections in, stable :class:`Track` ids and track-end events out.

The association itself is ``trackers.ByteTrackTracker`` (Apache-2.0): a Kalman filter per
person (corner state x1, y1, x2, y2 with velocities) and two-stage IoU matching, where
confident detections are matched first and the leftover tracks then take low-confidence
detections. That second stage is why the detector should run at a *low* threshold: a person
half hidden behind a pole keeps their track on a 0.3-confidence box instead of being dropped
and re-born with a new id.

This wrapper adds what counting and journeys need on top:

* stable 1-based ids, first/last-seen frame and time, hit counts and the foot-point path;
* :class:`~services.vision.track.TrackEnd` events when the library drops a track (not matched
  for ``lost_seconds``) or when the stream ends (:meth:`PersonTracker.finish`);
* the box reported for an observed track is the Kalman-filtered one (``smooth_boxes``), which
  removes part of the detector's frame-to-frame jitter;
* tracks missed for at most ``coast_seconds`` are reported with their predicted box and
  ``observed=False``: people are often hidden for a frame or two and are still there.

All durations are in seconds and converted with the stream's frame rate, so a 25 fps camera
and a 7 fps one keep a track alive for the same time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from services.vision.geometry import Anchor, anchor_point
from services.vision.track import PathPoint, Track, TrackEnd


class _Detections:  # structural stand-in for inference.detections.Detections
    xyxy: np.ndarray
    confidence: np.ndarray


@dataclass(frozen=True, slots=True)
class TrackerConfig:
    """Tracker settings; the defaults suit people walking in a fixed camera view.

    Attributes:
        frame_rate: Nominal frames per second of the stream (converts seconds to frames).
        high_threshold: Detections at or above this are matched in the first stage; the rest
            (down to the detector's own threshold) only extend existing tracks.
        new_track_threshold: Minimum confidence of an unmatched detection to start a track.
        match_iou: Minimum IoU between a track's predicted box and a detection to match.
        min_hits: Consecutive matched frames before a track is confirmed and gets an id.
        lost_seconds: How long an unmatched track is kept (and can be re-found) before it ends.
        coast_seconds: How long an unmatched track is still reported, with its predicted box.
        smooth_boxes: Report the Kalman-filtered box instead of the raw detection.
    """

    frame_rate: float = 10.0
    high_threshold: float = 0.5
    new_track_threshold: float = 0.5
    match_iou: float = 0.1
    min_hits: int = 2
    lost_seconds: float = 2.0
    coast_seconds: float = 0.0
    smooth_boxes: bool = True

    def __post_init__(self) -> None:
        if not (self.frame_rate > 0 and math.isfinite(self.frame_rate)):
            raise ValueError("frame_rate must be a positive number")
        if self.min_hits < 1:
            raise ValueError("min_hits must be >= 1")
        if self.lost_seconds < 0 or self.coast_seconds < 0:
            raise ValueError("lost_seconds and coast_seconds must be >= 0")


@dataclass(frozen=True, slots=True)
class TrackingStep:
    """Output of one tracker update: confirmed tracks at this frame and tracks that ended."""

    tracks: tuple[Track, ...]
    ended: tuple[TrackEnd, ...]


@dataclass(slots=True)
class _History:
    track_id: int
    first_frame: int
    first_time: float
    last_frame: int
    last_time: float
    hits: int = 0
    confidence_sum: float = 0.0
    last_confidence: float = 0.0
    path: list[PathPoint] = field(default_factory=list)

    def end(self, frame_index: int, timestamp: float) -> TrackEnd:
        return TrackEnd(
            track_id=self.track_id, first_seen_frame=self.first_frame, first_seen_time=self.first_time,
            last_seen_frame=self.last_frame, last_seen_time=self.last_time, hits=self.hits,
            mean_confidence=self.confidence_sum / max(1, self.hits), path=tuple(self.path),
            ended_frame=frame_index, ended_time=timestamp,
        )


class PersonTracker:
    """Tracks people in one camera. Not thread-safe: one instance per camera."""

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = config or TrackerConfig()
        self._histories: dict[int, _History] = {}
        self._last_time: float | None = None
        self._id_base = 0  # ids continue after finish(): never reused within this object
        self._bt = self._new_backend()

    def _new_backend(self) -> object:
        from trackers import ByteTrackTracker  # heavy import (supervision); only when tracking

        cfg = self.config
        # trackers counts its buffer in 30 fps frames and rescales it by frame_rate.
        return ByteTrackTracker(
            lost_track_buffer=max(0, round(cfg.lost_seconds * 30.0)),
            frame_rate=cfg.frame_rate,
            track_activation_threshold=cfg.new_track_threshold,
            minimum_consecutive_frames=cfg.min_hits,
            minimum_iou_threshold=cfg.match_iou,
            high_conf_det_threshold=cfg.high_threshold,
        )

    def update(self, detections: _Detections, frame_index: int, timestamp: float) -> TrackingStep:
        """Associate this frame's detections; returns confirmed tracks and ended tracks.

        ``timestamp`` (seconds, increasing) drives the motion model and the lost/coast budgets,
        so a stream whose rate varies or that skips frames is handled correctly. A timestamp
        that does not increase is replaced by one nominal frame after the previous one.
        """
        import supervision as sv

        if self._last_time is not None and not timestamp > self._last_time:
            timestamp = self._last_time + 1.0 / self.config.frame_rate
        self._last_time = timestamp

        xyxy = np.asarray(detections.xyxy, dtype=np.float32).reshape(-1, 4)
        conf = np.asarray(detections.confidence, dtype=np.float32).reshape(-1)
        sv_dets = sv.Detections(xyxy=xyxy, confidence=conf, class_id=np.zeros(len(conf), dtype=int))
        result = self._bt.update(sv_dets, timestamp=timestamp)  # type: ignore[attr-defined]
        matched_conf: dict[int, float] = {}
        matched_box: dict[int, np.ndarray] = {}
        if result.tracker_id is not None:
            for i, tid in enumerate(result.tracker_id.tolist()):
                if tid >= 0:
                    matched_conf[tid] = float(result.confidence[i]) if result.confidence is not None else 1.0
                    matched_box[tid] = result.xyxy[i]

        tracks: list[Track] = []
        alive: set[int] = set()
        for tracklet in self._bt.tracks:  # type: ignore[attr-defined]
            raw_id = int(tracklet.tracker_id)
            if raw_id < 0:
                continue
            track_id = self._id_base + raw_id + 1
            alive.add(track_id)
            observed = tracklet.time_since_update == 0 and raw_id in matched_conf
            history = self._histories.get(track_id)
            if observed:
                box = tracklet.get_state_bbox() if self.config.smooth_boxes else matched_box[raw_id]
                box_t = (float(box[0]), float(box[1]), float(box[2]), float(box[3]))
                confidence = matched_conf[raw_id]
                if history is None:
                    history = self._histories[track_id] = _History(
                        track_id, frame_index, timestamp, frame_index, timestamp
                    )
                history.last_frame, history.last_time = frame_index, timestamp
                history.hits += 1
                history.confidence_sum += confidence
                history.last_confidence = confidence
                history.path.append(PathPoint(frame_index, timestamp, anchor_point(box_t, Anchor.BOTTOM_CENTER)))
            else:
                if history is None or timestamp - history.last_time > self.config.coast_seconds + 1e-6:
                    continue
                box = tracklet.get_state_bbox()
                box_t = (float(box[0]), float(box[1]), float(box[2]), float(box[3]))
                confidence = history.last_confidence
            tracks.append(
                Track(
                    track_id=track_id, xyxy=box_t, confidence=confidence, observed=observed,
                    age=frame_index - history.first_frame, hits=history.hits,
                    first_seen_frame=history.first_frame, first_seen_time=history.first_time,
                    last_seen_frame=history.last_frame, last_seen_time=history.last_time,
                )
            )
        ended = [
            self._histories.pop(tid).end(frame_index, timestamp)
            for tid in sorted(set(self._histories) - alive)
        ]
        tracks.sort(key=lambda t: t.track_id)
        return TrackingStep(tuple(tracks), tuple(ended))

    def finish(self, frame_index: int, timestamp: float) -> tuple[TrackEnd, ...]:
        """End every open track (end of stream) and reset the tracker."""
        ended = tuple(h.end(frame_index, timestamp) for _, h in sorted(self._histories.items()))
        self._histories.clear()
        self._id_base += int(self._bt._next_track_id)  # type: ignore[attr-defined]
        self._bt = self._new_backend()
        self._last_time = None
        return ended

    @property
    def active_track_ids(self) -> list[int]:
        """Ids of confirmed tracks the tracker still holds (observed or lost)."""
        return sorted(self._histories)
