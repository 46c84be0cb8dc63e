"""gRPC adapter for `footfall.v1.OccupancyService`: proto <-> domain, nothing else.

The organisation is the `x-footfall-org` metadata entry (else `settings.default_org`); domain errors become
status codes through `maps_domain_errors` (NotFound -> NOT_FOUND, AlreadyExists -> ALREADY_EXISTS,
InvalidArgument -> INVALID_ARGUMENT, Unavailable -> UNAVAILABLE).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
from footfall.v1 import common_pb2, occupancy_pb2, occupancy_pb2_grpc

from footfall.services.core.grpc import maps_domain_errors, org_of
from footfall.services.occupancy import convert
from footfall.services.occupancy.domain import Alert, CameraPatch, Level, LinePatch, NewCamera, NewLine
from footfall.services.occupancy.service import OccupancyService

SERVICE_NAME = "footfall.v1.OccupancyService"

Ctx = grpc.aio.ServicerContext


def _opt(msg, name: str):  # type: ignore[no-untyped-def]
    return getattr(msg, name) if msg.HasField(name) else None


class OccupancyServicer(occupancy_pb2_grpc.OccupancyServiceServicer):
    def __init__(self, service: OccupancyService) -> None:
        self.service = service

    def _org(self, context: Ctx) -> str:
        return org_of(context)

    # ------------------------------------------------------------------------------------ cameras

    @maps_domain_errors
    async def CreateCamera(self, request: occupancy_pb2.CreateCameraRequest, context: Ctx) -> occupancy_pb2.CreateCameraResponse:
        camera = await self.service.create_camera(self._org(context), NewCamera(
            camera_id=request.camera_id, camera_name=request.camera_name, location=request.location,
            camera_type=request.camera_type, max_occupancy=request.max_occupancy,
            resolution_width=request.resolution_width, resolution_height=request.resolution_height,
        ))
        return occupancy_pb2.CreateCameraResponse(camera=convert.camera(camera))

    @maps_domain_errors
    async def ListCameras(self, request: occupancy_pb2.ListCamerasRequest, context: Ctx) -> occupancy_pb2.ListCamerasResponse:
        cameras, token = await self.service.list_cameras(
            self._org(context), include_inactive=request.include_inactive, size=request.page_size,
            token=request.page_token, camera_key=request.camera_key)
        return occupancy_pb2.ListCamerasResponse(cameras=[convert.camera(c) for c in cameras], next_page_token=token)

    @maps_domain_errors
    async def GetCamera(self, request: occupancy_pb2.GetCameraRequest, context: Ctx) -> occupancy_pb2.GetCameraResponse:
        camera = await self.service.get_camera(self._org(context), request.id)
        return occupancy_pb2.GetCameraResponse(camera=convert.camera(camera))

    @maps_domain_errors
    async def UpdateCamera(self, request: occupancy_pb2.UpdateCameraRequest, context: Ctx) -> occupancy_pb2.UpdateCameraResponse:
        patch = CameraPatch(**{name: _opt(request, name) for name in CameraPatch.__slots__})
        camera = await self.service.update_camera(self._org(context), request.id, patch)
        return occupancy_pb2.UpdateCameraResponse(camera=convert.camera(camera))

    # -------------------------------------------------------------------------------------- lines

    @maps_domain_errors
    async def CreateLine(self, request: occupancy_pb2.CreateLineRequest, context: Ctx) -> occupancy_pb2.CreateLineResponse:
        line = await self.service.create_line(self._org(context), NewLine(
            camera_id=request.camera_id, line_name=request.line_name, x1=request.x1, y1=request.y1, x2=request.x2,
            y2=request.y2, direction=convert.LINE_DIRECTION_FROM_PB.get(request.direction),
            confidence_threshold=_opt(request, "confidence_threshold"),
        ))
        return occupancy_pb2.CreateLineResponse(line=convert.line(line))

    @maps_domain_errors
    async def ListLines(self, request: occupancy_pb2.ListLinesRequest, context: Ctx) -> occupancy_pb2.ListLinesResponse:
        lines, token = await self.service.list_lines(self._org(context), request.camera_id, size=request.page_size,
                                                     token=request.page_token)
        return occupancy_pb2.ListLinesResponse(lines=[convert.line(ln) for ln in lines], next_page_token=token)

    @maps_domain_errors
    async def GetLine(self, request: occupancy_pb2.GetLineRequest, context: Ctx) -> occupancy_pb2.GetLineResponse:
        line = await self.service.get_line(self._org(context), request.id)
        return occupancy_pb2.GetLineResponse(line=convert.line(line))

    @maps_domain_errors
    async def UpdateLine(self, request: occupancy_pb2.UpdateLineRequest, context: Ctx) -> occupancy_pb2.UpdateLineResponse:
        fields = {name: _opt(request, name) for name in LinePatch.__slots__ if name != "direction"}
        direction = convert.LINE_DIRECTION_FROM_PB.get(request.direction)  # UNSPECIFIED: unchanged
        line = await self.service.update_line(self._org(context), request.id, LinePatch(direction=direction, **fields))
        return occupancy_pb2.UpdateLineResponse(line=convert.line(line))

    # ------------------------------------------------------------------------------- crossings, live

    @maps_domain_errors
    async def RecordCrossing(self, request: occupancy_pb2.RecordCrossingRequest, context: Ctx) -> occupancy_pb2.RecordCrossingResponse:
        crossing = convert.crossing_from_request(request, self.service.clock())
        outcome, live = await self.service.record_crossing(self._org(context), crossing)
        return occupancy_pb2.RecordCrossingResponse(
            applied=outcome.applied, reason=outcome.reason, occupancy=convert.live(live) if live else None)

    @maps_domain_errors
    async def GetLiveOccupancy(self, request: occupancy_pb2.GetLiveOccupancyRequest, context: Ctx) -> occupancy_pb2.GetLiveOccupancyResponse:
        live = await self.service.live(self._org(context), request.camera_id)
        return occupancy_pb2.GetLiveOccupancyResponse(occupancy=convert.live(live))

    @maps_domain_errors
    async def GetFacilityOccupancy(self, request: occupancy_pb2.GetFacilityOccupancyRequest, context: Ctx) -> occupancy_pb2.GetFacilityOccupancyResponse:
        f = await self.service.facility_live(self._org(context))
        return occupancy_pb2.GetFacilityOccupancyResponse(occupancy=occupancy_pb2.FacilityOccupancy(
            facility_occupancy=f.facility_occupancy, total_entries_all_cameras=f.total_entries_all_cameras,
            total_exits_all_cameras=f.total_exits_all_cameras, cameras_active=f.cameras_active,
            last_updated=convert.ts(f.last_updated)))

    @maps_domain_errors
    async def WatchOccupancy(self, request: occupancy_pb2.WatchOccupancyRequest, context: Ctx) -> AsyncIterator[occupancy_pb2.WatchOccupancyResponse]:
        async for update in self.service.watch(self._org(context), request.camera_id):
            if isinstance(update, Alert):
                yield occupancy_pb2.WatchOccupancyResponse(alert=convert.alert(update))
            else:
                yield occupancy_pb2.WatchOccupancyResponse(occupancy=convert.live(update))

    @maps_domain_errors
    async def CalibrateOccupancy(self, request: occupancy_pb2.CalibrateOccupancyRequest, context: Ctx) -> occupancy_pb2.CalibrateOccupancyResponse:
        c = await self.service.calibrate(self._org(context), request.camera_id, request.occupancy_value, request.notes)
        return occupancy_pb2.CalibrateOccupancyResponse(camera_id=c.camera_id, occupancy_set_to=c.occupancy_set_to,
                                                        timestamp=convert.ts(c.timestamp))

    # ------------------------------------------------------------------------------------ history

    @maps_domain_errors
    async def ListOccupancyLogs(self, request: occupancy_pb2.ListOccupancyLogsRequest, context: Ctx) -> occupancy_pb2.ListOccupancyLogsResponse:
        logs = await self.service.logs(self._org(context), request.camera_id, request.hours)
        return occupancy_pb2.ListOccupancyLogsResponse(logs=[convert.log(e) for e in logs])

    @maps_domain_errors
    async def ListHourlyOccupancy(self, request: occupancy_pb2.ListHourlyOccupancyRequest, context: Ctx) -> occupancy_pb2.ListHourlyOccupancyResponse:
        rows = await self.service.rollup(self._org(context), request.camera_id, Level.HOURLY, request.days,
                                         request.time_zone)
        return occupancy_pb2.ListHourlyOccupancyResponse(hours=[convert.hourly(r) for r in rows])

    @maps_domain_errors
    async def ListDailyOccupancy(self, request: occupancy_pb2.ListDailyOccupancyRequest, context: Ctx) -> occupancy_pb2.ListDailyOccupancyResponse:
        rows = await self.service.rollup(self._org(context), request.camera_id, Level.DAILY, request.days,
                                         request.time_zone)
        return occupancy_pb2.ListDailyOccupancyResponse(days=[convert.daily(r) for r in rows])

    @maps_domain_errors
    async def ListMonthlyOccupancy(self, request: occupancy_pb2.ListMonthlyOccupancyRequest, context: Ctx) -> occupancy_pb2.ListMonthlyOccupancyResponse:
        rows = await self.service.rollup(self._org(context), request.camera_id, Level.MONTHLY, request.months,
                                         request.time_zone)
        return occupancy_pb2.ListMonthlyOccupancyResponse(months=[convert.monthly(r) for r in rows])

    # ------------------------------------------------------------------------------------- alerts

    @maps_domain_errors
    async def ListAlerts(self, request: occupancy_pb2.ListAlertsRequest, context: Ctx) -> occupancy_pb2.ListAlertsResponse:
        alerts = await self.service.list_alerts(self._org(context), request.camera_id or None, request.include_resolved)
        return occupancy_pb2.ListAlertsResponse(alerts=[convert.alert(a) for a in alerts])

    @maps_domain_errors
    async def ResolveAlert(self, request: occupancy_pb2.ResolveAlertRequest, context: Ctx) -> occupancy_pb2.ResolveAlertResponse:
        alert = await self.service.resolve_alert(self._org(context), request.id)
        return occupancy_pb2.ResolveAlertResponse(alert_id=alert.id, resolved_at=convert.ts(alert.resolved_at))

    @maps_domain_errors
    async def GetFacilityStats(self, request: occupancy_pb2.GetFacilityStatsRequest, context: Ctx) -> occupancy_pb2.GetFacilityStatsResponse:
        s = await self.service.facility_stats(self._org(context))
        return occupancy_pb2.GetFacilityStatsResponse(stats=occupancy_pb2.FacilityStats(
            total_cameras=s.total_cameras, active_cameras=s.active_cameras,
            total_persons_in_facility=s.total_persons_in_facility, capacity_utilization=s.capacity_utilization,
            active_alerts=s.active_alerts, timestamp=convert.ts(s.timestamp)))

    @maps_domain_errors
    async def TriggerAggregation(self, request: occupancy_pb2.TriggerAggregationRequest, context: Ctx) -> occupancy_pb2.TriggerAggregationResponse:
        level: Level | None = convert.LEVEL_FROM_PB.get(request.level)
        when = await self.service.trigger_aggregation(self._org(context), request.camera_id or None, level)
        return occupancy_pb2.TriggerAggregationResponse(level=request.level, timestamp=convert.ts(when))


__all__ = ["SERVICE_NAME", "OccupancyServicer", "common_pb2"]
