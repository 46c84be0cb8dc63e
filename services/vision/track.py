"""Value types for tracked people: what the tracker hands to lines, zones and the outside world."""

from __future__ import annotations

from dataclasses import dataclass

from footfall.services.vision.geometry import Box, Point


@dataclass(frozen=True, slots=True)
class Track:
    """One confirmed person track as seen at one frame.

    Attributes:
        track_id: Stable id within one camera (and one tracker lifetime); never reused.
        xyxy: Box in source-frame pixels. When ``observed`` is true this is the tracker's
            filtered box for the detection matched this frame; otherwise it is the motion
            prediction for a person who is briefly not detected (occlusion).
        confidence: Detector confidence of the detection matched this frame, or the last one
            when not observed.
        observed: Whether a detection was matched to the track at this frame. Lines and zones
            only use observed positions; predicted ones are for display and MOT output.
        age: Frames since the track was first seen (0 at its first frame).
        hits: Frames in which a detection was matched to the track.
        first_seen_frame / first_seen_time: When the track started.
        last_seen_frame / last_seen_time: Last frame with a matched detection.
    """

    track_id: int
    xyxy: Box
    confidence: float
    observed: bool
    age: int
    hits: int
    first_seen_frame: int
    first_seen_time: float
    last_seen_frame: int
    last_seen_time: float


@dataclass(frozen=True, slots=True)
class PathPoint:
    """One observed position of a track: frame, time and the box's anchor (foot) point."""

    frame_index: int
    timestamp: float
    point: Point


@dataclass(frozen=True, slots=True)
class TrackEnd:
    """A track that ended: the person left or was lost for longer than the tracker's buffer.

    ``path`` holds the observed foot points (bottom-centre of the box) in order; together with
    the first/last times it is a journey through the camera's view.
    """

    track_id: int
    first_seen_frame: int
    first_seen_time: float
    last_seen_frame: int
    last_seen_time: float
    hits: int
    mean_confidence: float
    path: tuple[PathPoint, ...]
    ended_frame: int
    ended_time: float

    @property
    def duration_seconds(self) -> float:
        """Seconds between the first and the last observation."""
        return max(0.0, self.last_seen_time - self.first_seen_time)
