"""REST compatibility routes for occupancy (`/api/occupancy`), exactly as seed 001 documents them.

Each route is a thin adapter: check the caller's role, one call to `OccupancyService` over gRPC (with the
caller's credential), shape the reply. Errors are `{"detail": ...}` (`footfall.graph.core.errors.DETAIL`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query
from footfall.graph.core.convert import iso
from footfall.graph.core.errors import DETAIL
from footfall.graph.core.rest import (
    INT32_MAX,
    INT64_MAX,
    PathId,
    Reader,
    Writer,
    client,
    domain_router,
    error_responses,
)
from footfall.graph.occupancy.client import OccupancyClient
from footfall.graph.occupancy.convert import AGGREGATION_LEVELS, LINE_DIRECTIONS, aggregation_level_name
from footfall.graph.occupancy.live_reads import live_body
from footfall.graph.occupancy.models import (
    AggregationOut,
    AggregationRequest,
    AlertOut,
    AlertResolutionOut,
    CalibrationOut,
    CalibrationRequest,
    CameraCreate,
    CameraOut,
    CameraUpdate,
    DailyOut,
    FacilityOccupancyOut,
    FacilityStatsOut,
    HourlyOut,
    LineCreate,
    LineOut,
    LineUpdate,
    LiveOccupancyOut,
    MonthlyOut,
    OccupancyLogOut,
)
from starlette.responses import Response

PREFIX = "/api/occupancy"
ERROR_STYLE = DETAIL
router = domain_router(PREFIX, tags=["occupancy"], style=ERROR_STYLE)

Occupancy = Annotated[OccupancyClient, Depends(client(OccupancyClient))]
CameraId = Annotated[int, Path(ge=1, le=INT64_MAX, description="Database id of the camera")]
TimeZone = Annotated[
    str | None, Query(max_length=64, description="IANA time zone for the period boundaries (default: the server's)")
]


# Cameras


@router.post("/cameras", status_code=201, responses=error_responses(400, 409))
async def create_camera(caller: Writer, occupancy: Occupancy, body: CameraCreate) -> CameraOut:
    """Create a camera for occupancy tracking."""
    camera = await occupancy.create_camera(
        caller,
        camera_id=body.camera_id,
        camera_name=body.camera_name or "",
        location=body.location or "",
        camera_type=body.camera_type or "",
        max_occupancy=body.max_occupancy or 0,
        resolution_width=body.resolution_width or 0,
        resolution_height=body.resolution_height or 0,
    )
    return CameraOut.of(camera)


@router.get("/cameras", responses=error_responses())
async def list_cameras(caller: Reader, occupancy: Occupancy) -> list[CameraOut]:
    """List all active cameras."""
    return [CameraOut.of(c) for c in await occupancy.list_cameras(caller)]


@router.get("/cameras/{camera_id}", responses=error_responses(404, 422))
async def get_camera(caller: Reader, occupancy: Occupancy, camera_id: CameraId) -> CameraOut:
    """Get details for a specific camera."""
    return CameraOut.of(await occupancy.get_camera(caller, camera_id))


@router.put("/cameras/{camera_id}", responses=error_responses(400, 404, 422))
async def update_camera(caller: Writer, occupancy: Occupancy, camera_id: CameraId, body: CameraUpdate) -> CameraOut:
    """Update camera configuration; only the fields given change."""
    return CameraOut.of(await occupancy.update_camera(caller, camera_id, **body.model_dump(exclude_none=True)))


# Virtual lines


@router.post("/lines", status_code=201, responses=error_responses(400, 404))
async def create_line(caller: Writer, occupancy: Occupancy, body: LineCreate) -> LineOut:
    """Create a virtual line for detecting entries/exits."""
    line = await occupancy.create_line(
        caller,
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


@router.get("/cameras/{camera_id}/lines", responses=error_responses(404, 422))
async def list_camera_lines(caller: Reader, occupancy: Occupancy, camera_id: CameraId) -> list[LineOut]:
    """Get all virtual lines configured for a camera."""
    return [LineOut.of(line) for line in await occupancy.list_lines(caller, camera_id)]


@router.get("/lines/{line_id}", responses=error_responses(404, 422))
async def get_line(caller: Reader, occupancy: Occupancy, line_id: PathId) -> LineOut:
    """Get details for a specific virtual line."""
    return LineOut.of(await occupancy.get_line(caller, line_id))


@router.put("/lines/{line_id}", responses=error_responses(400, 404, 422))
async def update_line(caller: Writer, occupancy: Occupancy, line_id: PathId, body: LineUpdate) -> LineOut:
    """Update virtual line configuration; only the fields given change."""
    changes = body.model_dump(exclude_none=True)
    if "direction" in changes:
        changes["direction"] = LINE_DIRECTIONS[changes["direction"]]
    return LineOut.of(await occupancy.update_line(caller, line_id, **changes))


# Real-time occupancy


@router.get("/cameras/{camera_id}/live", response_model=LiveOccupancyOut, responses=error_responses(404, 422))
async def get_live_occupancy(caller: Reader, occupancy: Occupancy, camera_id: CameraId) -> Response:
    """Get current occupancy for a camera."""
    # Rendered as `LiveReads` renders a cached hit (the same bytes), without FastAPI's response validation.
    return Response(live_body(await occupancy.live_occupancy(caller, camera_id)), media_type="application/json")


@router.get("/facility/live", responses=error_responses())
async def get_facility_occupancy(caller: Reader, occupancy: Occupancy) -> FacilityOccupancyOut:
    """Get facility-wide occupancy (sum of all cameras)."""
    o = await occupancy.facility_occupancy(caller)
    return FacilityOccupancyOut(
        facility_occupancy=o.facility_occupancy,
        total_entries_all_cameras=o.total_entries_all_cameras,
        total_exits_all_cameras=o.total_exits_all_cameras,
        cameras_active=o.cameras_active,
        last_updated=iso(o.last_updated),
    )


@router.post("/cameras/{camera_id}/calibrate", responses=error_responses(400, 404, 422))
async def calibrate_occupancy(
    caller: Writer, occupancy: Occupancy, camera_id: CameraId, body: CalibrationRequest
) -> CalibrationOut:
    """Set occupancy to a specific value (after a manual headcount); logged as a manual calibration."""
    reply = await occupancy.calibrate(caller, camera_id, body.occupancy_value, body.notes or "")
    return CalibrationOut(
        camera_id=reply.camera_id, occupancy_set_to=reply.occupancy_set_to, timestamp=iso(reply.timestamp)
    )


# History


@router.get("/cameras/{camera_id}/logs", responses=error_responses(400, 404, 422))
async def get_occupancy_logs(
    caller: Reader,
    occupancy: Occupancy,
    camera_id: CameraId,
    hours: Annotated[int, Query(ge=1, le=INT32_MAX, description="Last N hours to retrieve")] = 24,
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
        for g in await occupancy.logs(caller, camera_id, hours)
    ]


@router.get("/cameras/{camera_id}/hourly", responses=error_responses(400, 404, 422))
async def get_hourly_occupancy(
    caller: Reader,
    occupancy: Occupancy,
    camera_id: CameraId,
    days: Annotated[int, Query(ge=1, le=INT32_MAX, description="Last N days of data")] = 7,
    tz: TimeZone = None,
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
            utc_offset=h.utc_offset,
            start=h.start,
        )
        for h in await occupancy.hourly(caller, camera_id, days, tz)
    ]


@router.get("/cameras/{camera_id}/daily", responses=error_responses(400, 404, 422))
async def get_daily_occupancy(
    caller: Reader,
    occupancy: Occupancy,
    camera_id: CameraId,
    days: Annotated[int, Query(ge=1, le=INT32_MAX, description="Last N days of data")] = 30,
    tz: TimeZone = None,
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
            utc_offset=d.utc_offset,
            start=d.start,
        )
        for d in await occupancy.daily(caller, camera_id, days, tz)
    ]


@router.get("/cameras/{camera_id}/monthly", responses=error_responses(400, 404, 422))
async def get_monthly_occupancy(
    caller: Reader,
    occupancy: Occupancy,
    camera_id: CameraId,
    months: Annotated[int, Query(ge=1, le=INT32_MAX, description="Last N months of data")] = 12,
    tz: TimeZone = None,
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
        for m in await occupancy.monthly(caller, camera_id, months, tz)
    ]


# Alerts, statistics, administration


@router.get("/alerts", responses=error_responses(422))
async def get_active_alerts(
    caller: Reader,
    occupancy: Occupancy,
    camera_id: Annotated[int | None, Query(ge=1, le=INT64_MAX, description="Filter by camera")] = None,
) -> list[AlertOut]:
    """Get currently unresolved occupancy alerts."""
    return [AlertOut.of(a) for a in await occupancy.alerts(caller, camera_id)]


@router.put("/alerts/{alert_id}/resolve", responses=error_responses(404, 422))
async def resolve_alert(caller: Writer, occupancy: Occupancy, alert_id: PathId) -> AlertResolutionOut:
    """Mark an alert as resolved."""
    reply = await occupancy.resolve_alert(caller, alert_id)
    return AlertResolutionOut(alert_id=reply.alert_id, resolved_at=iso(reply.resolved_at))


@router.get("/facility/stats", responses=error_responses())
async def get_facility_stats(caller: Reader, occupancy: Occupancy) -> FacilityStatsOut:
    """Get overall facility statistics and status."""
    s = await occupancy.facility_stats(caller)
    return FacilityStatsOut(
        total_cameras=s.total_cameras,
        active_cameras=s.active_cameras,
        total_persons_in_facility=s.total_persons_in_facility,
        capacity_utilization=s.capacity_utilization,
        active_alerts=s.active_alerts,
        timestamp=iso(s.timestamp),
    )


@router.post("/aggregate", status_code=202, responses=error_responses(400, 404))
async def trigger_aggregation(caller: Writer, occupancy: Occupancy, body: AggregationRequest) -> AggregationOut:
    """Trigger time-series aggregation now; it runs in the background."""
    reply = await occupancy.trigger_aggregation(caller, AGGREGATION_LEVELS[body.aggregation_level], body.camera_id)
    level = aggregation_level_name(reply.level) if reply.level else body.aggregation_level
    return AggregationOut(level=level, timestamp=iso(reply.timestamp))  # type: ignore[arg-type]
