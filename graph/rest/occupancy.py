"""REST compatibility routes for occupancy (`/api/occupancy`), exactly as seed 001 documents them.

Each route is a thin adapter: parse, one call to `OccupancyService` over gRPC, shape the reply.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from footfall.v1 import occupancy_pb2
from footfall.graph.convert import (
    AGGREGATION_LEVELS,
    LINE_DIRECTIONS,
    aggregation_level_name,
    alert_type_name,
    iso,
    line_direction_name,
    number,
)
from footfall.graph.rest.routing import Path, Query, RestCall, RestRouter

PREFIX = "/api/occupancy"
router = RestRouter(PREFIX, tags=["occupancy"])

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
TimeZone = Annotated[
    str | None, Query(None, description="IANA time zone for the period boundaries (default: the server's)")
]


# Request bodies


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


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


class DailyOut(BaseModel):
    date: str = Field(examples=["2025-01-15"])
    camera_id: int
    entries: int
    exits: int
    avg_occupancy: float
    peak_occupancy: int
    peak_hour: int
    unique_persons: int


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


CameraId = Annotated[int, Path(description="Database id of the camera")]


# Cameras


@router.post("/cameras", response=CameraOut, status_code=201, errors=(400, 409))
async def create_camera(call: RestCall, body: CameraCreate) -> CameraOut:
    """Create a camera for occupancy tracking."""
    camera = await call.clients.occupancy.create_camera(
        call.org,
        camera_id=body.camera_id,
        camera_name=body.camera_name or "",
        location=body.location or "",
        camera_type=body.camera_type or "",
        max_occupancy=body.max_occupancy or 0,
        resolution_width=body.resolution_width or 0,
        resolution_height=body.resolution_height or 0,
    )
    return CameraOut.of(camera)


@router.get("/cameras", response=list[CameraOut])
async def list_cameras(call: RestCall) -> list[CameraOut]:
    """List all active cameras."""
    return [CameraOut.of(c) for c in await call.clients.occupancy.list_cameras(call.org)]


@router.get("/cameras/{camera_id}", response=CameraOut, errors=(404, 422))
async def get_camera(call: RestCall, camera_id: CameraId) -> CameraOut:
    """Get details for a specific camera."""
    return CameraOut.of(await call.clients.occupancy.get_camera(call.org, camera_id))


@router.put("/cameras/{camera_id}", response=CameraOut, errors=(400, 404, 422))
async def update_camera(call: RestCall, camera_id: CameraId, body: CameraUpdate) -> CameraOut:
    """Update camera configuration; only the fields given change."""
    camera = await call.clients.occupancy.update_camera(
        call.org, camera_id, **body.model_dump(exclude_none=True)
    )
    return CameraOut.of(camera)


# Virtual lines


@router.post("/lines", response=LineOut, status_code=201, errors=(400, 404))
async def create_line(call: RestCall, body: LineCreate) -> LineOut:
    """Create a virtual line for detecting entries/exits."""
    line = await call.clients.occupancy.create_line(
        call.org,
        camera_id=body.camera_id,
        line_name=body.line_name,
        x1=body.x1,
        y1=body.y1,
        x2=body.x2,
        y2=body.y2,
        direction=LINE_DIRECTIONS[body.direction],
        confidence_threshold=body.confidence_threshold,
    )
    return LineOut.of(line)


@router.get("/cameras/{camera_id}/lines", response=list[LineOut], errors=(404, 422))
async def list_camera_lines(call: RestCall, camera_id: CameraId) -> list[LineOut]:
    """Get all virtual lines configured for a camera."""
    return [LineOut.of(line) for line in await call.clients.occupancy.list_lines(call.org, camera_id)]


@router.get("/lines/{line_id}", response=LineOut, errors=(404, 422))
async def get_line(call: RestCall, line_id: int) -> LineOut:
    """Get details for a specific virtual line."""
    return LineOut.of(await call.clients.occupancy.get_line(call.org, line_id))


@router.put("/lines/{line_id}", response=LineOut, errors=(400, 404, 422))
async def update_line(call: RestCall, line_id: int, body: LineUpdate) -> LineOut:
    """Update virtual line configuration; only the fields given change."""
    changes = body.model_dump(exclude_none=True)
    if "direction" in changes:
        changes["direction"] = LINE_DIRECTIONS[changes["direction"]]
    return LineOut.of(await call.clients.occupancy.update_line(call.org, line_id, **changes))


# Real-time occupancy


@router.get("/cameras/{camera_id}/live", response=LiveOccupancyOut, errors=(404, 422))
async def get_live_occupancy(call: RestCall, camera_id: CameraId) -> LiveOccupancyOut:
    """Get current occupancy for a camera."""
    return LiveOccupancyOut.of(await call.clients.occupancy.live_occupancy(call.org, camera_id))


@router.get("/facility/live", response=FacilityOccupancyOut)
async def get_facility_occupancy(call: RestCall) -> FacilityOccupancyOut:
    """Get facility-wide occupancy (sum of all cameras)."""
    o = await call.clients.occupancy.facility_occupancy(call.org)
    return FacilityOccupancyOut(
        facility_occupancy=o.facility_occupancy,
        total_entries_all_cameras=o.total_entries_all_cameras,
        total_exits_all_cameras=o.total_exits_all_cameras,
        cameras_active=o.cameras_active,
        last_updated=iso(o.last_updated),
    )


@router.post("/cameras/{camera_id}/calibrate", response=CalibrationOut, errors=(400, 404, 422))
async def calibrate_occupancy(
    call: RestCall, camera_id: CameraId, body: CalibrationRequest
) -> CalibrationOut:
    """Set occupancy to a specific value (after a manual headcount); logged as a manual calibration."""
    reply = await call.clients.occupancy.calibrate(
        call.org, camera_id, body.occupancy_value, body.notes or ""
    )
    return CalibrationOut(
        camera_id=reply.camera_id, occupancy_set_to=reply.occupancy_set_to, timestamp=iso(reply.timestamp)
    )


# History


@router.get("/cameras/{camera_id}/logs", response=list[OccupancyLogOut], errors=(400, 404, 422))
async def get_occupancy_logs(
    call: RestCall,
    camera_id: CameraId,
    hours: Annotated[int, Query(24, ge=1, description="Last N hours to retrieve")],
) -> list[OccupancyLogOut]:
    """Get recent occupancy logs (1-5 minute periods)."""
    return [
        OccupancyLogOut(
            id=g.id,
            camera_id=g.camera_id,
            entry_count=g.entry_count,
            exit_count=g.exit_count,
            net_occupancy=g.net_occupancy,
            timestamp=iso(g.timestamp),
            tracked_persons=g.tracked_persons,
            is_manual_calibration=g.is_manual_calibration,
        )
        for g in await call.clients.occupancy.logs(call.org, camera_id, hours)
    ]


@router.get("/cameras/{camera_id}/hourly", response=list[HourlyOut], errors=(400, 404, 422))
async def get_hourly_occupancy(
    call: RestCall,
    camera_id: CameraId,
    days: Annotated[int, Query(7, ge=1, description="Last N days of data")],
    tz: TimeZone,
) -> list[HourlyOut]:
    """Get hourly aggregated occupancy data."""
    return [
        HourlyOut(
            hour=h.hour,
            camera_id=h.camera_id,
            entries=h.entries,
            exits=h.exits,
            avg_occupancy=h.avg_occupancy,
            peak_occupancy=h.peak_occupancy,
            unique_persons=h.unique_persons,
        )
        for h in await call.clients.occupancy.hourly(call.org, camera_id, days, tz)
    ]


@router.get("/cameras/{camera_id}/daily", response=list[DailyOut], errors=(400, 404, 422))
async def get_daily_occupancy(
    call: RestCall,
    camera_id: CameraId,
    days: Annotated[int, Query(30, ge=1, description="Last N days of data")],
    tz: TimeZone,
) -> list[DailyOut]:
    """Get daily aggregated occupancy data."""
    return [
        DailyOut(
            date=d.date,
            camera_id=d.camera_id,
            entries=d.entries,
            exits=d.exits,
            avg_occupancy=d.avg_occupancy,
            peak_occupancy=d.peak_occupancy,
            peak_hour=d.peak_hour,
            unique_persons=d.unique_persons,
        )
        for d in await call.clients.occupancy.daily(call.org, camera_id, days, tz)
    ]


@router.get("/cameras/{camera_id}/monthly", response=list[MonthlyOut], errors=(400, 404, 422))
async def get_monthly_occupancy(
    call: RestCall,
    camera_id: CameraId,
    months: Annotated[int, Query(12, ge=1, description="Last N months of data")],
    tz: TimeZone,
) -> list[MonthlyOut]:
    """Get monthly aggregated occupancy data."""
    return [
        MonthlyOut(
            period=m.period,
            camera_id=m.camera_id,
            entries=m.entries,
            exits=m.exits,
            avg_daily_occupancy=m.avg_daily_occupancy,
            peak_occupancy=m.peak_occupancy,
            unique_persons=m.unique_persons,
        )
        for m in await call.clients.occupancy.monthly(call.org, camera_id, months, tz)
    ]


# Alerts, statistics, administration


@router.get("/alerts", response=list[AlertOut], errors=(422,))
async def get_active_alerts(
    call: RestCall,
    camera_id: Annotated[int | None, Query(None, ge=1, description="Filter by camera")],
) -> list[AlertOut]:
    """Get currently unresolved occupancy alerts."""
    return [AlertOut.of(a) for a in await call.clients.occupancy.alerts(call.org, camera_id)]


@router.put("/alerts/{alert_id}/resolve", response=AlertResolutionOut, errors=(404, 422))
async def resolve_alert(call: RestCall, alert_id: int) -> AlertResolutionOut:
    """Mark an alert as resolved."""
    reply = await call.clients.occupancy.resolve_alert(call.org, alert_id)
    return AlertResolutionOut(alert_id=reply.alert_id, resolved_at=iso(reply.resolved_at))


@router.get("/facility/stats", response=FacilityStatsOut)
async def get_facility_stats(call: RestCall) -> FacilityStatsOut:
    """Get overall facility statistics and status."""
    s = await call.clients.occupancy.facility_stats(call.org)
    return FacilityStatsOut(
        total_cameras=s.total_cameras,
        active_cameras=s.active_cameras,
        total_persons_in_facility=s.total_persons_in_facility,
        capacity_utilization=s.capacity_utilization,
        active_alerts=s.active_alerts,
        timestamp=iso(s.timestamp),
    )


@router.post("/aggregate", response=AggregationOut, status_code=202, errors=(400, 404))
async def trigger_aggregation(call: RestCall, body: AggregationRequest) -> AggregationOut:
    """Trigger time-series aggregation now; it runs in the background."""
    reply = await call.clients.occupancy.trigger_aggregation(
        call.org, AGGREGATION_LEVELS[body.aggregation_level], body.camera_id
    )
    level = aggregation_level_name(reply.level) if reply.level else body.aggregation_level
    return AggregationOut(level=level, timestamp=iso(reply.timestamp))  # type: ignore[arg-type]
