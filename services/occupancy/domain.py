"""Occupancy domain: plain dataclasses and pure functions (no SQL, no transport).

Definitions (the API's field descriptions refer to these):

* **Direction semantics** (`counted_delta`): a line's ``direction`` decides what a crossing means.
  ``in`` always means "into the area" and ``out`` "out of it" (draw every line so that ``in`` points
  inside); the direction filters: ``entry`` counts ``in`` crossings as entries and ignores ``out``;
  ``exit`` counts ``out`` crossings as exits and ignores ``in``; ``bidirectional`` counts both. This is
  the vision service's convention too (`footfall.services.vision.lines`), so a line means the same everywhere.
* **current_occupancy** is entries minus exits applied one event at a time in arrival order, *clamped at
  0*: an exit while the occupancy is 0 still counts in ``total_exits`` (someone was seen leaving), keeps
  the occupancy at 0 and raises ``negative_count`` (an entry was missed or a calibration is due). A
  calibration sets the occupancy to the counted value. So ``current_occupancy`` equals
  ``total_entries - total_exits`` only while no exit was clamped and no calibration happened.
* **total_entries / total_exits** are cumulative since the camera was created (kept in the database, so
  they survive restarts); calibrations do not change them.
* **unique_persons** (live) is the number of distinct non-empty ``track_id`` values among the crossings
  counted on the camera during the current local day (midnight to midnight in the configured time zone);
  it starts again from 0 at local midnight. In logs and rollups it is the distinct track ids among the
  crossings counted in that period (``tracked_persons`` in the logs).
* **Levels and periods**: the occupancy level of a 5-minute period (UTC-aligned, so periods tile the
  hours of every time zone) is the occupancy at its end, i.e. after its last event, carried forward
  through periods without events (``net_occupancy`` of the logs). The **peak** of a period is the highest
  level reached in it (before or after any crossing, and the level carried into it).
* **avg_occupancy** of an hour or a day is the mean of the levels of its 5-minute periods, counting only
  periods that have started (up to now) and that are not before the camera's first recorded event; so an
  hour at 40 for 30 minutes then at 50 for 30 minutes averages 45.0. **avg_daily_occupancy** of a month is
  the mean of the ``avg_occupancy`` of its days (the same days rule). **peak_occupancy** is the highest
  peak of the period (for a month: the highest daily peak) and **peak_hour** the local hour (0-23) of the
  first 5-minute period that reached the day's peak.
* Hourly/daily/monthly rows are returned for periods with at least one counted crossing or calibration.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from footfall.services.core.errors import InvalidArgument

SLOT = timedelta(minutes=5)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class LineDirection(str, Enum):
    ENTRY = "entry"
    EXIT = "exit"
    BIDIRECTIONAL = "bidirectional"


class CrossingDirection(str, Enum):
    IN = "in"
    OUT = "out"


class AlertType(str, Enum):
    CAPACITY_EXCEEDED = "capacity_exceeded"
    CAPACITY_WARNING = "capacity_warning"
    ANOMALY_DETECTED = "anomaly_detected"
    NEGATIVE_COUNT = "negative_count"
    EQUIPMENT_FAILURE = "equipment_failure"


class Level(str, Enum):
    HOURLY = "hourly"
    DAILY = "daily"
    MONTHLY = "monthly"


ENTRY, EXIT, CALIBRATION = 1, -1, 0  # occupancy_events.kind


def counted_delta(line: LineDirection, crossing: CrossingDirection) -> int | None:
    """+1 (entry), -1 (exit) or None (the line ignores crossings in that sense)."""
    if line is LineDirection.ENTRY:
        return ENTRY if crossing is CrossingDirection.IN else None
    if line is LineDirection.EXIT:
        return EXIT if crossing is CrossingDirection.OUT else None
    return ENTRY if crossing is CrossingDirection.IN else EXIT


# ---------------------------------------------------------------------------------------------------------
# Configuration objects


@dataclass(frozen=True, slots=True)
class Camera:
    id: int
    camera_id: str
    camera_name: str
    location: str
    camera_type: str
    is_active: bool
    max_occupancy: int
    resolution_width: int
    resolution_height: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class NewCamera:
    camera_id: str
    camera_name: str = ""
    location: str = ""
    camera_type: str = ""
    max_occupancy: int = 0
    resolution_width: int = 0
    resolution_height: int = 0


@dataclass(frozen=True, slots=True)
class CameraPatch:
    camera_name: str | None = None
    location: str | None = None
    camera_type: str | None = None
    max_occupancy: int | None = None
    resolution_width: int | None = None
    resolution_height: int | None = None
    is_active: bool | None = None


@dataclass(frozen=True, slots=True)
class Line:
    id: int
    camera_id: int
    line_name: str
    x1: float
    y1: float
    x2: float
    y2: float
    direction: LineDirection
    confidence_threshold: float
    is_active: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class NewLine:
    camera_id: int
    line_name: str
    x1: float
    y1: float
    x2: float
    y2: float
    direction: LineDirection | None
    confidence_threshold: float | None = None


@dataclass(frozen=True, slots=True)
class LinePatch:
    line_name: str | None = None
    x1: float | None = None
    y1: float | None = None
    x2: float | None = None
    y2: float | None = None
    direction: LineDirection | None = None
    confidence_threshold: float | None = None
    is_active: bool | None = None


DEFAULT_CONFIDENCE_THRESHOLD = 0.5
MAX_TEXT = 200
# The seed's camera types; "" leaves it unset.
CAMERA_TYPES = ("entry_only", "exit_only", "bidirectional")


def _check_camera_type(value: str) -> None:
    if value and value not in CAMERA_TYPES:
        allowed = ", ".join(CAMERA_TYPES)
        raise InvalidArgument(f"camera_type must be one of {allowed} (or empty), not {value!r}")


def validate_new_camera(spec: NewCamera) -> NewCamera:
    key = spec.camera_id.strip()
    if not key:
        raise InvalidArgument("camera_id is required")
    if len(key) > MAX_TEXT or any(c.isspace() for c in key):
        raise InvalidArgument(f"camera_id {key!r} must be 1-{MAX_TEXT} characters without spaces")
    _check_camera_numbers(spec.max_occupancy, spec.resolution_width, spec.resolution_height)
    for name in ("camera_name", "location", "camera_type"):
        if len(getattr(spec, name)) > MAX_TEXT:
            raise InvalidArgument(f"{name} is longer than {MAX_TEXT} characters")
    _check_camera_type(spec.camera_type.strip())
    return NewCamera(
        camera_id=key, camera_name=spec.camera_name.strip() or key, location=spec.location.strip(),
        camera_type=spec.camera_type.strip(), max_occupancy=spec.max_occupancy,
        resolution_width=spec.resolution_width, resolution_height=spec.resolution_height,
    )


def apply_camera_patch(camera: Camera, patch: CameraPatch) -> Camera:
    """The camera with the patch's set fields applied, validated."""
    changes = {k: getattr(patch, k) for k in CameraPatch.__slots__ if getattr(patch, k) is not None}
    for name in ("camera_name", "location", "camera_type"):
        if name in changes:
            changes[name] = changes[name].strip()
            if len(changes[name]) > MAX_TEXT:
                raise InvalidArgument(f"{name} is longer than {MAX_TEXT} characters")
    if changes.get("camera_name") == "":
        raise InvalidArgument("camera_name cannot be empty")
    if "camera_type" in changes:
        _check_camera_type(changes["camera_type"])
    updated = _replace(camera, **changes)
    _check_camera_numbers(updated.max_occupancy, updated.resolution_width, updated.resolution_height)
    return updated


