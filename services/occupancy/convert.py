"""Domain objects <-> footfall.v1 protobuf messages (used by the servicer and by the NATS notifications)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from footfall.v1 import common_pb2, events_pb2, occupancy_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from footfall.services.core.timestamps import optional_timestamp
from footfall.services.occupancy import domain as d

LINE_DIRECTION_TO_PB = {
    d.LineDirection.ENTRY: common_pb2.LINE_DIRECTION_ENTRY,
    d.LineDirection.EXIT: common_pb2.LINE_DIRECTION_EXIT,
    d.LineDirection.BIDIRECTIONAL: common_pb2.LINE_DIRECTION_BIDIRECTIONAL,
}
LINE_DIRECTION_FROM_PB = {v: k for k, v in LINE_DIRECTION_TO_PB.items()}
CROSSING_FROM_PB = {
    common_pb2.CROSSING_DIRECTION_IN: d.CrossingDirection.IN,
    common_pb2.CROSSING_DIRECTION_OUT: d.CrossingDirection.OUT,
}
ALERT_TO_PB = {
    d.AlertType.CAPACITY_EXCEEDED: occupancy_pb2.ALERT_TYPE_CAPACITY_EXCEEDED,
    d.AlertType.CAPACITY_WARNING: occupancy_pb2.ALERT_TYPE_CAPACITY_WARNING,
    d.AlertType.ANOMALY_DETECTED: occupancy_pb2.ALERT_TYPE_ANOMALY_DETECTED,
    d.AlertType.NEGATIVE_COUNT: occupancy_pb2.ALERT_TYPE_NEGATIVE_COUNT,
    d.AlertType.EQUIPMENT_FAILURE: occupancy_pb2.ALERT_TYPE_EQUIPMENT_FAILURE,
}
ALERT_FROM_PB = {v: k for k, v in ALERT_TO_PB.items()}
LEVEL_FROM_PB = {
    occupancy_pb2.AGGREGATION_LEVEL_HOURLY: d.Level.HOURLY,
    occupancy_pb2.AGGREGATION_LEVEL_DAILY: d.Level.DAILY,
    occupancy_pb2.AGGREGATION_LEVEL_MONTHLY: d.Level.MONTHLY,
}
LEVEL_TO_PB = {v: k for k, v in LEVEL_FROM_PB.items()}


ts = optional_timestamp


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def from_ts(value: Timestamp) -> datetime | None:
    """An aware UTC datetime (microseconds), None for the zero timestamp."""
    seconds, nanos = value.seconds, value.nanos
    if seconds == 0 and nanos == 0:
        return None
    return _EPOCH + timedelta(seconds=seconds, microseconds=nanos // 1000)


def camera(c: d.Camera) -> occupancy_pb2.Camera:
    return occupancy_pb2.Camera(
        id=c.id, camera_id=c.camera_id, camera_name=c.camera_name, location=c.location, camera_type=c.camera_type,
        is_active=c.is_active, max_occupancy=c.max_occupancy, resolution_width=c.resolution_width,
        resolution_height=c.resolution_height, created_at=ts(c.created_at), updated_at=ts(c.updated_at),
    )


def line(ln: d.Line) -> occupancy_pb2.VirtualLine:
    return occupancy_pb2.VirtualLine(
        id=ln.id, camera_id=ln.camera_id, line_name=ln.line_name, x1=ln.x1, y1=ln.y1, x2=ln.x2, y2=ln.y2,
        direction=LINE_DIRECTION_TO_PB[ln.direction], confidence_threshold=ln.confidence_threshold,
        is_active=ln.is_active, created_at=ts(ln.created_at),
    )


def live(lo: d.LiveOccupancy) -> occupancy_pb2.LiveOccupancy:
    return occupancy_pb2.LiveOccupancy(
        camera_id=lo.camera_id, current_occupancy=lo.current_occupancy, total_entries=lo.total_entries,
        total_exits=lo.total_exits, unique_persons=lo.unique_persons, last_updated=ts(lo.last_updated),
    )


def live_from_pb(p: occupancy_pb2.LiveOccupancy) -> d.LiveOccupancy:
    return d.LiveOccupancy(p.camera_id, p.current_occupancy, p.total_entries, p.total_exits, p.unique_persons,
                           from_ts(p.last_updated) if p.HasField("last_updated") else None)


def alert(a: d.Alert) -> occupancy_pb2.Alert:
    return occupancy_pb2.Alert(
        id=a.id, camera_id=a.camera_id, alert_type=ALERT_TO_PB[a.alert_type], current_occupancy=a.current_occupancy,
        message=a.message, is_resolved=a.is_resolved, timestamp=ts(a.timestamp), resolved_at=ts(a.resolved_at),
    )


def alert_from_pb(p: occupancy_pb2.Alert) -> d.Alert:
    return d.Alert(p.id, p.camera_id, ALERT_FROM_PB.get(p.alert_type, d.AlertType.ANOMALY_DETECTED),
                   p.current_occupancy, p.message, p.is_resolved, from_ts(p.timestamp) or datetime.now(UTC),
                   from_ts(p.resolved_at) if p.HasField("resolved_at") else None)


def log(entry: d.OccupancyLog) -> occupancy_pb2.OccupancyLog:
    return occupancy_pb2.OccupancyLog(
        id=entry.id, camera_id=entry.camera_id, entry_count=entry.entry_count, exit_count=entry.exit_count,
        net_occupancy=entry.net_occupancy, timestamp=ts(entry.timestamp), tracked_persons=entry.tracked_persons,
        is_manual_calibration=entry.is_manual_calibration, notes=entry.notes,
    )


def hourly(r: d.RollupRow) -> occupancy_pb2.HourlyOccupancy:
    return occupancy_pb2.HourlyOccupancy(
        hour=r.label, camera_id=r.camera_id, entries=r.entries, exits=r.exits, avg_occupancy=r.avg_occupancy,
        peak_occupancy=r.peak_occupancy, unique_persons=r.unique_persons,
        utc_offset=r.utc_offset, start=r.start_iso,
    )


def daily(r: d.RollupRow) -> occupancy_pb2.DailyOccupancy:
    return occupancy_pb2.DailyOccupancy(
        date=r.label, camera_id=r.camera_id, entries=r.entries, exits=r.exits, avg_occupancy=r.avg_occupancy,
        peak_occupancy=r.peak_occupancy, peak_hour=r.peak_hour or 0, unique_persons=r.unique_persons,
        utc_offset=r.utc_offset, start=r.start_iso,
    )


def monthly(r: d.RollupRow) -> occupancy_pb2.MonthlyOccupancy:
    return occupancy_pb2.MonthlyOccupancy(
        period=r.label, camera_id=r.camera_id, entries=r.entries, exits=r.exits,
        avg_daily_occupancy=r.avg_occupancy, peak_occupancy=r.peak_occupancy, unique_persons=r.unique_persons,
    )


def crossing_from_event(envelope: events_pb2.EventEnvelope, payload: events_pb2.LineCrossed,
                        now: datetime) -> d.Crossing:
    """A `LineCrossed` payload as a domain crossing (its occurred_at, else the envelope's, else now)."""
    occurred = from_ts(payload.occurred_at) or from_ts(envelope.occurred_at) or now
    return d.Crossing(
        event_id=envelope.event_id, camera_key=payload.camera_id, line_id=payload.line_id,
        line_name=payload.line_name, direction=CROSSING_FROM_PB.get(payload.direction), track_id=payload.track_id,
        confidence=payload.confidence, occurred_at=occurred,
    )


def crossing_from_request(req: occupancy_pb2.RecordCrossingRequest, now: datetime) -> d.Crossing:
    occurred = from_ts(req.occurred_at) if req.HasField("occurred_at") else None
    return d.Crossing(
        event_id=req.event_id, camera_key=req.camera_id, line_id=req.line_id, line_name=req.line_name,
        direction=CROSSING_FROM_PB.get(req.direction), track_id=req.track_id, confidence=req.confidence,
        occurred_at=occurred or now,
    )
