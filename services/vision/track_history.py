"""What the tracker remembers of each person: first and last sighting, hits, confidence, the foot-point
path, and the recent centres its stitching and extrapolation are fitted to."""

from __future__ import annotations

from dataclasses import dataclass, field

from footfall.services.vision.geometry import Anchor, anchor_point
from footfall.services.vision.track import PathPoint, TrackEnd


@dataclass(slots=True)
class TrackHistory:
    """One confirmed person's sightings (observed frames only); ``recent`` holds (t, cx, cy, height)."""

    track_id: int
    first_frame: int
    first_time: float
    last_frame: int
    last_time: float
    last_box: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    hits: int = 0
    confidence_sum: float = 0.0
    last_confidence: float = 0.0
    path: list[PathPoint] = field(default_factory=list)
    recent: list[tuple[float, float, float, float]] = field(default_factory=list)  # (t, cx, cy, h)

    def observe(
        self, frame_index: int, timestamp: float, box: tuple[float, float, float, float], conf: float
    ) -> None:
        self.last_frame, self.last_time, self.last_box = frame_index, timestamp, box
        self.hits += 1
        self.confidence_sum += conf
        self.last_confidence = conf
        self.path.append(PathPoint(frame_index, timestamp, anchor_point(box, Anchor.BOTTOM_CENTER)))
        self.recent.append((timestamp, (box[0] + box[2]) / 2, (box[1] + box[3]) / 2, box[3] - box[1]))
        if len(self.recent) > 12:
            del self.recent[0]

    def predicted_center(self, timestamp: float, window: float) -> tuple[float, float]:
        """Centre extrapolated at constant velocity, the velocity fitted over the last ``window`` s."""
        t1, x1, y1, _ = self.recent[-1]
        old = [r for r in self.recent if t1 - r[0] <= window]
        t0, x0, y0, _ = old[0]
        if t1 - t0 <= 0:
            return (x1, y1)
        dt = timestamp - t1
        return (x1 + (x1 - x0) / (t1 - t0) * dt, y1 + (y1 - y0) / (t1 - t0) * dt)

    def height(self, window: float) -> float:
        """Tallest recent box: occlusion shortens boxes, it never makes them taller."""
        t1 = self.recent[-1][0]
        return max(r[3] for r in self.recent if t1 - r[0] <= window)

    def end(self, frame_index: int, timestamp: float) -> TrackEnd:
        return TrackEnd(
            track_id=self.track_id,
            first_seen_frame=self.first_frame,
            first_seen_time=self.first_time,
            last_seen_frame=self.last_frame,
            last_seen_time=self.last_time,
            hits=self.hits,
            mean_confidence=self.confidence_sum / max(1, self.hits),
            path=tuple(self.path),
            ended_frame=frame_index,
            ended_time=timestamp,
        )
