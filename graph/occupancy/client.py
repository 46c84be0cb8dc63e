"""The typed gRPC client of `footfall.v1.OccupancyService`: cameras, virtual lines, live occupancy, history, alerts."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import grpc
from footfall.graph.core.client import DEFAULT_TIMEOUT_S, Identity, ServiceClient, present
from footfall.graph.occupancy.live_cache import LiveEntry, LiveOccupancyCache
from footfall.services.core.principal import READERS
from footfall.v1 import common_pb2, occupancy_pb2, occupancy_pb2_grpc


class OccupancyClient(ServiceClient):
    """`footfall.v1.OccupancyService`: cameras, virtual lines, live occupancy, history and alerts."""

    service_name = "Occupancy"
    grpc_service = "footfall.v1.OccupancyService"

    def __init__(self, channel: grpc.aio.Channel, *, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        super().__init__(channel, timeout=timeout)
        self.stub = occupancy_pb2_grpc.OccupancyServiceStub(channel)
        #: Live occupancy held by the gateway (`footfall.graph.occupancy.live_cache`); None: always ask.
        self.live_cache: LiveOccupancyCache | None = None

    # Cameras

    async def create_camera(
        self,
        caller: Identity,
        *,
        camera_id: str,
        camera_name: str,
        location: str = "",
        camera_type: str = "",
        max_occupancy: int = 0,
        resolution_width: int = 0,
        resolution_height: int = 0,
    ) -> occupancy_pb2.Camera:
        request = occupancy_pb2.CreateCameraRequest(
            camera_id=camera_id,
            camera_name=camera_name,
            location=location,
            camera_type=camera_type,
            max_occupancy=max_occupancy,
            resolution_width=resolution_width,
            resolution_height=resolution_height,
        )
        return (await self.unary(self.stub.CreateCamera, request, caller)).camera

    async def list_cameras(self, caller: Identity, *, include_inactive: bool = False) -> list[occupancy_pb2.Camera]:
        cameras: list[occupancy_pb2.Camera] = []
        token = ""
        while True:
            request = occupancy_pb2.ListCamerasRequest(include_inactive=include_inactive, page_token=token)
            reply = await self.unary(self.stub.ListCameras, request, caller)
            cameras.extend(reply.cameras)
            token = reply.next_page_token
            if not token:
                return cameras

    async def get_camera(self, caller: Identity, camera_id: int) -> occupancy_pb2.Camera:
        return (
            await self.unary(self.stub.GetCamera, occupancy_pb2.GetCameraRequest(id=camera_id), caller)
        ).camera

    async def update_camera(self, caller: Identity, camera_id: int, **changes: Any) -> occupancy_pb2.Camera:
        """Set only the fields given (`camera_name`, `location`, `camera_type`, `max_occupancy`, ...)."""
        request = occupancy_pb2.UpdateCameraRequest(id=camera_id, **present(changes))
        return (await self.unary(self.stub.UpdateCamera, request, caller)).camera

    # Virtual lines

    async def create_line(
        self,
        caller: Identity,
        *,
        camera_id: int,
        line_name: str,
        x1: float,
        y1: float,
        x2: float,
        y2: float,
        direction: int = common_pb2.LINE_DIRECTION_UNSPECIFIED,
        confidence_threshold: float | None = None,
    ) -> occupancy_pb2.VirtualLine:
        request = occupancy_pb2.CreateLineRequest(
            camera_id=camera_id,
            line_name=line_name,
            x1=x1,
            y1=y1,
            x2=x2,
            y2=y2,
            direction=direction,  # type: ignore[arg-type]
        )
        if confidence_threshold is not None:
            request.confidence_threshold = confidence_threshold
        return (await self.unary(self.stub.CreateLine, request, caller)).line

    async def list_lines(self, caller: Identity, camera_id: int) -> list[occupancy_pb2.VirtualLine]:
        lines: list[occupancy_pb2.VirtualLine] = []
        token = ""
        while True:
            request = occupancy_pb2.ListLinesRequest(camera_id=camera_id, page_token=token)
            reply = await self.unary(self.stub.ListLines, request, caller)
            lines.extend(reply.lines)
            token = reply.next_page_token
            if not token:
                return lines

    async def get_line(self, caller: Identity, line_id: int) -> occupancy_pb2.VirtualLine:
        return (await self.unary(self.stub.GetLine, occupancy_pb2.GetLineRequest(id=line_id), caller)).line

    async def update_line(self, caller: Identity, line_id: int, **changes: Any) -> occupancy_pb2.VirtualLine:
        """Set only the fields given (`line_name`, `x1`..`y2`, `direction`, `confidence_threshold`, `is_active`)."""
        request = occupancy_pb2.UpdateLineRequest(id=line_id, **present(changes))
        return (await self.unary(self.stub.UpdateLine, request, caller)).line

    # Live occupancy

    async def record_crossing(
        self,
        caller: Identity,
        *,
        event_id: str,
        camera_id: str,
        direction: int,
        line_id: int = 0,
        line_name: str = "",
        track_id: str = "",
        confidence: float = 1.0,
        occurred_at: Any = None,
    ) -> occupancy_pb2.RecordCrossingResponse:
        request = occupancy_pb2.RecordCrossingRequest(
            event_id=event_id,
            camera_id=camera_id,
            line_id=line_id,
            line_name=line_name,
            direction=direction,
            track_id=track_id,
            confidence=confidence,  # type: ignore[arg-type]
        )
        if occurred_at is not None:
            request.occurred_at.FromDatetime(occurred_at)
        return await self.unary(self.stub.RecordCrossing, request, caller)

    async def live_occupancy(self, caller: Identity, camera_id: int) -> occupancy_pb2.LiveOccupancy:
        """From the gateway's live cache when it holds the camera fresh, else from the service (then held).

        The cache answers only whom the service would: a reader (the role the service requires for
        `GetLiveOccupancy`), about their own organisation. The message returned may be shared: read it only.
        """
        held = self.held_live(caller, camera_id)
        if held is not None:
            return held.live
        if self.live_cache is None or not _reader(caller):
            return await self._ask_live(caller, camera_id)
        return await self.live_cache.fetch(caller.org, camera_id, lambda: self._ask_live(caller, camera_id))

    def held_live(self, caller: Identity, camera_id: int) -> LiveEntry | None:
        """The camera's entry in the live cache when it holds it fresh for `caller` (see `live_occupancy`)."""
        cache = self.live_cache
        if cache is None or not _reader(caller):
            return None
        return cache.entry(caller.org, camera_id, refresh=lambda: self._ask_live(caller, camera_id))

    async def _ask_live(self, caller: Identity, camera_id: int) -> occupancy_pb2.LiveOccupancy:
        request = occupancy_pb2.GetLiveOccupancyRequest(camera_id=camera_id)
        return (await self.unary(self.stub.GetLiveOccupancy, request, caller)).occupancy

    async def facility_occupancy(self, caller: Identity) -> occupancy_pb2.FacilityOccupancy:
        request = occupancy_pb2.GetFacilityOccupancyRequest()
        return (await self.unary(self.stub.GetFacilityOccupancy, request, caller)).occupancy

    def watch_occupancy(
        self, caller: Identity, camera_id: int
    ) -> AsyncGenerator[occupancy_pb2.WatchOccupancyResponse, None]:
        """The camera's live occupancy (current value first, then each change) and its new alerts, until closed."""
        request = occupancy_pb2.WatchOccupancyRequest(camera_id=camera_id)
        return self.stream(self.stub.WatchOccupancy, request, caller)

    async def calibrate(
        self, caller: Identity, camera_id: int, occupancy_value: int, notes: str = ""
    ) -> occupancy_pb2.CalibrateOccupancyResponse:
        request = occupancy_pb2.CalibrateOccupancyRequest(
            camera_id=camera_id, occupancy_value=occupancy_value, notes=notes
        )
        return await self.unary(self.stub.CalibrateOccupancy, request, caller)

    # History

    async def logs(self, caller: Identity, camera_id: int, hours: int) -> list[occupancy_pb2.OccupancyLog]:
        request = occupancy_pb2.ListOccupancyLogsRequest(camera_id=camera_id, hours=hours)
        return list((await self.unary(self.stub.ListOccupancyLogs, request, caller)).logs)

    async def hourly(
        self, caller: Identity, camera_id: int, days: int, time_zone: str | None = None
    ) -> list[occupancy_pb2.HourlyOccupancy]:
        request = occupancy_pb2.ListHourlyOccupancyRequest(
            camera_id=camera_id, days=days, time_zone=time_zone or ""
        )
        return list((await self.unary(self.stub.ListHourlyOccupancy, request, caller)).hours)

    async def daily(
        self, caller: Identity, camera_id: int, days: int, time_zone: str | None = None
    ) -> list[occupancy_pb2.DailyOccupancy]:
        request = occupancy_pb2.ListDailyOccupancyRequest(
            camera_id=camera_id, days=days, time_zone=time_zone or ""
        )
        return list((await self.unary(self.stub.ListDailyOccupancy, request, caller)).days)

    async def monthly(
        self, caller: Identity, camera_id: int, months: int, time_zone: str | None = None
    ) -> list[occupancy_pb2.MonthlyOccupancy]:
        request = occupancy_pb2.ListMonthlyOccupancyRequest(
            camera_id=camera_id, months=months, time_zone=time_zone or ""
        )
        return list((await self.unary(self.stub.ListMonthlyOccupancy, request, caller)).months)

    # Alerts, statistics, administration

    async def alerts(
        self, caller: Identity, camera_id: int | None = None, *, include_resolved: bool = False
    ) -> list[occupancy_pb2.Alert]:
        request = occupancy_pb2.ListAlertsRequest(camera_id=camera_id or 0, include_resolved=include_resolved)
        return list((await self.unary(self.stub.ListAlerts, request, caller)).alerts)

    async def resolve_alert(self, caller: Identity, alert_id: int) -> occupancy_pb2.ResolveAlertResponse:
        return await self.unary(self.stub.ResolveAlert, occupancy_pb2.ResolveAlertRequest(id=alert_id), caller)

    async def facility_stats(self, caller: Identity) -> occupancy_pb2.FacilityStats:
        return (
            await self.unary(self.stub.GetFacilityStats, occupancy_pb2.GetFacilityStatsRequest(), caller)
        ).stats

    async def trigger_aggregation(
        self, caller: Identity, level: int, camera_id: int | None = None
    ) -> occupancy_pb2.TriggerAggregationResponse:
        request = occupancy_pb2.TriggerAggregationRequest(camera_id=camera_id or 0, level=level)  # type: ignore[arg-type]
        return await self.unary(self.stub.TriggerAggregation, request, caller)


def _reader(caller: Identity) -> bool:
    principal = getattr(caller, "principal", None)
    return principal is not None and principal.role in READERS