def _check_camera_numbers(max_occupancy: int, width: int, height: int) -> None:
    if max_occupancy < 0:
        raise InvalidArgument(f"max_occupancy must be 0 (no capacity) or positive, not {max_occupancy}")
    if width < 0 or height < 0:
        raise InvalidArgument(f"resolution must be 0 (unknown) or positive, not {width}x{height}")


def validate_line_geometry(x1: float, y1: float, x2: float, y2: float, *, width: int, height: int) -> None:
    """Finite, non-negative, not a single point, and inside the camera's frame when its resolution is known."""
    coords = {"x1": x1, "y1": y1, "x2": x2, "y2": y2}
    for name, value in coords.items():
        if not math.isfinite(value):
            raise InvalidArgument(f"line coordinate {name} must be a finite number, not {value}")
        if value < 0:
            raise InvalidArgument(f"line coordinate {name} must not be negative ({value})")
    if x1 == x2 and y1 == y2:
        raise InvalidArgument(f"line endpoints must differ: ({x1}, {y1}) is a zero-length line")
    if width > 0:
        for name in ("x1", "x2"):
            if coords[name] > width:
                raise InvalidArgument(
                    f"line coordinate {name}={coords[name]:g} is outside the camera frame (width {width})")
    if height > 0:
        for name in ("y1", "y2"):
            if coords[name] > height:
                raise InvalidArgument(
                    f"line coordinate {name}={coords[name]:g} is outside the camera frame (height {height})")


