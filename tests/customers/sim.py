"""Synthetic camera scenes: scripted people -> the vision pipeline's per-frame results.

Positions are scripted, everything after detection is the vision domain's own code (zone counters with
their hysteresis, track-end zone exits), so journeys are tested against the events the pipeline emits.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from footfall.services.vision.pipeline import FrameResult
from footfall.services.vision.track import PathPoint, Track, TrackEnd
from footfall.services.vision.zones import PolygonZone, ZoneCounter


def rect(name: str, x1: float, y1: float, x2: float, y2: float, **kw: object) -> PolygonZone:
    return PolygonZone(name=name, points=((x1, y1), (x2, y1), (x2, y2), (x1, y2)), **kw)  # type: ignore[arg-type]


@dataclass
class Person:
    """A track id and waypoints (t, x, y) of its foot point; visible from the first to the last waypoint."""

    track_id: int
    waypoints: Sequence[tuple[float, float, float]]

    def at(self, t: float) -> tuple[float, float] | None:
        pts = self.waypoints
        if t < pts[0][0] - 1e-9 or t > pts[-1][0] + 1e-9:
            return None
        for (t0, x0, y0), (t1, x1, y1) in itertools.pairwise(pts):
            if t0 - 1e-9 <= t <= t1 + 1e-9:
                a = 0.0 if t1 == t0 else (t - t0) / (t1 - t0)
                return (x0 + a * (x1 - x0), y0 + a * (y1 - y0))
        return (pts[-1][1], pts[-1][2])


@dataclass
class _Hist:
    first_frame: int
    first_time: float
    last_frame: int
    last_time: float
    hits: int
    path: list[PathPoint]


def simulate(
    people: Sequence[Person], zones: Sequence[PolygonZone], *, fps: float = 10.0, lost_s: float = 2.0,
    duration: float | None = None, t0: float = 0.0, camera_id: str = "cam",
) -> Iterator[FrameResult]:
    """Frames at ``fps`` from ``t0``; a person's track ends ``lost_s`` after their last waypoint."""
    counters = [ZoneCounter(z) for z in zones]
    hist: dict[int, _Hist] = {}
    end_t = duration if duration is not None else max(p.waypoints[-1][0] for p in people) + lost_s + 1.0
    n_frames = round((end_t) * fps) + 1
    for i in range(n_frames):
        t = t0 + i / fps
        rel = i / fps
        tracks: list[Track] = []
        for p in people:
            pos = p.at(rel)
            if pos is None:
                continue
            x, y = pos
            h = hist.get(p.track_id)
            if h is None:
                h = hist[p.track_id] = _Hist(i, t, i, t, 0, [])
            h.last_frame, h.last_time, h.hits = i, t, h.hits + 1
            h.path.append(PathPoint(i, t, (x, y)))
            tracks.append(Track(p.track_id, (x - 10, y - 40, x + 10, y), 0.9, True, i - h.first_frame, h.hits,
                                h.first_frame, h.first_time, i, t))
        zone_events = []
        for c in counters:
            zone_events.extend(c.update(tracks, i, t))
        ended = []
        for tid in list(hist):
            h = hist[tid]
            if t - h.last_time >= lost_s - 1e-9:
                end = TrackEnd(tid, h.first_frame, h.first_time, h.last_frame, h.last_time, h.hits, 0.9,
                               tuple(h.path), i, t)
                ended.append(end)
                for c in counters:
                    zone_events.extend(c.end_track(end))
                del hist[tid]
        yield FrameResult(camera_id, i, t, len(tracks), tuple(tracks), (), tuple(zone_events), tuple(ended))
