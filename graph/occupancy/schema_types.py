"""Occupancy's GraphQL value types, enums and inputs (the entities `Camera` and `VirtualLine` are in
`schema_entities`, the root fields in `schema`).

Every `cameraId` here is the camera's public id, its key (`GATE_A`): see `schema_cameras`.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry
from footfall.graph.core.convert import to_datetime
from footfall.graph.core.schema import CrossingDirection, LineDirection, from_proto_enum
from footfall.services.core.errors import InvalidArgument
from footfall.v1 import occupancy_pb2

CAMERA_ID_DESCRIPTION = "The camera's id (`Camera.id`: its key, e.g. `GATE_A`)"


@strawberry.enum(description="Why an alert was raised.")
class AlertType(Enum):
    CAPACITY_EXCEEDED = occupancy_pb2.ALERT_TYPE_CAPACITY_EXCEEDED
    CAPACITY_WARNING = occupancy_pb2.ALERT_TYPE_CAPACITY_WARNING
    ANOMALY_DETECTED = occupancy_pb2.ALERT_TYPE_ANOMALY_DETECTED
    NEGATIVE_COUNT = occupancy_pb2.ALERT_TYPE_NEGATIVE_COUNT
    EQUIPMENT_FAILURE = occupancy_pb2.ALERT_TYPE_EQUIPMENT_FAILURE


@strawberry.enum(description="A period of the occupancy history.")
class AggregationLevel(Enum):
    HOURLY = occupancy_pb2.AGGREGATION_LEVEL_HOURLY
    DAILY = occupancy_pb2.AGGREGATION_LEVEL_DAILY
    MONTHLY = occupancy_pb2.AGGREGATION_LEVEL_MONTHLY


@strawberry.enum(description="What a camera watches. OTHER: a type set over REST that is none of these.")
class CameraType(Enum):
    ENTRY_ONLY = "entry_only"
    EXIT_ONLY = "exit_only"
    BIDIRECTIONAL = "bidirectional"
    OTHER = "other"


def camera_type_of(text: str) -> CameraType | None:
    if not text:
        return None
    try:
        return CameraType(text)
    except ValueError:
        return CameraType.OTHER


def camera_type_text(value: CameraType | None) -> str | None:
    if value is None:
        return None
    if value is CameraType.OTHER:
        raise InvalidArgument("cameraType must be ENTRY_ONLY, EXIT_ONLY or BIDIRECTIONAL")
    return value.value


def at_least_one(name: str, value: int) -> int:
    if value < 1:
        raise InvalidArgument(f"{name} must be at least 1, not {value}")
    return value


@strawberry.type(description="Live occupancy of one camera.")
class LiveOccupancy:
    camera_id: strawberry.ID = strawberry.field(description=CAMERA_ID_DESCRIPTION)
    current_occupancy: int = strawberry.field(description="People in the area now (entries - exits, calibrated)")
    total_entries: int
    total_exits: int
    unique_persons: int
    last_updated: datetime | None

    @classmethod
    def from_proto(cls, o: occupancy_pb2.LiveOccupancy, camera: str) -> LiveOccupancy:
        return cls(
            camera_id=strawberry.ID(camera),
            current_occupancy=o.current_occupancy,
            total_entries=o.total_entries,
            total_exits=o.total_exits,
            unique_persons=o.unique_persons,
            last_updated=to_datetime(o.last_updated),
        )


@strawberry.type(description="An occupancy alert (capacity, anomaly, negative count, equipment failure).")
class Alert:
    id: strawberry.ID
    camera_id: strawberry.ID = strawberry.field(description=CAMERA_ID_DESCRIPTION)
    alert_type: AlertType | None = strawberry.field(description="Null for a type this gateway does not know")
    current_occupancy: int
    message: str
    is_resolved: bool
    timestamp: datetime | None
    resolved_at: datetime | None

    @classmethod
    def from_proto(cls, a: occupancy_pb2.Alert, camera: str) -> Alert:
        return cls(
            id=strawberry.ID(str(a.id)),
            camera_id=strawberry.ID(camera),
            alert_type=from_proto_enum(AlertType, a.alert_type),
            current_occupancy=a.current_occupancy,
            message=a.message,
            is_resolved=a.is_resolved,
            timestamp=to_datetime(a.timestamp),
            resolved_at=to_datetime(a.resolved_at),
        )


@strawberry.type
class OccupancyLog:
    id: strawberry.ID
    camera_id: strawberry.ID = strawberry.field(description=CAMERA_ID_DESCRIPTION)
    entry_count: int
    exit_count: int
    net_occupancy: int
    timestamp: datetime | None
    tracked_persons: int
    is_manual_calibration: bool
    notes: str

    @classmethod
    def from_proto(cls, g: occupancy_pb2.OccupancyLog, camera: str) -> OccupancyLog:
        return cls(
            id=strawberry.ID(str(g.id)), camera_id=strawberry.ID(camera), entry_count=g.entry_count,
            exit_count=g.exit_count, net_occupancy=g.net_occupancy, timestamp=to_datetime(g.timestamp),
            tracked_persons=g.tracked_persons, is_manual_calibration=g.is_manual_calibration, notes=g.notes,
        )


@strawberry.type
class HourlyOccupancy:
    hour: str = strawberry.field(description="Local hour start, `YYYY-MM-DD HH:00`")
    camera_id: strawberry.ID = strawberry.field(description=CAMERA_ID_DESCRIPTION)
    entries: int
    exits: int
    avg_occupancy: float
    peak_occupancy: int
    unique_persons: int
    utc_offset: str = strawberry.field(
        description="UTC offset of the hour, `+HH:MM`: tells apart the two hours sharing `hour` when clocks go back")
    start: str = strawberry.field(description="Hour start, ISO 8601 local time with offset")

    @classmethod
    def from_proto(cls, h: occupancy_pb2.HourlyOccupancy, camera: str) -> HourlyOccupancy:
        return cls(
            hour=h.hour, camera_id=strawberry.ID(camera), entries=h.entries, exits=h.exits,
            avg_occupancy=h.avg_occupancy, peak_occupancy=h.peak_occupancy, unique_persons=h.unique_persons,
            utc_offset=h.utc_offset, start=h.start,
        )


@strawberry.type
class DailyOccupancy:
    date: str = strawberry.field(description="Local date, `YYYY-MM-DD`")
    camera_id: strawberry.ID = strawberry.field(description=CAMERA_ID_DESCRIPTION)
    entries: int
    exits: int
    avg_occupancy: float
    peak_occupancy: int
    peak_hour: int = strawberry.field(description="Local hour (0-23) of the first peak")
    unique_persons: int
    utc_offset: str = strawberry.field(description="UTC offset at the day's start, `+HH:MM`")
    start: str = strawberry.field(description="Day start, ISO 8601 local time with offset")

    @classmethod
    def from_proto(cls, d: occupancy_pb2.DailyOccupancy, camera: str) -> DailyOccupancy:
        return cls(
            date=d.date, camera_id=strawberry.ID(camera), entries=d.entries, exits=d.exits,
            avg_occupancy=d.avg_occupancy, peak_occupancy=d.peak_occupancy, peak_hour=d.peak_hour,
            unique_persons=d.unique_persons, utc_offset=d.utc_offset, start=d.start,
        )


@strawberry.type
class MonthlyOccupancy:
    period: str = strawberry.field(description="Local month, `YYYY-MM`")
    camera_id: strawberry.ID = strawberry.field(description=CAMERA_ID_DESCRIPTION)
    entries: int
    exits: int
    avg_daily_occupancy: float
    peak_occupancy: int
    unique_persons: int

    @classmethod
    def from_proto(cls, m: occupancy_pb2.MonthlyOccupancy, camera: str) -> MonthlyOccupancy:
        return cls(
            period=m.period, camera_id=strawberry.ID(camera), entries=m.entries, exits=m.exits,
            avg_daily_occupancy=m.avg_daily_occupancy, peak_occupancy=m.peak_occupancy,
            unique_persons=m.unique_persons,
        )


@strawberry.type
class FacilityOccupancy:
    facility_occupancy: int
    total_entries_all_cameras: int
    total_exits_all_cameras: int
    cameras_active: int
    last_updated: datetime | None


@strawberry.type
class FacilityStats:
    total_cameras: int
    active_cameras: int
    total_persons_in_facility: int
    capacity_utilization: float = strawberry.field(description="Percent of the total capacity in use")
    active_alerts: int
    timestamp: datetime | None


@strawberry.type
class Calibration:
    camera_id: strawberry.ID = strawberry.field(description=CAMERA_ID_DESCRIPTION)
    occupancy_set_to: int
    timestamp: datetime | None


@strawberry.type
class AlertResolution:
    alert_id: strawberry.ID
    resolved_at: datetime | None


@strawberry.type
class AggregationTriggered:
    level: AggregationLevel
    timestamp: datetime | None


@strawberry.type
class CrossingResult:
    applied: bool = strawberry.field(description="False when already applied or ignored (see `reason`)")
    reason: str
    occupancy: LiveOccupancy | None


OccupancyUpdate = Annotated[
    LiveOccupancy | Alert,
    strawberry.union("OccupancyUpdate", description="A camera's new live occupancy, or a new alert for it."),
]


# Inputs


@strawberry.input
class CameraInput:
    id: strawberry.ID = strawberry.field(
        description="The camera's id: its key, unique in the organisation (e.g. `GATE_A`); it cannot change"
    )
    camera_name: str = strawberry.field(default="", description="Defaults to the id")
    location: str = ""
    camera_type: CameraType | None = None
    max_occupancy: int | None = None
    resolution_width: int | None = None
    resolution_height: int | None = None


@strawberry.input(description="Only the fields given change.")
class CameraUpdateInput:
    camera_name: str | None = None
    location: str | None = None
    camera_type: CameraType | None = None
    max_occupancy: int | None = None
    resolution_width: int | None = None
    resolution_height: int | None = None
    is_active: bool | None = None


@strawberry.input
class LineInput:
    camera_id: strawberry.ID = strawberry.field(description=CAMERA_ID_DESCRIPTION)
    line_name: str
    x1: float
    y1: float
    x2: float
    y2: float
    direction: LineDirection
    confidence_threshold: float | None = strawberry.field(default=None, description="0.5 when omitted")


@strawberry.input(description="Only the fields given change.")
class LineUpdateInput:
    line_name: str | None = None
    x1: float | None = None
    y1: float | None = None
    x2: float | None = None
    y2: float | None = None
    direction: LineDirection | None = None
    confidence_threshold: float | None = None
    is_active: bool | None = None


@strawberry.input(description="One crossing of a line, applied as if it had arrived from vision.")
class CrossingInput:
    camera_id: strawberry.ID = strawberry.field(description=CAMERA_ID_DESCRIPTION)
    direction: CrossingDirection
    event_id: str | None = strawberry.field(default=None, description="Idempotency key; a new one when omitted")
    line_id: strawberry.ID | None = None
    line_name: str = ""
    track_id: str = ""
    confidence: float = 1.0
    occurred_at: datetime | None = None
