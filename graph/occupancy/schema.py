"""Occupancy in GraphQL: cameras, virtual lines, live counts, history, alerts, and a live subscription.

Resolvers are thin: one call to `OccupancyService` over gRPC with the caller's credential, then the reply as
GraphQL types. Root fields check the caller's role (`CanRead`, `CanWrite`, `CanFeed`); nested fields
(`camera.lines`, `line.camera`) go through DataLoaders, so a deep query costs one call per camera and level.
Domain errors become GraphQL errors with an `extensions.code` (see `footfall.graph.core.schema`).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncGenerator
from contextlib import aclosing
from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry
from footfall.graph.core.context import Info
from footfall.graph.core.convert import (
    CROSSING_DIRECTIONS,
    LINE_DIRECTIONS,
    CrossingDirection,
    LineDirection,
    line_direction_name,
    parse_id,
    to_datetime,
)
from footfall.graph.core.loaders import loader
from footfall.graph.core.schema import CanFeed, CanRead, CanWrite, SchemaModule, caller_of
from footfall.graph.occupancy.client import OccupancyClient
from footfall.graph.occupancy.convert import AGGREGATION_LEVELS, aggregation_level_name, alert_type_name
from footfall.services.core.errors import InvalidArgument, NotFound
from footfall.services.core.principal import READERS
from footfall.v1 import occupancy_pb2

# Enums (values are the REST/wire names)


@strawberry.enum
class AlertType(Enum):
    CAPACITY_EXCEEDED = "capacity_exceeded"
    CAPACITY_WARNING = "capacity_warning"
    ANOMALY_DETECTED = "anomaly_detected"
    NEGATIVE_COUNT = "negative_count"
    EQUIPMENT_FAILURE = "equipment_failure"
    UNSPECIFIED = "unspecified"


@strawberry.enum
class AggregationLevel(Enum):
    HOURLY = "hourly"
    DAILY = "daily"
    MONTHLY = "monthly"


# Helpers


def _occupancy(info: Info) -> OccupancyClient:
    return info.context.client(OccupancyClient)


def _at_least_one(name: str, value: int) -> int:
    if value < 1:
        raise InvalidArgument(f"{name} must be at least 1, not {value}")
    return value


# Object types


@strawberry.type(description="Live occupancy of one camera.")
class LiveOccupancy:
    camera_id: strawberry.ID
    current_occupancy: int = strawberry.field(
        description="People in the area now (entries - exits, calibrated)"
    )
    total_entries: int
    total_exits: int
    unique_persons: int
    last_updated: datetime | None

    @classmethod
    def from_proto(cls, o: occupancy_pb2.LiveOccupancy) -> LiveOccupancy:
        return cls(
            camera_id=strawberry.ID(str(o.camera_id)),
            current_occupancy=o.current_occupancy,
            total_entries=o.total_entries,
            total_exits=o.total_exits,
            unique_persons=o.unique_persons,
            last_updated=to_datetime(o.last_updated),
        )


@strawberry.type(description="An occupancy alert (capacity, anomaly, negative count, equipment failure).")
class Alert:
    id: strawberry.ID
    camera_id: strawberry.ID
    alert_type: AlertType
    current_occupancy: int
    message: str
    is_resolved: bool
    timestamp: datetime | None
    resolved_at: datetime | None

    @classmethod
    def from_proto(cls, a: occupancy_pb2.Alert) -> Alert:
        return cls(
            id=strawberry.ID(str(a.id)),
            camera_id=strawberry.ID(str(a.camera_id)),
            alert_type=AlertType(alert_type_name(a.alert_type)),
            current_occupancy=a.current_occupancy,
            message=a.message,
            is_resolved=a.is_resolved,
            timestamp=to_datetime(a.timestamp),
            resolved_at=to_datetime(a.resolved_at),
        )


@strawberry.type
class OccupancyLog:
    id: strawberry.ID
    camera_id: strawberry.ID
    entry_count: int
    exit_count: int
    net_occupancy: int
    timestamp: datetime | None
    tracked_persons: int
    is_manual_calibration: bool
    notes: str

    @classmethod
    def from_proto(cls, g: occupancy_pb2.OccupancyLog) -> OccupancyLog:
        return cls(
            id=strawberry.ID(str(g.id)),
            camera_id=strawberry.ID(str(g.camera_id)),
            entry_count=g.entry_count,
            exit_count=g.exit_count,
            net_occupancy=g.net_occupancy,
            timestamp=to_datetime(g.timestamp),
            tracked_persons=g.tracked_persons,
            is_manual_calibration=g.is_manual_calibration,
            notes=g.notes,
        )


@strawberry.type
class HourlyOccupancy:
    hour: str = strawberry.field(description="Local hour start, `YYYY-MM-DD HH:00`")
    camera_id: strawberry.ID
    entries: int
    exits: int
    avg_occupancy: float
    peak_occupancy: int
    unique_persons: int

    @classmethod
    def from_proto(cls, h: occupancy_pb2.HourlyOccupancy) -> HourlyOccupancy:
        return cls(
            hour=h.hour,
            camera_id=strawberry.ID(str(h.camera_id)),
            entries=h.entries,
            exits=h.exits,
            avg_occupancy=h.avg_occupancy,
            peak_occupancy=h.peak_occupancy,
            unique_persons=h.unique_persons,
        )


@strawberry.type
class DailyOccupancy:
    date: str = strawberry.field(description="Local date, `YYYY-MM-DD`")
    camera_id: strawberry.ID
    entries: int
    exits: int
    avg_occupancy: float
    peak_occupancy: int
    peak_hour: int = strawberry.field(description="Local hour (0-23) of the first peak")
    unique_persons: int

    @classmethod
    def from_proto(cls, d: occupancy_pb2.DailyOccupancy) -> DailyOccupancy:
        return cls(
            date=d.date,
            camera_id=strawberry.ID(str(d.camera_id)),
            entries=d.entries,
            exits=d.exits,
            avg_occupancy=d.avg_occupancy,
            peak_occupancy=d.peak_occupancy,
            peak_hour=d.peak_hour,
            unique_persons=d.unique_persons,
        )


@strawberry.type
class MonthlyOccupancy:
    period: str = strawberry.field(description="Local month, `YYYY-MM`")
    camera_id: strawberry.ID
    entries: int
    exits: int
    avg_daily_occupancy: float
    peak_occupancy: int
    unique_persons: int

    @classmethod
    def from_proto(cls, m: occupancy_pb2.MonthlyOccupancy) -> MonthlyOccupancy:
        return cls(
            period=m.period,
            camera_id=strawberry.ID(str(m.camera_id)),
            entries=m.entries,
            exits=m.exits,
            avg_daily_occupancy=m.avg_daily_occupancy,
            peak_occupancy=m.peak_occupancy,
            unique_persons=m.unique_persons,
        )


# Shared resolver bodies (the top-level queries and the Camera fields are the same calls)


async def _live(info: Info, camera_id: int) -> LiveOccupancy:
    return LiveOccupancy.from_proto(await _occupancy(info).live_occupancy(info.context.caller, camera_id))


async def _lines(info: Info, camera_id: int) -> list[VirtualLine]:
    return [VirtualLine.from_proto(x) for x in await _occupancy(info).list_lines(info.context.caller, camera_id)]


async def _nested_lines(info: Info, camera_id: int) -> list[VirtualLine]:
    async def batch(camera_ids: list[int]) -> list[list[VirtualLine] | BaseException]:
        found = await asyncio.gather(*(_lines(info, c) for c in camera_ids), return_exceptions=True)
        return [x if isinstance(x, (list, BaseException)) else [] for x in found]

    return await loader(info, "occupancy.lines", batch).load(camera_id)


async def _nested_camera(info: Info, camera_id: int) -> Camera | None:
    async def batch(camera_ids: list[int]) -> list[Camera | None | BaseException]:
        return list(await asyncio.gather(*(_camera_or_none(info, c) for c in camera_ids), return_exceptions=True))

    return await loader(info, "occupancy.camera", batch).load(camera_id)


async def _alerts(info: Info, camera_id: int | None, include_resolved: bool) -> list[Alert]:
    found = await _occupancy(info).alerts(
        info.context.caller, camera_id, include_resolved=include_resolved
    )
    return [Alert.from_proto(a) for a in found]


async def _logs(info: Info, camera_id: int, hours: int) -> list[OccupancyLog]:
    found = await _occupancy(info).logs(info.context.caller, camera_id, _at_least_one("hours", hours))
    return [OccupancyLog.from_proto(g) for g in found]


async def _hourly(info: Info, camera_id: int, days: int, time_zone: str | None) -> list[HourlyOccupancy]:
    found = await _occupancy(info).hourly(
        info.context.caller, camera_id, _at_least_one("days", days), time_zone
    )
    return [HourlyOccupancy.from_proto(h) for h in found]


async def _daily(info: Info, camera_id: int, days: int, time_zone: str | None) -> list[DailyOccupancy]:
    found = await _occupancy(info).daily(
        info.context.caller, camera_id, _at_least_one("days", days), time_zone
    )
    return [DailyOccupancy.from_proto(d) for d in found]


async def _monthly(info: Info, camera_id: int, months: int, time_zone: str | None) -> list[MonthlyOccupancy]:
    found = await _occupancy(info).monthly(
        info.context.caller, camera_id, _at_least_one("months", months), time_zone
    )
    return [MonthlyOccupancy.from_proto(m) for m in found]


async def _camera_or_none(info: Info, camera_id: int) -> Camera | None:
    try:
        return Camera.from_proto(await _occupancy(info).get_camera(info.context.caller, camera_id))
    except NotFound:
        return None


TimeZoneArg = Annotated[
    str | None,
    strawberry.argument(description="IANA time zone for the period boundaries (default: the server's)"),
]


@strawberry.federation.type(keys=["id"], description="A camera whose crossings are counted.")
class Camera:
    id: strawberry.ID
    camera_id: str = strawberry.field(description="External key, unique in the organisation (e.g. `GATE_A`)")
    camera_name: str
    location: str
    camera_type: str
    is_active: bool
    max_occupancy: int | None = strawberry.field(description="Capacity; null when none is configured")
    resolution_width: int | None
    resolution_height: int | None
    created_at: datetime | None
    updated_at: datetime | None

    @classmethod
    def from_proto(cls, c: occupancy_pb2.Camera) -> Camera:
        return cls(
            id=strawberry.ID(str(c.id)),
            camera_id=c.camera_id,
            camera_name=c.camera_name,
            location=c.location,
            camera_type=c.camera_type,
            is_active=c.is_active,
            max_occupancy=c.max_occupancy or None,
            resolution_width=c.resolution_width or None,
            resolution_height=c.resolution_height or None,
            created_at=to_datetime(c.created_at),
            updated_at=to_datetime(c.updated_at),
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Camera | None:
        caller_of(info).principal.require(READERS)
        return await _camera_or_none(info, parse_id(id))

    @strawberry.field(description="Live occupancy now")
    async def live(self, info: Info) -> LiveOccupancy:
        return await _live(info, int(self.id))

    @strawberry.field(description="The camera's virtual lines")
    async def lines(self, info: Info) -> list[VirtualLine]:
        return await _nested_lines(info, int(self.id))

    @strawberry.field(description="The camera's alerts (unresolved unless asked)")
    async def alerts(self, info: Info, include_resolved: bool = False) -> list[Alert]:
        return await _alerts(info, int(self.id), include_resolved)

    @strawberry.field(description="Raw occupancy logs of the last `hours`")
    async def logs(self, info: Info, hours: int = 24) -> list[OccupancyLog]:
        return await _logs(info, int(self.id), hours)

    @strawberry.field(description="Hourly rollups of the last `days`")
    async def hourly(self, info: Info, days: int = 7, time_zone: TimeZoneArg = None) -> list[HourlyOccupancy]:
        return await _hourly(info, int(self.id), days, time_zone)

    @strawberry.field(description="Daily rollups of the last `days`")
    async def daily(self, info: Info, days: int = 30, time_zone: TimeZoneArg = None) -> list[DailyOccupancy]:
        return await _daily(info, int(self.id), days, time_zone)

    @strawberry.field(description="Monthly rollups of the last `months`")
    async def monthly(
        self, info: Info, months: int = 12, time_zone: TimeZoneArg = None
    ) -> list[MonthlyOccupancy]:
        return await _monthly(info, int(self.id), months, time_zone)


@strawberry.federation.type(
    keys=["id"], description="A line in a camera's frame; crossings count entries/exits."
)
class VirtualLine:
    id: strawberry.ID
    camera_id: strawberry.ID
    line_name: str
    x1: float
    y1: float
    x2: float
    y2: float
    direction: LineDirection
    confidence_threshold: float
    is_active: bool
    created_at: datetime | None

    @classmethod
    def from_proto(cls, line: occupancy_pb2.VirtualLine) -> VirtualLine:
        return cls(
            id=strawberry.ID(str(line.id)),
            camera_id=strawberry.ID(str(line.camera_id)),
            line_name=line.line_name,
            x1=line.x1,
            y1=line.y1,
            x2=line.x2,
            y2=line.y2,
            direction=LineDirection(line_direction_name(line.direction)),
            confidence_threshold=line.confidence_threshold,
            is_active=line.is_active,
            created_at=to_datetime(line.created_at),
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> VirtualLine | None:
        caller_of(info).principal.require(READERS)
        try:
            return VirtualLine.from_proto(
                await _occupancy(info).get_line(info.context.caller, parse_id(id))
            )
        except NotFound:
            return None

    @strawberry.field
    async def camera(self, info: Info) -> Camera | None:
        return await _nested_camera(info, int(self.camera_id))


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
    camera_id: strawberry.ID
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
    camera_id: str = strawberry.field(description="External key, unique in the organisation (e.g. `GATE_A`)")
    camera_name: str = strawberry.field(default="", description="Defaults to cameraId")
    location: str = ""
    camera_type: str = ""
    max_occupancy: int | None = None
    resolution_width: int | None = None
    resolution_height: int | None = None


@strawberry.input(description="Only the fields given change.")
class CameraUpdateInput:
    camera_name: str | None = None
    location: str | None = None
    camera_type: str | None = None
    max_occupancy: int | None = None
    resolution_width: int | None = None
    resolution_height: int | None = None
    is_active: bool | None = None


@strawberry.input
class LineInput:
    camera_id: strawberry.ID
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
    camera_id: str = strawberry.field(description="The camera's external key (e.g. `GATE_A`)")
    direction: CrossingDirection
    event_id: str | None = strawberry.field(
        default=None, description="Idempotency key; a new one when omitted"
    )
    line_id: strawberry.ID | None = None
    line_name: str = ""
    track_id: str = ""
    confidence: float = 1.0
    occurred_at: datetime | None = None


def _line_direction(value: LineDirection | None) -> int | None:
    if value is None:
        return None
    if value is LineDirection.UNSPECIFIED:
        raise InvalidArgument("direction must be ENTRY, EXIT or BIDIRECTIONAL")
    return LINE_DIRECTIONS[value.value]


# Root types


@strawberry.type
class OccupancyQuery:
    @strawberry.field(permission_classes=[CanRead], description="Cameras of the organisation (active ones unless asked)")
    async def cameras(self, info: Info, include_inactive: bool = False) -> list[Camera]:
        found = await _occupancy(info).list_cameras(info.context.caller, include_inactive=include_inactive)
        return [Camera.from_proto(c) for c in found]

    @strawberry.field(permission_classes=[CanRead], description="One camera by database id; null when there is none")
    async def camera(self, info: Info, id: strawberry.ID) -> Camera | None:
        return await _camera_or_none(info, parse_id(id))

    @strawberry.field(permission_classes=[CanRead], description="One virtual line by id; null when there is none")
    async def line(self, info: Info, id: strawberry.ID) -> VirtualLine | None:
        return await VirtualLine.resolve_reference(info, id)

    @strawberry.field(permission_classes=[CanRead], description="A camera's virtual lines")
    async def lines(self, info: Info, camera_id: strawberry.ID) -> list[VirtualLine]:
        return await _lines(info, parse_id(camera_id, "cameraId"))

    @strawberry.field(permission_classes=[CanRead], description="A camera's live occupancy")
    async def live_occupancy(self, info: Info, camera_id: strawberry.ID) -> LiveOccupancy:
        return await _live(info, parse_id(camera_id, "cameraId"))

    @strawberry.field(permission_classes=[CanRead], description="Facility-wide occupancy (sum of all cameras)")
    async def facility_occupancy(self, info: Info) -> FacilityOccupancy:
        o = await _occupancy(info).facility_occupancy(info.context.caller)
        return FacilityOccupancy(
            facility_occupancy=o.facility_occupancy,
            total_entries_all_cameras=o.total_entries_all_cameras,
            total_exits_all_cameras=o.total_exits_all_cameras,
            cameras_active=o.cameras_active,
            last_updated=to_datetime(o.last_updated),
        )

    @strawberry.field(permission_classes=[CanRead], description="Overall facility statistics")
    async def facility_stats(self, info: Info) -> FacilityStats:
        s = await _occupancy(info).facility_stats(info.context.caller)
        return FacilityStats(
            total_cameras=s.total_cameras,
            active_cameras=s.active_cameras,
            total_persons_in_facility=s.total_persons_in_facility,
            capacity_utilization=s.capacity_utilization,
            active_alerts=s.active_alerts,
            timestamp=to_datetime(s.timestamp),
        )

    @strawberry.field(permission_classes=[CanRead], description="Raw occupancy logs of the last `hours`")
    async def occupancy_logs(
        self, info: Info, camera_id: strawberry.ID, hours: int = 24
    ) -> list[OccupancyLog]:
        return await _logs(info, parse_id(camera_id, "cameraId"), hours)

    @strawberry.field(permission_classes=[CanRead], description="Hourly rollups of the last `days`")
    async def hourly_occupancy(
        self, info: Info, camera_id: strawberry.ID, days: int = 7, time_zone: TimeZoneArg = None
    ) -> list[HourlyOccupancy]:
        return await _hourly(info, parse_id(camera_id, "cameraId"), days, time_zone)

    @strawberry.field(permission_classes=[CanRead], description="Daily rollups of the last `days`")
    async def daily_occupancy(
        self, info: Info, camera_id: strawberry.ID, days: int = 30, time_zone: TimeZoneArg = None
    ) -> list[DailyOccupancy]:
        return await _daily(info, parse_id(camera_id, "cameraId"), days, time_zone)

    @strawberry.field(permission_classes=[CanRead], description="Monthly rollups of the last `months`")
    async def monthly_occupancy(
        self, info: Info, camera_id: strawberry.ID, months: int = 12, time_zone: TimeZoneArg = None
    ) -> list[MonthlyOccupancy]:
        return await _monthly(info, parse_id(camera_id, "cameraId"), months, time_zone)

    @strawberry.field(permission_classes=[CanRead], description="Alerts, unresolved unless asked, of one camera or all")
    async def alerts(
        self, info: Info, camera_id: strawberry.ID | None = None, include_resolved: bool = False
    ) -> list[Alert]:
        cid = parse_id(camera_id, "cameraId") if camera_id is not None else None
        return await _alerts(info, cid, include_resolved)


@strawberry.type
class OccupancyMutation:
    @strawberry.mutation(permission_classes=[CanWrite], description="Create a camera")
    async def create_camera(self, info: Info, input: CameraInput) -> Camera:
        camera = await _occupancy(info).create_camera(
            info.context.caller,
            camera_id=input.camera_id,
            camera_name=input.camera_name,
            location=input.location,
            camera_type=input.camera_type,
            max_occupancy=input.max_occupancy or 0,
            resolution_width=input.resolution_width or 0,
            resolution_height=input.resolution_height or 0,
        )
        return Camera.from_proto(camera)

    @strawberry.mutation(permission_classes=[CanWrite], description="Change a camera; only the fields given change")
    async def update_camera(self, info: Info, id: strawberry.ID, input: CameraUpdateInput) -> Camera:
        camera = await _occupancy(info).update_camera(
            info.context.caller,
            parse_id(id),
            camera_name=input.camera_name,
            location=input.location,
            camera_type=input.camera_type,
            max_occupancy=input.max_occupancy,
            resolution_width=input.resolution_width,
            resolution_height=input.resolution_height,
            is_active=input.is_active,
        )
        return Camera.from_proto(camera)

    @strawberry.mutation(permission_classes=[CanWrite], description="Create a virtual line")
    async def create_line(self, info: Info, input: LineInput) -> VirtualLine:
        line = await _occupancy(info).create_line(
            info.context.caller,
            camera_id=parse_id(input.camera_id, "cameraId"),
            line_name=input.line_name,
            x1=input.x1,
            y1=input.y1,
            x2=input.x2,
            y2=input.y2,
            direction=_line_direction(input.direction) or 0,
            confidence_threshold=input.confidence_threshold,
        )
        return VirtualLine.from_proto(line)

    @strawberry.mutation(permission_classes=[CanWrite], description="Change a virtual line; only the fields given change")
    async def update_line(self, info: Info, id: strawberry.ID, input: LineUpdateInput) -> VirtualLine:
        line = await _occupancy(info).update_line(
            info.context.caller,
            parse_id(id),
            line_name=input.line_name,
            x1=input.x1,
            y1=input.y1,
            x2=input.x2,
            y2=input.y2,
            direction=_line_direction(input.direction),
            confidence_threshold=input.confidence_threshold,
            is_active=input.is_active,
        )
        return VirtualLine.from_proto(line)

    @strawberry.mutation(permission_classes=[CanWrite], description="Set a camera's occupancy after a manual headcount")
    async def calibrate_occupancy(
        self, info: Info, camera_id: strawberry.ID, occupancy_value: int, notes: str = ""
    ) -> Calibration:
        reply = await _occupancy(info).calibrate(
            info.context.caller, parse_id(camera_id, "cameraId"), occupancy_value, notes
        )
        return Calibration(
            camera_id=strawberry.ID(str(reply.camera_id)),
            occupancy_set_to=reply.occupancy_set_to,
            timestamp=to_datetime(reply.timestamp),
        )

    @strawberry.mutation(permission_classes=[CanWrite], description="Mark an alert resolved")
    async def resolve_alert(self, info: Info, id: strawberry.ID) -> AlertResolution:
        reply = await _occupancy(info).resolve_alert(info.context.caller, parse_id(id))
        return AlertResolution(
            alert_id=strawberry.ID(str(reply.alert_id)), resolved_at=to_datetime(reply.resolved_at)
        )

    @strawberry.mutation(permission_classes=[CanWrite], description="Run time-series aggregation now (in the background)")
    async def trigger_aggregation(
        self,
        info: Info,
        level: AggregationLevel = AggregationLevel.HOURLY,
        camera_id: strawberry.ID | None = None,
    ) -> AggregationTriggered:
        cid = parse_id(camera_id, "cameraId") if camera_id is not None else None
        reply = await _occupancy(info).trigger_aggregation(
            info.context.caller, AGGREGATION_LEVELS[level.value], cid
        )
        echoed = aggregation_level_name(reply.level)
        return AggregationTriggered(
            level=AggregationLevel(echoed) if reply.level else level, timestamp=to_datetime(reply.timestamp)
        )

    @strawberry.mutation(permission_classes=[CanFeed], description="Record one crossing (idempotent by eventId)")
    async def record_crossing(self, info: Info, input: CrossingInput) -> CrossingResult:
        reply = await _occupancy(info).record_crossing(
            info.context.caller,
            event_id=input.event_id or str(uuid.uuid4()),
            camera_id=input.camera_id,
            direction=CROSSING_DIRECTIONS[input.direction.value],
            line_id=parse_id(input.line_id, "lineId") if input.line_id is not None else 0,
            line_name=input.line_name,
            track_id=input.track_id,
            confidence=input.confidence,
            occurred_at=input.occurred_at,
        )
        occupancy = LiveOccupancy.from_proto(reply.occupancy) if reply.HasField("occupancy") else None
        return CrossingResult(applied=reply.applied, reason=reply.reason, occupancy=occupancy)


@strawberry.type
class OccupancySubscription:
    @strawberry.subscription(
        permission_classes=[CanRead],
        description="A camera's live occupancy (now, then every change) and its new alerts"
    )
    async def occupancy(self, info: Info, camera_id: strawberry.ID) -> AsyncGenerator[OccupancyUpdate, None]:
        stream = _occupancy(info).watch_occupancy(info.context.caller, parse_id(camera_id, "cameraId"))
        async with aclosing(stream):
            async for update in stream:
                kind = update.WhichOneof("update")
                if kind == "occupancy":
                    yield LiveOccupancy.from_proto(update.occupancy)
                elif kind == "alert":
                    yield Alert.from_proto(update.alert)


TYPES = (Camera, VirtualLine, LiveOccupancy, Alert)
MODULE = SchemaModule(
    "occupancy", query=OccupancyQuery, mutation=OccupancyMutation, subscription=OccupancySubscription, types=TYPES
)
