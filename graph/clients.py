"""Typed async gRPC clients the gateway calls the services through.

Every call carries the caller's organisation as `x-footfall-org` metadata and turns a failed RPC into the
domain error its status stands for (`footfall.services.core.grpc.domain_error_from`). A service that cannot be
reached (UNAVAILABLE, DEADLINE_EXCEEDED) becomes `ServiceUnavailable`, which names the service, so REST
can answer 503 `{"detail": "Occupancy service not initialized"}` and GraphQL an `UNAVAILABLE` error.

Clients return protobuf messages; the REST routes and GraphQL resolvers shape them for their callers.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any, TypeVar

import grpc
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2, health_pb2_grpc

from footfall.v1 import common_pb2, occupancy_pb2, occupancy_pb2_grpc
from footfall.services.core import errors
from footfall.services.core.grpc import domain_error_from, metadata_for

log = logging.getLogger(__name__)

R = TypeVar("R", bound=Message)
C = TypeVar("C", bound="ServiceClient")

# How long one unary call may take before the gateway gives up on the service.
DEFAULT_TIMEOUT_S = 10.0

_UNREACHABLE = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


class ServiceUnavailable(errors.Unavailable):
    """The service behind a client could not be reached (or answered UNAVAILABLE)."""

    def __init__(self, service: str, cause: str = "") -> None:
        self.service = service
        self.cause = cause
        super().__init__(f"{service} service unavailable" + (f": {cause}" if cause else ""))


class ServiceClient:
    """Base of the typed clients: one stub over a shared channel, org metadata, error mapping."""

    #: Human name used in errors, e.g. `Occupancy` -> "Occupancy service not initialized".
    service_name = "Service"
    #: Full gRPC service name, for health checks.
    grpc_service = ""

    def __init__(self, channel: grpc.aio.Channel, *, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        self.channel = channel
        self.timeout = timeout

    def _error(self, err: grpc.aio.AioRpcError) -> errors.FootfallError:
        if err.code() in _UNREACHABLE:
            return ServiceUnavailable(self.service_name, err.details() or err.code().name)
        return domain_error_from(err)

    async def _unary(self, method: Callable[..., Awaitable[R]], request: Message, org: str) -> R:
        try:
            return await method(request, metadata=metadata_for(org), timeout=self.timeout)
        except grpc.aio.AioRpcError as err:
            raise self._error(err) from None

    async def _stream(
        self, method: Callable[..., Any], request: Message, org: str, *, timeout: float | None = None
    ) -> AsyncGenerator[Any, None]:
        """The replies of a server-streaming call until it ends or the caller stops iterating.

        Closing the iterator cancels the call; a CANCELLED status just ends the stream and any other failed
        status raises the domain error it stands for. `timeout` bounds the whole call (default: none).
        Return this generator itself (don't wrap it in another) so that closing it cancels the call at once.
        """
        call = method(request, metadata=metadata_for(org), timeout=timeout)
        try:
            async for reply in call:
                yield reply
        except grpc.aio.AioRpcError as err:
            if err.code() != grpc.StatusCode.CANCELLED:
                raise self._error(err) from None
        finally:
            call.cancel()

    async def serving(self, timeout: float = 1.0) -> tuple[bool, str]:
        """Whether the service answers the standard gRPC health check as SERVING (and why not)."""
        stub = health_pb2_grpc.HealthStub(self.channel)
        try:
            reply = await stub.Check(
                health_pb2.HealthCheckRequest(service=self.grpc_service), timeout=timeout
            )
        except grpc.aio.AioRpcError as err:
            return False, f"{err.code().name}: {err.details() or ''}".strip()
        ok = reply.status == health_pb2.HealthCheckResponse.SERVING
        return ok, health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)


class OccupancyClient(ServiceClient):
    """`footfall.v1.OccupancyService`: cameras, virtual lines, live occupancy, history and alerts."""

    service_name = "Occupancy"
    grpc_service = "footfall.v1.OccupancyService"

    def __init__(self, channel: grpc.aio.Channel, *, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        super().__init__(channel, timeout=timeout)
        self.stub = occupancy_pb2_grpc.OccupancyServiceStub(channel)

    # Cameras

    async def create_camera(
        self,
        org: str,
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
        return (await self._unary(self.stub.CreateCamera, request, org)).camera

    async def list_cameras(self, org: str, *, include_inactive: bool = False) -> list[occupancy_pb2.Camera]:
        cameras: list[occupancy_pb2.Camera] = []
        token = ""
        while True:
            request = occupancy_pb2.ListCamerasRequest(include_inactive=include_inactive, page_token=token)
            reply = await self._unary(self.stub.ListCameras, request, org)
            cameras.extend(reply.cameras)
            token = reply.next_page_token
            if not token:
                return cameras

    async def get_camera(self, org: str, camera_id: int) -> occupancy_pb2.Camera:
        return (
            await self._unary(self.stub.GetCamera, occupancy_pb2.GetCameraRequest(id=camera_id), org)
        ).camera

    async def update_camera(self, org: str, camera_id: int, **changes: Any) -> occupancy_pb2.Camera:
        """Set only the fields given (`camera_name`, `location`, `camera_type`, `max_occupancy`, ...)."""
        request = occupancy_pb2.UpdateCameraRequest(id=camera_id, **_present(changes))
        return (await self._unary(self.stub.UpdateCamera, request, org)).camera

    # Virtual lines

    async def create_line(
        self,
        org: str,
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
        return (await self._unary(self.stub.CreateLine, request, org)).line

    async def list_lines(self, org: str, camera_id: int) -> list[occupancy_pb2.VirtualLine]:
        lines: list[occupancy_pb2.VirtualLine] = []
        token = ""
        while True:
            request = occupancy_pb2.ListLinesRequest(camera_id=camera_id, page_token=token)
            reply = await self._unary(self.stub.ListLines, request, org)
            lines.extend(reply.lines)
            token = reply.next_page_token
            if not token:
                return lines

    async def get_line(self, org: str, line_id: int) -> occupancy_pb2.VirtualLine:
        return (await self._unary(self.stub.GetLine, occupancy_pb2.GetLineRequest(id=line_id), org)).line

    async def update_line(self, org: str, line_id: int, **changes: Any) -> occupancy_pb2.VirtualLine:
        """Set only the fields given (`line_name`, `x1`..`y2`, `direction`, `confidence_threshold`, `is_active`)."""
        request = occupancy_pb2.UpdateLineRequest(id=line_id, **_present(changes))
        return (await self._unary(self.stub.UpdateLine, request, org)).line

    # Live occupancy

    async def record_crossing(
        self,
        org: str,
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
        return await self._unary(self.stub.RecordCrossing, request, org)

    async def live_occupancy(self, org: str, camera_id: int) -> occupancy_pb2.LiveOccupancy:
        request = occupancy_pb2.GetLiveOccupancyRequest(camera_id=camera_id)
        return (await self._unary(self.stub.GetLiveOccupancy, request, org)).occupancy

    async def facility_occupancy(self, org: str) -> occupancy_pb2.FacilityOccupancy:
        request = occupancy_pb2.GetFacilityOccupancyRequest()
        return (await self._unary(self.stub.GetFacilityOccupancy, request, org)).occupancy

    def watch_occupancy(
        self, org: str, camera_id: int
    ) -> AsyncGenerator[occupancy_pb2.WatchOccupancyResponse, None]:
        """The camera's live occupancy (current value first, then each change) and its new alerts, until closed."""
        request = occupancy_pb2.WatchOccupancyRequest(camera_id=camera_id)
        return self._stream(self.stub.WatchOccupancy, request, org)

    async def calibrate(
        self, org: str, camera_id: int, occupancy_value: int, notes: str = ""
    ) -> occupancy_pb2.CalibrateOccupancyResponse:
        request = occupancy_pb2.CalibrateOccupancyRequest(
            camera_id=camera_id, occupancy_value=occupancy_value, notes=notes
        )
        return await self._unary(self.stub.CalibrateOccupancy, request, org)

    # History

    async def logs(self, org: str, camera_id: int, hours: int) -> list[occupancy_pb2.OccupancyLog]:
        request = occupancy_pb2.ListOccupancyLogsRequest(camera_id=camera_id, hours=hours)
        return list((await self._unary(self.stub.ListOccupancyLogs, request, org)).logs)

    async def hourly(
        self, org: str, camera_id: int, days: int, time_zone: str | None = None
    ) -> list[occupancy_pb2.HourlyOccupancy]:
        request = occupancy_pb2.ListHourlyOccupancyRequest(
            camera_id=camera_id, days=days, time_zone=time_zone or ""
        )
        return list((await self._unary(self.stub.ListHourlyOccupancy, request, org)).hours)

    async def daily(
        self, org: str, camera_id: int, days: int, time_zone: str | None = None
    ) -> list[occupancy_pb2.DailyOccupancy]:
        request = occupancy_pb2.ListDailyOccupancyRequest(
            camera_id=camera_id, days=days, time_zone=time_zone or ""
        )
        return list((await self._unary(self.stub.ListDailyOccupancy, request, org)).days)

    async def monthly(
        self, org: str, camera_id: int, months: int, time_zone: str | None = None
    ) -> list[occupancy_pb2.MonthlyOccupancy]:
        request = occupancy_pb2.ListMonthlyOccupancyRequest(
            camera_id=camera_id, months=months, time_zone=time_zone or ""
        )
        return list((await self._unary(self.stub.ListMonthlyOccupancy, request, org)).months)

    # Alerts, statistics, administration

    async def alerts(
        self, org: str, camera_id: int | None = None, *, include_resolved: bool = False
    ) -> list[occupancy_pb2.Alert]:
        request = occupancy_pb2.ListAlertsRequest(camera_id=camera_id or 0, include_resolved=include_resolved)
        return list((await self._unary(self.stub.ListAlerts, request, org)).alerts)

    async def resolve_alert(self, org: str, alert_id: int) -> occupancy_pb2.ResolveAlertResponse:
        return await self._unary(self.stub.ResolveAlert, occupancy_pb2.ResolveAlertRequest(id=alert_id), org)

    async def facility_stats(self, org: str) -> occupancy_pb2.FacilityStats:
        return (
            await self._unary(self.stub.GetFacilityStats, occupancy_pb2.GetFacilityStatsRequest(), org)
        ).stats

    async def trigger_aggregation(
        self, org: str, level: int, camera_id: int | None = None
    ) -> occupancy_pb2.TriggerAggregationResponse:
        request = occupancy_pb2.TriggerAggregationRequest(camera_id=camera_id or 0, level=level)  # type: ignore[arg-type]
        return await self._unary(self.stub.TriggerAggregation, request, org)


class Clients:
    """The gateway's clients over one channel, made once and shared by every request.

    Other domains add theirs without touching this class: `clients.get(VisionClient)`.
    """

    def __init__(self, channel: grpc.aio.Channel, *, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        self.channel = channel
        self.timeout = timeout
        self._made: dict[type[ServiceClient], ServiceClient] = {}

    def get(self, cls: type[C]) -> C:
        client = self._made.get(cls)
        if client is None:
            client = self._made[cls] = cls(self.channel, timeout=self.timeout)
        return client  # type: ignore[return-value]

    @property
    def occupancy(self) -> OccupancyClient:
        return self.get(OccupancyClient)


def _present(changes: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in changes.items() if v is not None}
