"""Seed 001's request and response bodies (`/api/occupancy`), exactly as it documents them."""

from __future__ import annotations

from typing import Annotated, Literal

from footfall.graph.core.convert import clean_text, iso, line_direction_name, number
from footfall.graph.occupancy.convert import alert_type_name
from footfall.v1 import occupancy_pb2
from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, field_validator

Int32 = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]
Int64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]
Coordinate = Annotated[float, PlainSerializer(number, when_used="json")]
Timestamp = Annotated[
    str | None, Field(json_schema_extra={"format": "date-time", "example": "2025-01-15T10:30:45Z"})
]
Direction = Literal["entry", "exit", "bidirectional"]
AlertTypeName = Literal[
    "capacity_exceeded",
    "capacity_warning",
    "anomaly_detected",
    "negative_count",
    "equipment_failure",
    "unspecified",
]
Level = Literal["hourly", "daily", "monthly"]


# Request bodies


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")

    @field_validator("*")
    @classmethod
    def _printable(cls, value: object) -> object:
        return clean_text(value)


class CameraCreate(_Body):
    camera_id: str = Field(description="External key, unique in the organisation", examples=["GATE_A"])
    camera_name: str | None = Field(
        None, description="Defaults to the camera_id", examples=["Gate A Entrance"]
    )
    location: str | None = Field(None, examples=["Main Gate"])
    camera_type: str | None = Field(None, examples=["entry_only"])
    max_occupancy: Int32 | None = Field(None, examples=[100])
    resolution_width: Int32 | None = Field(None, examples=[1920])
    resolution_height: Int32 | None = Field(None, examples=[1080])


class CameraUpdate(_Body):
    camera_name: str | None = Field(None, examples=["Gate A Main Entrance"])
    location: str | None = None
    camera_type: str | None = None
    max_occupancy: Int32 | None = Field(None, examples=[120])
    resolution_width: Int32 | None = None
    resolution_height: Int32 | None = None
    is_active: bool | None = None


class LineCreate(_Body):
    camera_id: Int64 = Field(description="Database id of the camera", examples=[1])
    line_name: str = Field(examples=["Entrance A"])
    x1: float = Field(examples=[0])
    y1: float = Field(examples=[300])
    x2: float = Field(examples=[1920])
    y2: float = Field(examples=[300])
    direction: Direction = Field(examples=["entry"])
    confidence_threshold: float | None = Field(
        None, description="Minimum confidence (0-1) for counting a crossing; 0.5 when omitted", examples=[0.5]
    )


class LineUpdate(_Body):
    line_name: str | None = None
    x1: float | None = None
    y1: float | None = None
    x2: float | None = None
    y2: float | None = None
    direction: Direction | None = None
    confidence_threshold: float | None = Field(None, examples=[0.6])
    is_active: bool | None = None


class CalibrationRequest(_Body):
    occupancy_value: Int64 = Field(examples=[50])
    notes: str | None = Field(None, examples=["Manual headcount performed at 10:30"])


class AggregationRequest(_Body):
    camera_id: Int64 | None = Field(None, description="A camera, or null for all")
    aggregation_level: Level = "hourly"


# Responses


class CameraOut(BaseModel):
    id: int
    camera_id: str
    camera_name: str
    location: str
    camera_type: str
    is_active: bool
    max_occupancy: int | None
    resolution_width: int | None
    resolution_height: int | None

    @classmethod
    def of(cls, c: occupancy_pb2.Camera) -> CameraOut:
        return cls(
            id=c.id,
            camera_id=c.camera_id,
            camera_name=c.camera_name,
            location=c.location,
            camera_type=c.camera_type,
            is_active=c.is_active,
            max_occupancy=c.max_occupancy or None,
            resolution_width=c.resolution_width or None,
            resolution_height=c.resolution_height or None,
        )