def validate_threshold(value: float) -> float:
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise InvalidArgument(f"confidence_threshold must be between 0 and 1, not {value}")
    return value


def validate_line_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise InvalidArgument("line_name is required")
    if len(name) > MAX_TEXT:
        raise InvalidArgument(f"line_name is longer than {MAX_TEXT} characters")
    return name


def validate_new_line(spec: NewLine, camera: Camera) -> NewLine:
    name = validate_line_name(spec.line_name)
    if spec.direction is None:
        raise InvalidArgument("direction is required: entry, exit or bidirectional")
    validate_line_geometry(spec.x1, spec.y1, spec.x2, spec.y2,
                           width=camera.resolution_width, height=camera.resolution_height)
    threshold = DEFAULT_CONFIDENCE_THRESHOLD if spec.confidence_threshold is None else spec.confidence_threshold
    return _replace(spec, line_name=name, confidence_threshold=validate_threshold(threshold))


def apply_line_patch(line: Line, patch: LinePatch, camera: Camera) -> Line:
    changes = {k: getattr(patch, k) for k in LinePatch.__slots__ if getattr(patch, k) is not None}
    if "line_name" in changes:
        changes["line_name"] = validate_line_name(changes["line_name"])
    if "confidence_threshold" in changes:
        validate_threshold(changes["confidence_threshold"])
    updated = _replace(line, **changes)
    if any(k in changes for k in ("x1", "y1", "x2", "y2")):
        validate_line_geometry(updated.x1, updated.y1, updated.x2, updated.y2,
                               width=camera.resolution_width, height=camera.resolution_height)
    return updated


def _replace(obj, **changes):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    return replace(obj, **changes)


# ---------------------------------------------------------------------------------------------------------
# Live state, crossings and the batch ledger


@dataclass(frozen=True, slots=True)
class LiveOccupancy:
    camera_id: int
    current_occupancy: int
    total_entries: int
    total_exits: int
    unique_persons: int
    last_updated: datetime | None


@dataclass(frozen=True, slots=True)
class FacilityOccupancy:
    facility_occupancy: int
    total_entries_all_cameras: int
    total_exits_all_cameras: int
    cameras_active: int
    last_updated: datetime


@dataclass(frozen=True, slots=True)
class FacilityStats:
    total_cameras: int
    active_cameras: int
    total_persons_in_facility: int
    capacity_utilization: float
    active_alerts: int
    timestamp: datetime


@dataclass(slots=True)
class Crossing:
    """One `LineCrossed` event (or `RecordCrossing` call)."""

    event_id: str
    camera_key: str
    line_id: int
    line_name: str
    direction: CrossingDirection | None
    track_id: str
    confidence: float
    occurred_at: datetime


