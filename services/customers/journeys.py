"""Journeys: each visit of a person through a camera's view, built from tracks and zone events.

A **visit** starts when a track is first seen and ends when its track ends. A track that ends and a
new track that starts near where it ended, shortly after (``stitch_gap_s``, ``stitch_distance_px``; or
a frame or two before, ``stitch_overlap_s``: an id switch), are the same visit: the tracker lost the
person for a moment and gave them a new id. Someone standing still may be lost for longer
(``stationary_gap_s`` within ``stationary_distance_px``). The visit becomes a :class:`CustomerJourney`
(the seed's dataclass, field for field) once it has been over for the longer of the two gaps
(``JourneyConfig.hold_s``) without a continuation.

:class:`JourneyBuilder` is plain, synchronous and clock-free: it is driven by the times in the events it
receives, so the same code builds journeys offline (frame by frame from ``VisionPipeline`` on a video
file) and online (from ``vision.zone_entered|zone_exited|track_ended`` events on NATS, with its state
saved between batches through :meth:`JourneyBuilder.to_state` / :meth:`JourneyBuilder.from_state`).

It emits two events, with the seed's webhook shapes (:meth:`CustomerEntry.webhook_payload`,
:meth:`JourneyComplete.webhook_payload`):

* :class:`CustomerEntry` when a visit is confirmed: seen for ``confirm_s`` (which lets a late track end
  stitch onto a new track before anyone is told a new customer arrived), or at the latest when a visit
  that lasted ``min_duration_s`` completes;
* :class:`JourneyComplete` when a visit is over. Visits shorter than ``min_duration_s`` are detector
  noise: they are dropped without either event.

Zones: a zone stay runs from the zone's enter event to its exit event (or to the track's last
observation). Stays in the same zone separated by at most ``stitch_gap_s`` are one stay (a stitch while
standing in a zone is not a second visit to it). ``zones_visited`` lists the zones in the order they were
entered, a zone entered again after leaving it appears again; ``dwell_times`` sums the stays per zone.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from footfall.services.customers.behavior import BehaviorRules, resolve_rules
from footfall.services.customers.conversion import NO_PURCHASE, PENDING, PURCHASED, ConversionBook, Presence

Point = tuple[float, float]

IN_PROGRESS = "in progress"


@dataclass
class CustomerJourney:
    """One customer's visit (the seed's dataclass: same fields, same order, same types)."""

    customer_id: str
    session_id: str
    entry_time: float
    exit_time: float | None
    total_duration: float | None
    zones_visited: list[str]
    path_coordinates: list[tuple]
    dwell_times: dict[str, float]
    behavior_pattern: str
    conversion_status: str


@dataclass(frozen=True)
class ZoneStay:
    """One continuous stay in a zone; ``exit_time`` is None while the person is still inside."""

    zone: str
    enter_time: float
    exit_time: float | None

    @property
    def seconds(self) -> float:
        return 0.0 if self.exit_time is None else max(0.0, self.exit_time - self.enter_time)


@dataclass(frozen=True)
class CustomerEntry:
    """A new customer was confirmed in view."""

    customer_id: str
    session_id: str
    camera_id: str
    timestamp: float
    track_keys: tuple[str, ...] = ()

    def webhook_payload(self) -> dict[str, Any]:
        """The seed's ``customer_entry`` webhook body."""
        return {"event": "customer_entry", "customer_id": self.customer_id, "timestamp": self.timestamp}


@dataclass(frozen=True)
class JourneyComplete:
    """A visit is over; ``journey`` is final (except ``conversion_status``, which a later sale can set)."""

    journey: CustomerJourney
    camera_id: str
    zone_stays: tuple[ZoneStay, ...]
    track_keys: tuple[str, ...]

    def webhook_payload(self) -> dict[str, Any]:
        """The seed's ``journey_complete`` webhook body."""
        j = self.journey
        return {
            "event": "journey_complete", "customer_id": j.customer_id, "duration": j.total_duration,
            "behavior": j.behavior_pattern, "conversion": j.conversion_status,
        }


JourneyEvent = CustomerEntry | JourneyComplete