class LineOut(BaseModel):
    id: int
    camera_id: int
    line_name: str
    x1: Coordinate
    y1: Coordinate
    x2: Coordinate
    y2: Coordinate
    direction: Direction | Literal["unspecified"]
    confidence_threshold: float
    is_active: bool
    created_at: Timestamp

    @classmethod
    def of(cls, line: occupancy_pb2.VirtualLine) -> LineOut:
        return cls(
            id=line.id,
            camera_id=line.camera_id,
            line_name=line.line_name,
            x1=line.x1,
            y1=line.y1,
            x2=line.x2,
            y2=line.y2,
            direction=line_direction_name(line.direction),  # type: ignore[arg-type]
            confidence_threshold=line.confidence_threshold,
            is_active=line.is_active,
            created_at=iso(line.created_at),
        )


class LiveOccupancyOut(BaseModel):
    camera_id: int
    current_occupancy: int
    total_entries: int
    total_exits: int
    unique_persons: int
    last_updated: Timestamp

    @classmethod
    def of(cls, o: occupancy_pb2.LiveOccupancy) -> LiveOccupancyOut:
        return cls(
            camera_id=o.camera_id,
            current_occupancy=o.current_occupancy,
            total_entries=o.total_entries,
            total_exits=o.total_exits,
            unique_persons=o.unique_persons,
            last_updated=iso(o.last_updated),
        )


class FacilityOccupancyOut(BaseModel):
    facility_occupancy: int
    total_entries_all_cameras: int
    total_exits_all_cameras: int
    cameras_active: int
    last_updated: Timestamp


class CalibrationOut(BaseModel):
    status: Literal["success"] = "success"
    camera_id: int
    occupancy_set_to: int
    timestamp: Timestamp


class OccupancyLogOut(BaseModel):
    id: int
    camera_id: int
    entry_count: int
    exit_count: int
    net_occupancy: int
    timestamp: Timestamp
    tracked_persons: int
    is_manual_calibration: bool


class HourlyOut(BaseModel):
    hour: str = Field(examples=["2025-01-15 10:00"])
    camera_id: int
    entries: int
    exits: int
    avg_occupancy: float
    peak_occupancy: int
    unique_persons: int
    utc_offset: str = Field(examples=["+01:00"], description="UTC offset of the hour: tells apart the two "
                            "hours that share `hour` on the day clocks go back")
    start: str = Field(examples=["2025-01-15T10:00:00+01:00"], description="Hour start, ISO 8601 with offset")


class DailyOut(BaseModel):
    date: str = Field(examples=["2025-01-15"])
    camera_id: int
    entries: int
    exits: int
    avg_occupancy: float
    peak_occupancy: int
    peak_hour: int
    unique_persons: int
    utc_offset: str = Field(examples=["+01:00"], description="UTC offset at the day's start")
    start: str = Field(examples=["2025-01-15T00:00:00+01:00"], description="Day start, ISO 8601 with offset")


class MonthlyOut(BaseModel):
    period: str = Field(examples=["2025-01"])
    camera_id: int
    entries: int
    exits: int
    avg_daily_occupancy: float
    peak_occupancy: int
    unique_persons: int


class AlertOut(BaseModel):
    id: int
    camera_id: int
    alert_type: AlertTypeName
    current_occupancy: int
    message: str
    is_resolved: bool
    timestamp: Timestamp

    @classmethod
    def of(cls, a: occupancy_pb2.Alert) -> AlertOut:
        return cls(
            id=a.id,
            camera_id=a.camera_id,
            alert_type=alert_type_name(a.alert_type),  # type: ignore[arg-type]
            current_occupancy=a.current_occupancy,
            message=a.message,
            is_resolved=a.is_resolved,
            timestamp=iso(a.timestamp),
        )


class AlertResolutionOut(BaseModel):
    status: Literal["success"] = "success"
    alert_id: int
    resolved_at: Timestamp


class FacilityStatsOut(BaseModel):
    total_cameras: int
    active_cameras: int
    total_persons_in_facility: int
    capacity_utilization: float
    active_alerts: int
    timestamp: Timestamp


class AggregationOut(BaseModel):
    status: Literal["aggregation_triggered"] = "aggregation_triggered"
    level: Level
    timestamp: Timestamp