class Outcome(str, Enum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"
    REJECTED = "rejected"


@dataclass(slots=True)
class CrossingOutcome:
    event_id: str
    outcome: Outcome
    reason: str = ""
    camera_id: int | None = None  # the camera's database id when it is known
    not_found: bool = False  # rejected because the camera or line does not exist

    @property
    def applied(self) -> bool:
        return self.outcome is Outcome.APPLIED


@dataclass(frozen=True, slots=True)
class LineRule:
    id: int
    name: str
    direction: LineDirection
    confidence_threshold: float
    is_active: bool


@dataclass(slots=True)
class CameraLedger:
    """A camera's live state as locked for one batch; `apply_crossing` updates it in place."""

    camera_id: int
    camera_key: str
    is_active: bool
    max_occupancy: int
    current: int
    total_entries: int
    total_exits: int
    last_seq: int
    unique_day: date | None
    unique_persons: int
    anomaly_minute: datetime | None
    anomaly_count: int
    last_updated: datetime | None
    last_event_at: datetime | None
    rollup_horizon: datetime | None
    rollup_dirty_from: datetime | None
    lines_by_id: dict[int, LineRule] = field(default_factory=dict)
    lines_by_name: dict[str, LineRule] = field(default_factory=dict)
    open_alerts: set[str] = field(default_factory=set)
    changed: bool = False

    def live(self, today: date) -> LiveOccupancy:
        return LiveOccupancy(
            camera_id=self.camera_id, current_occupancy=self.current, total_entries=self.total_entries,
            total_exits=self.total_exits,
            unique_persons=self.unique_persons if self.unique_day == today else 0,
            last_updated=self.last_updated,
        )


@dataclass(frozen=True, slots=True)
class AlertRules:
    warning_ratio: float = 0.8
    anomaly_per_minute: int = 120
    # An open capacity alert resolves itself once the level is this fraction of capacity below the alert's
    # threshold (hysteresis: a level hovering at the threshold does not raise and resolve in turn).
    resolve_margin: float = 0.1


@dataclass(frozen=True, slots=True)
class RaisedAlert:
    camera_id: int
    alert_type: AlertType
    current_occupancy: int
    message: str


@dataclass(slots=True)
class BucketAgg:
    """A 5-minute bucket's contribution from one batch (merged into occupancy_5m, both storage paths)."""

    entries: int = 0
    exits: int = 0
    events: int = 0
    close: int = 0
    close_seq: int = 0
    peak: int = 0
    log_id: int | None = None


def bucket_start(ts: datetime, period: timedelta = SLOT) -> datetime:
    """The UTC-aligned start of the `period` containing `ts` (same as date_bin/time_bucket)."""
    if period == SLOT:  # the hot path: 5-minute buckets divide UTC hours
        if ts.tzinfo is not UTC:
            ts = ts.astimezone(UTC)
        return ts.replace(minute=ts.minute - ts.minute % 5, second=0, microsecond=0)
    step = int(period.total_seconds() * 1_000_000)
    micros = (ts - _EPOCH) // timedelta(microseconds=1)
    return _EPOCH + timedelta(microseconds=micros - micros % step)


def capacity_alert(level: int, max_occupancy: int, rules: AlertRules) -> tuple[AlertType, str] | None:
    """The capacity alert a level calls for, if any (exceeded wins over warning)."""
    if max_occupancy <= 0:
        return None
    if level > max_occupancy:
        return AlertType.CAPACITY_EXCEEDED, f"Occupancy ({level}) exceeds capacity ({max_occupancy})"
    if level > rules.warning_ratio * max_occupancy:
        pct = round(rules.warning_ratio * 100)
        return (AlertType.CAPACITY_WARNING,
                f"Occupancy ({level}) exceeds {pct}% of capacity ({max_occupancy})")
    return None


_CAPACITY = (AlertType.CAPACITY_EXCEEDED, AlertType.CAPACITY_WARNING)


def capacity_resolved(
    level: int, max_occupancy: int, open_alerts: set[str], rules: AlertRules,
) -> list[AlertType]:
    """The open capacity alerts that ``level`` resolves: those whose threshold it is ``resolve_margin`` of
    capacity below. With capacity unset (0) every capacity alert resolves."""
    out = []
    for kind in _CAPACITY:
        if kind.value not in open_alerts:
            continue
        exceeded = kind is AlertType.CAPACITY_EXCEEDED
        threshold = max_occupancy if exceeded else rules.warning_ratio * max_occupancy
        if max_occupancy <= 0 or level <= threshold - rules.resolve_margin * max_occupancy:
            out.append(kind)
    return out


@dataclass(slots=True)
class BatchResult:
    outcomes: list[CrossingOutcome] = field(default_factory=list)
    # occupancy_events rows: (camera_id, seq, kind, line_id, event_id, track_id, confidence, occurred_at,
    # before, after)
    rows: list[tuple] = field(default_factory=list)
    buckets: dict[tuple[int, datetime], BucketAgg] = field(default_factory=dict)
    alerts: list[RaisedAlert] = field(default_factory=list)
    day_tracks: set[tuple[int, date, str]] = field(default_factory=set)
    min_occurred: dict[int, datetime] = field(default_factory=dict)
    recovered: set[int] = field(default_factory=set)  # cameras whose equipment_failure auto-resolves
    resolved: set[tuple[int, AlertType]] = field(default_factory=set)  # capacity alerts that auto-resolve
    day_cache: dict[datetime, date] = field(default_factory=dict)


def resolve_line(cam: CameraLedger, crossing: Crossing) -> LineRule | str:
    """The line a crossing names, or why it cannot be applied."""
    if crossing.line_id:
        line = cam.lines_by_id.get(crossing.line_id)
        if line is None:
            return f"unknown line {crossing.line_id} on camera '{cam.camera_key}'"
    else:
        line = cam.lines_by_name.get(crossing.line_name)
        if line is None:
            return f"unknown line {crossing.line_name!r} on camera '{cam.camera_key}'"
    if not line.is_active:
        return f"line {line.name!r} on camera '{cam.camera_key}' is inactive"
    return line


def reject_reason(cams: dict[str, CameraLedger], crossing: Crossing) -> tuple[str, bool] | None:
    """Why a crossing cannot be applied as it stands, and whether that is because the camera or line does
    not exist; None when it can be applied."""
    if not crossing.event_id:
        return "event without event_id", False
    cam = cams.get(crossing.camera_key)
    if cam is None:
        return f"unknown camera '{crossing.camera_key}'", True
    if not cam.is_active:
        return f"camera '{crossing.camera_key}' is inactive", False
    if crossing.direction is None:
        return "crossing direction unspecified", False
    line = resolve_line(cam, crossing)
    if isinstance(line, str):
        return line, line.startswith("unknown")
    return None


def apply_batch(
    cams: dict[str, CameraLedger], crossings: Sequence[Crossing], fresh: set[str], *, now: datetime,
    tz: ZoneInfo, rules: AlertRules, rejections: Sequence[tuple[str, bool] | None] | None = None,
) -> BatchResult:
    """Apply `crossings` in order to the locked camera ledgers.

    `fresh` holds the event ids this batch claimed (not applied before); the others are duplicates. Rejected
    crossings (unknown camera/line) are reported and change nothing but the camera's `last_event_at`.
    """
    result = BatchResult()
    seen: set[str] = set()
    if rejections is None:
        rejections = [reject_reason(cams, c) for c in crossings]
    for crossing, rejected in zip(crossings, rejections, strict=True):
        cam = cams.get(crossing.camera_key)
        if cam is not None:
            cam.last_event_at = now
        if rejected is not None:
            result.outcomes.append(CrossingOutcome(crossing.event_id, Outcome.REJECTED, rejected[0],
                                                   cam.camera_id if cam else None, rejected[1]))
            continue
        assert cam is not None and crossing.direction is not None
        if crossing.event_id not in fresh or crossing.event_id in seen:
            result.outcomes.append(CrossingOutcome(crossing.event_id, Outcome.DUPLICATE, "event already processed",
                                                   cam.camera_id))
            continue
        seen.add(crossing.event_id)
        line = resolve_line(cam, crossing)
        assert isinstance(line, LineRule)
        if not crossing.confidence >= line.confidence_threshold:  # NaN counts as below
            result.outcomes.append(CrossingOutcome(
                crossing.event_id, Outcome.IGNORED,
                f"confidence {crossing.confidence:.2f} is below line {line.name!r}'s threshold "
                f"{line.confidence_threshold:.2f}", cam.camera_id))
            continue
        delta = counted_delta(line.direction, crossing.direction)
        if delta is None:
            result.outcomes.append(CrossingOutcome(
                crossing.event_id, Outcome.IGNORED,
                f"line {line.name!r} ({line.direction.value}) does not count {crossing.direction.value} crossings",
                cam.camera_id))
            continue
        _apply_one(cam, crossing, line, delta, result, now=now, tz=tz, rules=rules)
        result.outcomes.append(CrossingOutcome(crossing.event_id, Outcome.APPLIED, "", cam.camera_id))
    return result


_EQUIPMENT = AlertType.EQUIPMENT_FAILURE.value


def _local_day(when: datetime, tz: ZoneInfo, cache: dict[datetime, date]) -> date:
    """`when`'s local date; cached per UTC quarter hour (zone offsets are whole quarter hours, so local
    midnight always falls on a UTC quarter hour)."""
    block = when.replace(minute=when.minute - when.minute % 15, second=0, microsecond=0)
    day = cache.get(block)
    if day is None:
        day = cache[block] = block.astimezone(tz).date()
    return day


def _apply_one(
    cam: CameraLedger, crossing: Crossing, line: LineRule, delta: int, result: BatchResult, *,
    now: datetime, tz: ZoneInfo, rules: AlertRules,
) -> None:
    before = cam.current
    if delta == ENTRY:
        after = cam.current = before + 1
        cam.total_entries += 1
    else:
        cam.total_exits += 1
        if before > 0:
            after = cam.current = before - 1
        else:
            after = 0
            _raise(cam, result, AlertType.NEGATIVE_COUNT, 0,
                   f"Exit on line {line.name!r} while occupancy is 0; occupancy kept at 0 (calibration advised)")
    seq = cam.last_seq = cam.last_seq + 1
    cam.last_updated = now
    cam.changed = True
    when = crossing.occurred_at
    camera_id = cam.camera_id
    result.rows.append((camera_id, seq, delta, line.id, crossing.event_id, crossing.track_id,
                        crossing.confidence, when, before, after))
    first = result.min_occurred.get(camera_id)
    if first is None or when < first:
        result.min_occurred[camera_id] = when

    key = (camera_id, bucket_start(when))
    agg = result.buckets.get(key)
    if agg is None:
        agg = result.buckets[key] = BucketAgg(peak=before if before > after else after)  # noqa: FURB136 (hot path)
    if delta == ENTRY:
        agg.entries += 1
    else:
        agg.exits += 1
    agg.events += 1
    agg.close = after
    agg.close_seq = agg.log_id = seq
    if before > agg.peak or after > agg.peak:
        agg.peak = before if before > after else after  # noqa: FURB136 (hot path)

    if crossing.track_id:
        result.day_tracks.add((camera_id, _local_day(when, tz, result.day_cache), crossing.track_id))

    minute = when.replace(second=0, microsecond=0)
    if cam.anomaly_minute is None or minute > cam.anomaly_minute:
        cam.anomaly_minute, cam.anomaly_count = minute, 1
    elif minute == cam.anomaly_minute:
        cam.anomaly_count += 1
        if cam.anomaly_count > rules.anomaly_per_minute:
            _raise(cam, result, AlertType.ANOMALY_DETECTED, after,
                   f"Occupancy anomaly detected: more than {rules.anomaly_per_minute} crossings within one "
                   f"minute ({cam.anomaly_count} at {minute:%H:%M} UTC)")

    if cam.max_occupancy > 0 and after > rules.warning_ratio * cam.max_occupancy:
        alert = capacity_alert(after, cam.max_occupancy, rules)
        if alert is not None:
            _raise(cam, result, alert[0], after, alert[1])
    if delta != ENTRY and cam.open_alerts:  # every exit, one at zero (kept at 0) too, may resolve (issue 9)
        _resolve_capacity(cam, result, after, rules)
    if cam.open_alerts and _EQUIPMENT in cam.open_alerts:
        cam.open_alerts.discard(_EQUIPMENT)
        result.recovered.add(camera_id)


def _raise(cam: CameraLedger, result: BatchResult, kind: AlertType, level: int, message: str) -> None:
    if kind.value in cam.open_alerts:
        return
    cam.open_alerts.add(kind.value)
    result.alerts.append(RaisedAlert(cam.camera_id, kind, level, message))


def _resolve_capacity(cam: CameraLedger, result: BatchResult, level: int, rules: AlertRules) -> None:
    for kind in capacity_resolved(level, cam.max_occupancy, cam.open_alerts, rules):
        cam.open_alerts.discard(kind.value)
        result.resolved.add((cam.camera_id, kind))


def calibration_alerts(cam: CameraLedger, value: int, rules: AlertRules) -> BatchResult:
    """Alerts a calibration to `value` raises or resolves (capacity only), updating the ledger's open set."""
    result = BatchResult()
    alert = capacity_alert(value, cam.max_occupancy, rules)
    if alert is not None:
        _raise(cam, result, alert[0], value, alert[1])
    _resolve_capacity(cam, result, value, rules)
    return result


# ---------------------------------------------------------------------------------------------------------
# Alerts


@dataclass(frozen=True, slots=True)
class Alert:
    id: int
    camera_id: int
    alert_type: AlertType
    current_occupancy: int
    message: str
    is_resolved: bool
    timestamp: datetime
    resolved_at: datetime | None


def equipment_failure_message(camera_key: str, silent_for_s: float | None, detail: str = "") -> str:
    if detail:
        return f"Camera '{camera_key}' reports a source problem: {detail}"
    if silent_for_s is None:
        return f"Camera '{camera_key}' has not reported any crossing since it was configured"
    return f"Camera '{camera_key}' has reported nothing for {int(silent_for_s)} s"


# ---------------------------------------------------------------------------------------------------------
# Logs and rollups


@dataclass(frozen=True, slots=True)
class OccupancyLog:
    id: int
    camera_id: int
    entry_count: int
    exit_count: int
    net_occupancy: int
    timestamp: datetime
    tracked_persons: int
    is_manual_calibration: bool = False
    notes: str = ""


@dataclass(frozen=True, slots=True)
class Bucket:
    """One 5-minute bucket as stored (occupancy_5m)."""

    start: datetime
    entries: int
    exits: int
    events: int
    close: int
    peak: int


@dataclass(frozen=True, slots=True)
class PeriodStats:
    start: datetime
    end: datetime
    entries: int
    exits: int
    events: int
    slots: int  # 5-minute periods averaged (started, not before the first data)
    avg: float
    peak: int
    peak_at: datetime | None


@dataclass(frozen=True, slots=True)
class RollupRow:
    """An hourly, daily or monthly row (fields per level as in the API; unused ones are None)."""

    level: Level
    period_start: datetime
    period_end: datetime
    label: str
    camera_id: int
    entries: int
    exits: int
    avg_occupancy: float
    peak_occupancy: int
    peak_hour: int | None
    unique_persons: int
    # The IANA zone the period is local to: with it, the start's UTC offset tells apart the two hours that
    # share a label on the day clocks go back.
    time_zone: str = "UTC"

    @property
    def local_start(self) -> datetime:
        return self.period_start.astimezone(ZoneInfo(self.time_zone))

    @property
    def utc_offset(self) -> str:
        """``+HH:MM`` (or ``-HH:MM``) at the period's start."""
        return utc_offset_text(self.local_start)

    @property
    def start_iso(self) -> str:
        """The period's start as ISO 8601 local time with its offset."""
        return self.local_start.isoformat()


def utc_offset_text(local: datetime) -> str:
    offset = local.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise InvalidArgument(f"unknown time zone {name!r}: use an IANA name such as 'Europe/Paris'") from err


def floor_period(level: Level, ts: datetime, tz: ZoneInfo) -> datetime:
    """Start (UTC) of the local hour/day/month containing `ts`."""
    local = ts.astimezone(tz)
    if level is Level.HOURLY:
        start = local.replace(minute=0, second=0, microsecond=0)
    elif level is Level.DAILY:
        start = datetime.combine(local.date(), time(0), tzinfo=tz)
    else:
        start = datetime.combine(local.date().replace(day=1), time(0), tzinfo=tz)
    return start.astimezone(UTC)


def next_period(level: Level, start: datetime, tz: ZoneInfo) -> datetime:
    """Start (UTC) of the period after the one starting at `start`."""
    local = start.astimezone(tz)
    if level is Level.HOURLY:
        nxt = floor_period(level, start + timedelta(hours=1), tz)
        return nxt if nxt > start else start + timedelta(hours=1)
    if level is Level.DAILY:
        d = local.date() + timedelta(days=1)
    else:
        d = local.date().replace(day=1)
        d = d.replace(year=d.year + 1, month=1) if d.month == 12 else d.replace(month=d.month + 1)
    return datetime.combine(d, time(0), tzinfo=tz).astimezone(UTC)


def period_edges(level: Level, start: datetime, end: datetime, tz: ZoneInfo) -> list[datetime]:
    """Boundaries of the periods covering [start, end): [p0, p1, ..., pn] with p0 <= start and pn >= end."""
    edges = [floor_period(level, start, tz)]
    while edges[-1] < end:
        edges.append(next_period(level, edges[-1], tz))
    if len(edges) == 1:
        edges.append(next_period(level, edges[0], tz))
    return edges


def lookback_start(level: Level, count: int, now: datetime, tz: ZoneInfo) -> datetime:
    """Start of the last `count` local days (hourly, daily) or months (monthly), the current one included."""
    local = now.astimezone(tz).date()
    if level is Level.MONTHLY:
        months = local.year * 12 + (local.month - 1) - (count - 1)
        first = date(months // 12, months % 12 + 1, 1)
    else:
        first = local - timedelta(days=count - 1)
    return datetime.combine(first, time(0), tzinfo=tz).astimezone(UTC)


def summarize_periods(
    edges: Sequence[datetime], buckets: Sequence[Bucket], *, initial_level: int, first_data: datetime | None,
    now: datetime,
) -> list[PeriodStats]:
    """Per period between consecutive `edges`: counts, time-weighted (per 5-minute period) level and peak.

    `buckets` are the stored 5-minute buckets inside [edges[0], edges[-1]) in time order; `initial_level`
    the level carried in from before edges[0]; `first_data` the camera's first bucket ever (periods before
    it are not averaged); `now` bounds the averaged periods (a bucket dated later extends the bound).
    """
    out: list[PeriodStats] = []
    level = initial_level
    latest = bucket_start(now) + SLOT
    if buckets:
        latest = max(latest, buckets[-1].start + SLOT)
    bi = 0
    for a, b in itertools.pairwise(edges):
        lo = a if first_data is None else max(a, first_data)
        hi = min(b, latest)
        entries = exits = events = 0
        total = 0
        peak: int | None = None
        peak_at: datetime | None = None
        t = lo
        while bi < len(buckets) and buckets[bi].start < b:
            bk = buckets[bi]
            bi += 1
            entries += bk.entries
            exits += bk.exits
            events += bk.events
            if bk.start < lo:  # only when data precedes first_data (inconsistent input): carry its level
                level = bk.close
                continue
            gap = (bk.start - t) // SLOT
            if gap > 0:
                total += gap * level
                if peak is None or level > peak:
                    peak, peak_at = level, t
            level = bk.close
            total += level
            if peak is None or bk.peak > peak:
                peak, peak_at = bk.peak, bk.start
            t = bk.start + SLOT
        n = max(0, (hi - lo) // SLOT) if first_data is not None else 0
        if n > 0 and hi > t:
            gap = (hi - t) // SLOT
            if gap > 0:
                total += gap * level
                if peak is None or level > peak:
                    peak, peak_at = level, t
        avg = total / n if n > 0 else 0.0
        out.append(PeriodStats(a, b, entries, exits, events, n, avg, peak if peak is not None else 0, peak_at))
    return out


def _label(level: Level, start: datetime, tz: ZoneInfo) -> str:
    local = start.astimezone(tz)
    if level is Level.HOURLY:
        return local.strftime("%Y-%m-%d %H:00")
    if level is Level.DAILY:
        return local.strftime("%Y-%m-%d")
    return local.strftime("%Y-%m")


def build_rollups(
    level: Level, camera_id: int, edges: Sequence[datetime], buckets: Sequence[Bucket], *, initial_level: int,
    first_data: datetime | None, now: datetime, tz: ZoneInfo, unique: dict[int, int],
    day_edges: Sequence[datetime] | None = None,
) -> list[RollupRow]:
    """Rollup rows for the periods between `edges` that hold at least one event.

    `unique[i]` is the distinct track count of period i. Monthly rows need `day_edges` (the local days
    covering the same range): avg_daily_occupancy is the mean of the days' averages and peak_occupancy
    the highest daily peak.
    """
    rows: list[RollupRow] = []
    if level is Level.MONTHLY:
        if day_edges is None:
            raise ValueError("monthly rollups need day_edges")
        days = summarize_periods(day_edges, buckets, initial_level=initial_level, first_data=first_data, now=now)
        di = 0
        for i, (a, b) in enumerate(itertools.pairwise(edges)):
            entries = exits = events = 0
            avgs: list[float] = []
            peak = 0
            while di < len(days) and days[di].start < b:
                d = days[di]
                di += 1
                if d.start < a:
                    continue
                entries += d.entries
                exits += d.exits
                events += d.events
                if d.slots > 0:
                    avgs.append(d.avg)
                    peak = max(peak, d.peak)
            if events:
                rows.append(RollupRow(level, a, b, _label(level, a, tz), camera_id, entries, exits,
                                      round(sum(avgs) / len(avgs), 2) if avgs else 0.0, peak, None,
                                      unique.get(i, 0), tz.key))
        return rows
    stats = summarize_periods(edges, buckets, initial_level=initial_level, first_data=first_data, now=now)
    for i, s in enumerate(stats):
        if not s.events:
            continue
        peak_hour = s.peak_at.astimezone(tz).hour if (level is Level.DAILY and s.peak_at is not None) else None
        rows.append(RollupRow(level, s.start, s.end, _label(level, s.start, tz), camera_id, s.entries, s.exits,
                              round(s.avg, 2), s.peak, peak_hour, unique.get(i, 0), tz.key))
    return rows


def iter_chunks(items: Iterable, size: int):  # type: ignore[no-untyped-def]
    chunk: list = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