@dataclass(frozen=True)
class JourneyConfig:
    """How tracks become visits. Times are seconds, distances frame pixels."""

    # A new track starting within this long after another ended, near where it ended, continues its visit.
    stitch_gap_s: float = 2.0
    stitch_distance_px: float = 80.0
    # A new track may also start up to this long *before* the old one's last observation (an id switch:
    # the tracker starts a new id on the person a frame or two before it drops the old one).
    stitch_overlap_s: float = 0.5
    # Someone standing still is often lost for longer (occlusion, missed detections): a new track starting
    # within stationary_gap_s within stationary_distance_px of where the old one ended continues it too.
    # Completion waits for the longer of the two gaps. 0 disables.
    stationary_gap_s: float = 10.0
    stationary_distance_px: float = 25.0
    # customer_entry is sent once a visit has lasted this long (>= the tracker's lost_seconds plus
    # stitch_overlap_s lets a late track end stitch onto a new track before the new one is announced).
    confirm_s: float = 3.0
    # Visits shorter than this are dropped as noise (no customer_entry, no journey).
    min_duration_s: float = 1.0
    # The journey's path keeps at most one point per path_sample_s, and at most max_path_points points.
    path_sample_s: float = 0.5
    max_path_points: int = 500
    # Whether a track not yet ended counts as present up to the current time (online, where positions
    # arrive only with zone events and the track's end) rather than up to its last observation (offline).
    open_tracks_present: bool = False
    # For occupancy: a visit is in view while its track was observed within present_s.
    present_s: float = 1.0
    # Tracks of completed visits are remembered this long (and at most this many) so that a late event about
    # one is ignored rather than starting a ghost visit. Memory only: redeliveries are the database's job.
    done_keep_s: float = 600.0
    done_keep_max: int = 2000

    @property
    def hold_s(self) -> float:
        """How long an ended visit waits for a continuation before it completes."""
        return max(self.stitch_gap_s, self.stationary_gap_s)

    def continues(self, gap: float, distance: float) -> bool:
        """Whether a track starting ``gap`` seconds after another ended, ``distance`` px away, continues it."""
        if gap < -self.stitch_overlap_s:
            return False
        if gap <= self.stitch_gap_s and distance <= self.stitch_distance_px:
            return True
        return gap <= self.stationary_gap_s and distance <= self.stationary_distance_px

    def __post_init__(self) -> None:
        for name in ("stitch_gap_s", "stitch_distance_px", "stitch_overlap_s", "stationary_gap_s",
                     "stationary_distance_px", "confirm_s", "min_duration_s", "path_sample_s", "present_s",
                     "done_keep_s"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a number >= 0")
        if self.max_path_points < 2:
            raise ValueError("max_path_points must be >= 2")
        if self.done_keep_max < 0:
            raise ValueError("done_keep_max must be >= 0")


@dataclass
class _Track:
    key: str
    visit: str
    first_time: float
    last_time: float
    first_point: list[float] | None = None
    last_point: list[float] | None = None
    path: list[list[float]] = field(default_factory=list)  # [t, x, y], sampled
    stays: list[list[Any]] = field(default_factory=list)  # [zone, enter, exit | None]
    ended: bool = False


@dataclass
class _Visit:
    session_id: str
    customer_id: str
    entry_time: float
    last_time: float
    tracks: list[str] = field(default_factory=list)
    current: str | None = None  # the open track; None once it ended (pending completion)
    entry_emitted: bool = False


def _dist(a: Sequence[float] | None, b: Sequence[float] | None) -> float:
    if a is None or b is None:
        return math.inf
    return math.hypot(a[0] - b[0], a[1] - b[1])


def merge_stays(stays: Iterable[ZoneStay], gap_s: float) -> list[ZoneStay]:
    """Sort stays by entry and join stays in the same zone that are at most ``gap_s`` apart."""
    merged: list[ZoneStay] = []
    for stay in sorted(stays, key=lambda s: (s.enter_time, s.zone)):
        for i in range(len(merged) - 1, -1, -1):
            prev = merged[i]
            if prev.zone != stay.zone:
                continue
            if prev.exit_time is None or stay.enter_time - prev.exit_time <= gap_s:
                end = None if prev.exit_time is None or stay.exit_time is None else max(prev.exit_time, stay.exit_time)
                merged[i] = ZoneStay(prev.zone, prev.enter_time, end)
                break
            merged.append(stay)
            break
        else:
            merged.append(stay)
    return sorted(merged, key=lambda s: (s.enter_time, s.zone))


def downsample(points: Sequence[Sequence[float]], max_points: int) -> list[Sequence[float]]:
    """At most ``max_points`` points, evenly spread, first and last kept."""
    n = len(points)
    if n <= max_points:
        return list(points)
    step = (n - 1) / (max_points - 1)
    return [points[round(i * step)] for i in range(max_points)]


IdFactory = Callable[[str, str], str]


def _new_id(prefix: str, track_key: str) -> str:
    """A random id (offline builds, where track keys repeat from one file to the next)."""
    return f"{prefix}_{uuid.uuid4().hex[:16]}"


_VISIT_NS = uuid.UUID("0c9f1d2e-5b7a-4e63-8a41-767669736974")


def natural_ids(scope: str) -> IdFactory:
    """Ids derived from ``scope`` (org and camera) and the visit's first track key.

    Online track keys are unique per camera session, so a visit rebuilt from replayed events gets the same
    session and customer ids as the first time: the database's unique keys then make the replay a no-op.
    """

    def make(prefix: str, track_key: str) -> str:
        return f"{prefix}_{uuid.uuid5(_VISIT_NS, f'{scope}/{track_key}').hex[:16]}"

    return make


class JourneyBuilder:
    """Turns one camera's tracks and zone events into visits and journeys (see the module docstring).

    Feed it either whole frames (:meth:`update`, offline) or single observations and events
    (:meth:`observe`, :meth:`zone_entered`, :meth:`zone_exited`, :meth:`track_ended`, online), then call
    :meth:`advance` with the current stream time; every method returns the events it caused.
    :meth:`finish` ends the stream and completes every visit.
    """

    def __init__(
        self,
        camera_id: str = "",
        *,
        config: JourneyConfig | None = None,
        rules: Any = None,
        conversions: ConversionBook | None = None,
        id_factory: IdFactory = _new_id,
    ) -> None:
        self.camera_id = camera_id
        self.config = config or JourneyConfig()
        self.rules: BehaviorRules = resolve_rules(rules)
        self.conversions = conversions
        self._new_id = id_factory
        self._tracks: dict[str, _Track] = {}
        self._visits: dict[str, _Visit] = {}
        self._now: float | None = None
        # Tracks whose visit completed -> their last time: late or redelivered events about them are ignored.
        self._done: dict[str, float] = {}
        self._out: list[JourneyEvent] = []
        self.total_entries = 0
        self.peak_occupancy = 0

    # ---- feeding -------------------------------------------------------------------------------------

    def update(self, frame: Any) -> list[JourneyEvent]:
        """One frame of vision results: ``timestamp``, ``tracks`` (observed ones have positions),
        ``zone_events`` (``ZoneEvent``) and ``ended`` (``TrackEnd``), as ``VisionPipeline`` yields them."""
        t = float(frame.timestamp)
        for track in getattr(frame, "tracks", ()) or ():
            if getattr(track, "observed", True):
                x1, _y1, x2, y2 = (float(v) for v in track.xyxy[:4])
                self._observe(str(track.track_id), t, ((x1 + x2) / 2.0, y2))
        for ev in getattr(frame, "zone_events", ()) or ():
            if ev.kind == "enter":
                self._zone_entered(str(ev.track_id), ev.zone, float(ev.timestamp), None, None)
            else:
                self._zone_exited(str(ev.track_id), ev.zone, float(ev.timestamp), ev.dwell_seconds)
        for end in getattr(frame, "ended", ()) or ():
            self._track_ended(
                str(end.track_id), float(end.first_seen_time), float(end.last_seen_time),
                [(p.timestamp, p.point[0], p.point[1]) for p in end.path],
            )
        self._advance(t)
        self.peak_occupancy = max(self.peak_occupancy, self.occupancy)
        return self._take()

    def observe(self, key: str, t: float, point: Point) -> list[JourneyEvent]:
        """One observed position (frame pixels, foot point) of track ``key`` at time ``t``."""
        self._observe(key, float(t), point)
        return self._take()

    def zone_entered(
        self, key: str, zone: str, t: float, point: Point | None = None, first_seen: float | None = None
    ) -> list[JourneyEvent]:
        """Track ``key`` entered ``zone`` at ``t`` (at ``point``); ``first_seen``: when the track began."""
        self._zone_entered(key, zone, float(t), point, first_seen)
        return self._take()

    def zone_exited(self, key: str, zone: str, t: float, dwell_s: float | None = None) -> list[JourneyEvent]:
        self._zone_exited(key, zone, float(t), dwell_s)
        return self._take()

    def track_ended(
        self, key: str, first_time: float | None = None, last_time: float | None = None,
        path: Sequence[Sequence[float]] | None = None,
    ) -> list[JourneyEvent]:
        """Track ``key`` ended; ``path`` (``(t, x, y)`` points), when given, replaces what was observed."""
        self._track_ended(key, first_time, last_time, path)
        return self._take()

    def advance(self, now: float) -> list[JourneyEvent]:
        """Stream time is ``now``: confirm visits and complete those whose stitch window has passed."""
        self._advance(float(now))
        return self._take()

    def finish(self, now: float | None = None) -> list[JourneyEvent]:
        """End of stream: end every open track and complete every visit."""
        for track in list(self._tracks.values()):
            if not track.ended:
                self._track_ended(track.key, None, None, None)
        horizon = max([v.last_time for v in self._visits.values()] + [now or 0.0, self._now or 0.0])
        self._advance(horizon + self.config.hold_s + self.config.confirm_s + 1.0)
        return self._take()

    # ---- views ---------------------------------------------------------------------------------------

    @property
    def occupancy(self) -> int:
        """Visits in view now (seen within ``present_s``, or open online) that lasted ``min_duration_s``."""
        if self._now is None:
            return 0
        cfg, n = self.config, 0
        for v in self._visits.values():
            if v.current is None:
                continue
            if not cfg.open_tracks_present and self._now - v.last_time > cfg.present_s:
                continue
            if v.entry_emitted or v.last_time - v.entry_time >= cfg.min_duration_s:
                n += 1
        return n

    def active_journeys(self) -> dict[str, CustomerJourney]:
        """Confirmed visits whose track is still open, by customer id (exit and duration unset, Pending)."""
        return {
            v.customer_id: self._journey(v, final=False)
            for v in self._visits.values() if v.entry_emitted and v.current is not None
        }

    # ---- state (online consumers keep it between batches) --------------------------------------------

    def to_state(self) -> dict[str, Any]:
        return {
            "v": 1, "now": self._now, "total_entries": self.total_entries, "peak_occupancy": self.peak_occupancy,
            "tracks": {k: asdict(t) for k, t in self._tracks.items()},
            "visits": {k: asdict(v) for k, v in self._visits.items()},
            "done": dict(self._done),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any] | None, camera_id: str = "", **kwargs: Any) -> JourneyBuilder:
        builder = cls(camera_id, **kwargs)
        if state:
            builder._now = state.get("now")
            builder.total_entries = int(state.get("total_entries", 0))
            builder.peak_occupancy = int(state.get("peak_occupancy", 0))
            builder._tracks = {k: _Track(**t) for k, t in state.get("tracks", {}).items()}
            builder._visits = {k: _Visit(**v) for k, v in state.get("visits", {}).items()}
            builder._done = {k: float(v) for k, v in state.get("done", {}).items()}
        return builder

    @property
    def now(self) -> float | None:
        """The latest stream time seen."""
        return self._now

    @property
    def waiting(self) -> bool:
        """Some visit waits on time alone (a confirmation or a completion), not on further events."""
        return any(v.current is None or not v.entry_emitted for v in self._visits.values())

    @property
    def idle(self) -> bool:
        """No open track and no visit awaiting completion."""
        return not self._tracks and not self._visits

    # ---- internals -----------------------------------------------------------------------------------

    def _take(self) -> list[JourneyEvent]:
        out, self._out = self._out, []
        return out

    def _track_for(self, key: str, t: float, point: Point | None) -> _Track:
        track = self._tracks.get(key)
        if track is not None:
            return track
        point_l = [float(point[0]), float(point[1])] if point is not None else None
        visit_id = self._stitch_backward(t, point_l)
        if visit_id is None:
            visit_id = self._new_id("visit", key)
            self._visits[visit_id] = _Visit(
                session_id=visit_id, customer_id=self._new_id("cust", key), entry_time=t, last_time=t,
            )
        visit = self._visits[visit_id]
        visit.tracks.append(key)
        visit.current = key
        track = _Track(key=key, visit=visit_id, first_time=t, last_time=t, first_point=point_l, last_point=point_l)
        self._tracks[key] = track
        return track

    def _stitch_backward(self, t: float, point: list[float] | None) -> str | None:
        """A visit whose track ended shortly before ``t`` near ``point``, that this new track continues."""
        best: tuple[float, float, str] | None = None
        for vid, visit in self._visits.items():
            if visit.current is not None or not visit.tracks:
                continue
            last = self._tracks.get(visit.tracks[-1])
            if last is None:
                continue
            gap = t - last.last_time
            d = _dist(last.last_point, point)
            if gap > 0 and self.config.continues(gap, d) and (best is None or (d, gap) < best[:2]):
                best = (d, gap, vid)
        return best[2] if best else None

    def _add_point(self, track: _Track, t: float, point: Point) -> None:
        p = [round(float(t), 3), round(float(point[0]), 1), round(float(point[1]), 1)]
        if not track.path or t - track.path[-1][0] >= self.config.path_sample_s:
            track.path.append(p)
        if track.first_point is None:
            track.first_point = p[1:]
        track.last_point = p[1:]

    def _observe(self, key: str, t: float, point: Point) -> None:
        if key in self._done:
            return
        track = self._track_for(key, t, point)
        if track.ended:
            return
        track.last_time = max(track.last_time, t)
        self._add_point(track, t, point)
        visit = self._visits[track.visit]
        visit.last_time = max(visit.last_time, t)
        self._now = max(self._now or t, t)

    def _zone_entered(self, key: str, zone: str, t: float, point: Point | None, first_seen: float | None) -> None:
        if key in self._done:
            return
        if first_seen is not None and first_seen < t:
            # Where the track was first seen is unknown: the entry point stands in for it, so a re-found track
            # can still be stitched backward onto the visit of one that ended nearby before it was first seen.
            track = self._track_for(key, float(first_seen), point)
        else:
            track = self._track_for(key, t, point)
        if any(s[0] == zone and s[2] is None for s in track.stays):
            return
        track.stays.append([zone, t, None])
        if point is not None and not track.ended:
            self._add_point(track, t, point)
        self._touch(track, t)

    def _zone_exited(self, key: str, zone: str, t: float, dwell_s: float | None) -> None:
        if key in self._done:
            return
        track = self._track_for(key, t - (dwell_s or 0.0), None)
        for stay in reversed(track.stays):
            if stay[0] == zone and stay[2] is None:
                stay[2] = max(stay[1], t)
                break
        else:  # the enter event was never seen (or came after the track ended): the dwell tells when
            start = t - dwell_s if dwell_s is not None else t
            eps = 1e-3
            if not any(
                s[0] == zone and s[1] <= t + eps and (s[2] is None or s[2] >= start - eps) for s in track.stays
            ):
                track.stays.append([zone, start, t])
        self._touch(track, t)

    def _touch(self, track: _Track, t: float) -> None:
        if not track.ended:
            track.last_time = max(track.last_time, t)
            visit = self._visits[track.visit]
            visit.last_time = max(visit.last_time, t)
        track.first_time = min(track.first_time, t)

    def _track_ended(
        self, key: str, first_time: float | None, last_time: float | None, path: Sequence[Sequence[float]] | None
    ) -> None:
        first_point = (path[0][1], path[0][2]) if path else None
        t0 = first_time if first_time is not None else (path[0][0] if path else None)
        if key in self._done:
            return
        track = self._tracks.get(key)
        if track is None:
            if t0 is None:
                return
            track = self._track_for(key, float(t0), first_point)
        if track.ended:
            return
        if path:
            track.path = []
            for t, x, y in path:
                self._add_point(track, float(t), (float(x), float(y)))
            track.first_point = [round(float(path[0][1]), 1), round(float(path[0][2]), 1)]
        if first_time is not None:
            track.first_time = min(track.first_time, float(first_time))
        if last_time is not None:
            track.last_time = float(last_time)
        elif path:
            track.last_time = max(track.last_time, float(path[-1][0]))
        track.ended = True
        for stay in track.stays:
            if stay[2] is None:
                stay[2] = max(stay[1], track.last_time)
        visit = self._visits.get(track.visit)
        if visit is None:
            return
        if visit.tracks and visit.tracks[0] == key:
            visit.entry_time = min(visit.entry_time, track.first_time)
        visit.last_time = max(t.last_time for t in (self._tracks[k] for k in visit.tracks if k in self._tracks))
        if visit.current == key:
            visit.current = None
            self._stitch_forward(track.visit, track)

    def _stitch_forward(self, visit_id: str, ended: _Track) -> None:
        """A new, not yet announced visit that started shortly after ``ended`` near its end continues it."""
        best: tuple[float, float, str] | None = None
        for vid, other in self._visits.items():
            if vid == visit_id or other.entry_emitted or len(other.tracks) != 1:
                continue
            first = self._tracks.get(other.tracks[0])
            if first is None:
                continue
            gap = first.first_time - ended.last_time
            d = _dist(ended.last_point, first.first_point)
            if first.first_time > ended.first_time and self.config.continues(gap, d) and (
                best is None or (d, abs(gap)) < best[:2]
            ):
                best = (d, abs(gap), vid)
        if best is None:
            return
        other = self._visits.pop(best[2])
        visit = self._visits[visit_id]
        for key in other.tracks:
            self._tracks[key].visit = visit_id
            visit.tracks.append(key)
        visit.current = other.current
        visit.last_time = max(visit.last_time, other.last_time)

    def _advance(self, now: float) -> None:
        self._now = max(self._now or now, now)
        cfg = self.config
        for vid in sorted(self._visits, key=lambda k: self._visits[k].entry_time):
            visit = self._visits[vid]
            last = self._now if (visit.current is not None and cfg.open_tracks_present) else visit.last_time
            lasted = last - visit.entry_time
            if (not visit.entry_emitted and self._now - visit.entry_time >= cfg.confirm_s
                    and (visit.current is not None or lasted >= cfg.min_duration_s)):
                if visit.current is not None and lasted < min(cfg.min_duration_s, cfg.confirm_s):
                    continue  # seen only briefly, then never again: wait until its track ends
                self._emit_entry(visit)
            if visit.current is None and self._now - visit.last_time > cfg.hold_s:
                self._complete(vid)

    def _emit_entry(self, visit: _Visit) -> None:
        visit.entry_emitted = True
        self.total_entries += 1
        self._out.append(CustomerEntry(
            visit.customer_id, visit.session_id, self.camera_id, visit.entry_time, tuple(visit.tracks)
        ))

    def _complete(self, vid: str) -> None:
        visit = self._visits.pop(vid)
        tracks = [self._tracks.pop(k) for k in visit.tracks if k in self._tracks]
        for t in tracks:
            self._done[t.key] = t.last_time
        self._prune_done()
        if not visit.entry_emitted:
            if visit.last_time - visit.entry_time < self.config.min_duration_s:
                return  # noise
            self._emit_entry(visit)
        journey = self._journey(visit, final=True, tracks=tracks)
        stays = tuple(self._stays(tracks))
        if self.conversions is not None:
            self.conversions.add_journey(self.presence(journey, stays))
            journey.conversion_status = PURCHASED if self.conversions.is_converted(journey.session_id) else NO_PURCHASE
        self._out.append(JourneyComplete(journey, self.camera_id, stays, tuple(visit.tracks)))

    def _prune_done(self) -> None:
        if self._now is None:
            return
        keep_max = self.config.done_keep_max
        horizon = self._now - self.config.done_keep_s
        stale = [k for k, t in self._done.items() if t < horizon]
        for k in stale:
            del self._done[k]
        if len(self._done) > keep_max:
            for k in sorted(self._done, key=self._done.__getitem__)[: len(self._done) - keep_max]:
                del self._done[k]

    def presence(self, journey: CustomerJourney, stays: Sequence[ZoneStay]) -> Presence:
        return Presence(
            journey.session_id, journey.entry_time, journey.exit_time,
            tuple((s.zone, s.enter_time, s.exit_time) for s in stays), self.camera_id,
        )

    def _stays(self, tracks: Sequence[_Track]) -> list[ZoneStay]:
        return merge_stays(
            (ZoneStay(s[0], float(s[1]), None if s[2] is None else float(s[2])) for t in tracks for s in t.stays),
            self.config.stitch_gap_s,
        )

    def _journey(self, visit: _Visit, *, final: bool, tracks: Sequence[_Track] | None = None) -> CustomerJourney:
        if tracks is None:
            tracks = [self._tracks[k] for k in visit.tracks if k in self._tracks]
        stays = self._stays(tracks)
        now = visit.last_time if final else (self._now or visit.last_time)
        dwell: dict[str, float] = {}
        for s in stays:
            end = s.exit_time if s.exit_time is not None else now
            dwell[s.zone] = round(dwell.get(s.zone, 0.0) + max(0.0, end - s.enter_time), 3)
        path = [p for t in tracks for p in t.path]
        path = downsample(path, self.config.max_path_points)
        journey = CustomerJourney(
            customer_id=visit.customer_id,
            session_id=visit.session_id,
            entry_time=visit.entry_time,
            exit_time=visit.last_time if final else None,
            total_duration=round(visit.last_time - visit.entry_time, 3) if final else None,
            zones_visited=[s.zone for s in stays],
            path_coordinates=[(p[1], p[2]) for p in path],
            dwell_times=dwell,
            behavior_pattern=IN_PROGRESS,
            conversion_status=NO_PURCHASE if final else PENDING,
        )
        if final:
            journey.behavior_pattern = self.rules.classify(journey)
        return journey
