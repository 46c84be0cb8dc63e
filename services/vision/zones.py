"""Polygon zones: who is inside, enter/exit events and dwell time per track.

A track is inside a zone when its anchor (the foot point by default) lies inside the polygon.
Two hysteresis rules keep a person standing on a zone's edge, or on the border between two
adjacent zones, from flickering in and out (detector jitter moves the foot point by a few
pixels every frame):

* space: a track outside enters only once its anchor is inside by at least ``margin`` (a
  fraction of the person's box height, so the same zone works near and far from the camera),
  and a track inside leaves only once it is outside by as much. Positions within ``margin`` of
  the edge keep the current state;
* time: a change of state needs ``enter_frames`` (resp. ``exit_frames``) consecutive
  observations past the margin on the new side.

An event carries the time of the *first* of those observations, so dwell time is not biased
by the hysteresis. Frames where a track is not observed (occlusion) neither extend nor break a
streak. A track that ends while inside produces an ``exit`` with reason ``track_ended`` at the
time it was last seen.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from footfall.services.vision.geometry import Anchor, Point, anchor_point, points_in_polygon, signed_distances
from footfall.services.vision.track import Track, TrackEnd

ZoneEventKind = Literal["enter", "exit"]
ExitReason = Literal["left", "track_ended"]


@dataclass(frozen=True, slots=True)
class PolygonZone:
    """A named polygon in image pixels (configuration only; state lives in :class:`ZoneCounter`).

    ``margin``, ``enter_frames`` and ``exit_frames`` are the hysteresis of the module docstring;
    ``margin=0`` and one frame each turn it off.
    """

    name: str
    points: tuple[Point, ...]
    anchor: Anchor = Anchor.BOTTOM_CENTER
    enter_frames: int = 2
    exit_frames: int = 2
    margin: float = 0.1

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a zone needs a name")
        pts = tuple((float(x), float(y)) for x, y in self.points)
        if len(pts) < 3:
            raise ValueError(f"zone {self.name!r} needs at least 3 points")
        if self.enter_frames < 1 or self.exit_frames < 1:
            raise ValueError("enter_frames and exit_frames must be >= 1")
        if not 0.0 <= self.margin < 10.0:
            raise ValueError(f"zone margin is a fraction of a person's height within [0, 10), got {self.margin}")
        object.__setattr__(self, "points", pts)
        object.__setattr__(self, "anchor", Anchor(self.anchor))

    def contains(self, point: Point) -> bool:
        """Whether ``point`` lies inside the polygon."""
        return bool(points_in_polygon(np.array([point]), np.array(self.points))[0])


@dataclass(frozen=True, slots=True)
class ZoneEvent:
    """A track entered or left a zone. ``dwell_seconds``/``dwell_frames`` are set on exits.

    ``anchor`` is the track's anchor point (the zone's anchor, frame pixels) at the event's frame (for a
    ``track_ended`` exit: its last observed one); ``track_first_seen`` is when the track was first seen.
    Both are ``None`` when not known.
    """

    zone: str
    track_id: int
    kind: ZoneEventKind
    frame_index: int
    timestamp: float
    dwell_seconds: float | None = None
    dwell_frames: int | None = None
    reason: ExitReason | None = None
    anchor: Point | None = None
    track_first_seen: float | None = None


@dataclass(slots=True)
class _TrackZoneState:
    inside: bool = False
    streak: int = 0
    streak_start: tuple[int, float] | None = None
    entered: tuple[int, float] | None = None
    # Anchor at the streak's first observation, and the last observed anchor.
    streak_anchor: Point | None = None
    last_anchor: Point | None = None
    first_seen: float | None = None


@dataclass
class ZoneCounter:
    """Tracks who is in one :class:`PolygonZone` and emits enter/exit events."""

    zone: PolygonZone
    _states: dict[int, _TrackZoneState] = field(default_factory=dict, repr=False)

    @property
    def occupancy(self) -> int:
        """Number of tracks inside the zone now."""
        return sum(1 for s in self._states.values() if s.inside)

    def dwell_seconds(self, track_id: int, now: float) -> float | None:
        """Seconds the track has been inside so far, or ``None`` when it is not inside."""
        state = self._states.get(track_id)
        if state is None or not state.inside or state.entered is None:
            return None
        return max(0.0, now - state.entered[1])

    def update(self, tracks: Iterable[Track], frame_index: int, timestamp: float) -> list[ZoneEvent]:
        """Advance by one frame; returns the enter/exit events confirmed at this frame."""
        observed = [t for t in tracks if t.observed]
        if not observed:
            return []
        anchors = np.array([anchor_point(t.xyxy, self.zone.anchor) for t in observed])
        depth = signed_distances(anchors, np.array(self.zone.points))  # > 0 inside
        events: list[ZoneEvent] = []
        for track, d, anchor in zip(observed, depth.tolist(), anchors.tolist()):
            state = self._states.get(track.track_id)
            band = self.zone.margin * max(0.0, track.xyxy[3] - track.xyxy[1])
            # Within the band around the edge the current state holds.
            is_inside = d > -band if state is not None and state.inside else d >= band and d > 0
            event = self._observe(
                track.track_id, is_inside, frame_index, timestamp,
                (float(anchor[0]), float(anchor[1])), track.first_seen_time,
            )
            if event is not None:
                events.append(event)
        return events

    def end_track(self, end: TrackEnd) -> list[ZoneEvent]:
        """Release an ended track; emits its exit if it was inside."""
        state = self._states.pop(end.track_id, None)
        if state is None or not state.inside or state.entered is None:
            return []
        return [self._exit(
            end.track_id, state, (end.last_seen_frame, end.last_seen_time), "track_ended", state.last_anchor
        )]

    def _observe(
        self, track_id: int, is_inside: bool, frame_index: int, timestamp: float,
        anchor: Point | None = None, first_seen: float | None = None,
    ) -> ZoneEvent | None:
        state = self._states.setdefault(track_id, _TrackZoneState())
        state.last_anchor = anchor
        if first_seen is not None:
            state.first_seen = first_seen
        if is_inside == state.inside:
            state.streak, state.streak_start, state.streak_anchor = 0, None, None
            return None
        if state.streak == 0:
            state.streak_start, state.streak_anchor = (frame_index, timestamp), anchor
        state.streak += 1
        needed = self.zone.exit_frames if state.inside else self.zone.enter_frames
        if state.streak < needed:
            return None
        start = state.streak_start or (frame_index, timestamp)
        at_anchor = state.streak_anchor if state.streak_start is not None else anchor
        state.streak, state.streak_start, state.streak_anchor = 0, None, None
        if state.inside:
            return self._exit(track_id, state, start, "left", at_anchor)
        state.inside, state.entered = True, start
        return ZoneEvent(
            zone=self.zone.name, track_id=track_id, kind="enter", frame_index=start[0], timestamp=start[1],
            anchor=at_anchor, track_first_seen=state.first_seen,
        )

    def _exit(
        self, track_id: int, state: _TrackZoneState, at: tuple[int, float], reason: ExitReason,
        anchor: Point | None = None,
    ) -> ZoneEvent:
        entered = state.entered or at
        state.inside, state.entered = False, None
        return ZoneEvent(
            zone=self.zone.name,
            track_id=track_id,
            kind="exit",
            frame_index=at[0],
            timestamp=at[1],
            dwell_seconds=max(0.0, at[1] - entered[1]),
            dwell_frames=max(0, at[0] - entered[0]),
            reason=reason,
            anchor=anchor,
            track_first_seen=state.first_seen,
        )


def zone_from_points(name: str, points: Sequence[Sequence[float]], **kwargs: object) -> PolygonZone:
    """Build a :class:`PolygonZone` from any sequence of ``[x, y]`` pairs."""
    return PolygonZone(name=name, points=tuple((float(p[0]), float(p[1])) for p in points), **kwargs)  # type: ignore[arg-type]
