"""Occupancy in GraphQL: cameras, virtual lines, live counts, history, alerts, and a live subscription.

Resolvers are thin: one call to `OccupancyService` over gRPC with the caller's credential, then the reply as
GraphQL types (`schema_types`, `schema_entities`). Root fields check the caller's role (`CanRead`, `CanWrite`,
`CanFeed`). A camera is always named by its public id, `Camera.id`, its key (`schema_cameras`); every list is
a Relay connection. Domain errors become GraphQL errors with an `extensions.code` (`footfall.graph.core.schema`).

    query { liveOccupancy(cameraId: "GATE_A") { currentOccupancy } }
    query { cameras(first: 20) { totalCount edges { node { id cameraName cameraType } } pageInfo { hasNextPage endCursor } } }
    subscription { occupancy(cameraId: "GATE_A") { ... on LiveOccupancy { currentOccupancy } ... on Alert { alertType } } }
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator
from contextlib import aclosing

import strawberry
from footfall.graph.core.context import Info
from footfall.graph.core.convert import parse_id, to_datetime
from footfall.graph.core.pagination import DEFAULT_FIRST, MAX_FIRST, AfterArg, Connection, FirstArg
from footfall.graph.core.schema import CanFeed, CanRead, CanWrite, SchemaModule, from_proto_enum
from footfall.graph.occupancy import schema_entities as entities
from footfall.graph.occupancy.schema_cameras import check_key
from footfall.graph.occupancy.schema_entities import Camera, TimeZoneArg, VirtualLine, occupancy
from footfall.graph.occupancy.schema_types import (
    CAMERA_ID_DESCRIPTION,
    AggregationLevel,
    AggregationTriggered,
    Alert,
    AlertResolution,
    Calibration,
    CameraInput,
    CameraUpdateInput,
    CrossingInput,
    CrossingResult,
    DailyOccupancy,
    FacilityOccupancy,
    FacilityStats,
    HourlyOccupancy,
    LineInput,
    LineUpdateInput,
    LiveOccupancy,
    MonthlyOccupancy,
    OccupancyLog,
    OccupancyUpdate,
    camera_type_text,
)

CameraIdArg = strawberry.argument(description=CAMERA_ID_DESCRIPTION)


@strawberry.type
class OccupancyQuery:
    @strawberry.field(permission_classes=[CanRead], description="Cameras of the organisation (active ones unless asked)")
    async def cameras(
        self, info: Info, include_inactive: bool = False, first: FirstArg = DEFAULT_FIRST, after: AfterArg = None
    ) -> Connection[Camera]:
        found = await occupancy(info).list_cameras(info.context.caller, include_inactive=include_inactive)
        return Connection.of_list([entities.camera_proto(info, c) for c in found], first, after)

    @strawberry.field(permission_classes=[CanRead], description="One camera by its id (its key); null when there is none")
    async def camera(self, info: Info, id: strawberry.ID) -> Camera | None:
        return await entities.camera_or_none(info, id)

    @strawberry.field(permission_classes=[CanRead], description="One virtual line by id; null when there is none")
    async def line(self, info: Info, id: strawberry.ID) -> VirtualLine | None:
        return await VirtualLine.resolve_reference(info, id)

    @strawberry.field(permission_classes=[CanRead], description="A camera's virtual lines")
    async def lines(
        self, info: Info, camera_id: strawberry.ID, first: FirstArg = DEFAULT_FIRST, after: AfterArg = None
    ) -> Connection[VirtualLine]:
        return Connection.of_list(await entities.lines(info, camera_id), first, after)

    @strawberry.field(permission_classes=[CanRead], description="A camera's live occupancy")
    async def live_occupancy(self, info: Info, camera_id: strawberry.ID) -> LiveOccupancy:
        return await entities.live(info, camera_id)

    @strawberry.field(permission_classes=[CanRead], description="Facility-wide occupancy (sum of all cameras)")
    async def facility_occupancy(self, info: Info) -> FacilityOccupancy:
        o = await occupancy(info).facility_occupancy(info.context.caller)
        return FacilityOccupancy(
            facility_occupancy=o.facility_occupancy,
            total_entries_all_cameras=o.total_entries_all_cameras,
            total_exits_all_cameras=o.total_exits_all_cameras,
            cameras_active=o.cameras_active,
            last_updated=to_datetime(o.last_updated),
        )

    @strawberry.field(permission_classes=[CanRead], description="Overall facility statistics")
    async def facility_stats(self, info: Info) -> FacilityStats:
        s = await occupancy(info).facility_stats(info.context.caller)
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
        self, info: Info, camera_id: strawberry.ID, hours: int = 24, first: FirstArg = MAX_FIRST,
        after: AfterArg = None,
    ) -> Connection[OccupancyLog]:
        return Connection.of_list(await entities.logs(info, camera_id, hours), first, after)

    @strawberry.field(permission_classes=[CanRead], description="Hourly rollups of the last `days`")
    async def hourly_occupancy(
        self, info: Info, camera_id: strawberry.ID, days: int = 7, time_zone: TimeZoneArg = None,
        first: FirstArg = MAX_FIRST, after: AfterArg = None,
    ) -> Connection[HourlyOccupancy]:
        return Connection.of_list(await entities.hourly(info, camera_id, days, time_zone), first, after)

    @strawberry.field(permission_classes=[CanRead], description="Daily rollups of the last `days`")
    async def daily_occupancy(
        self, info: Info, camera_id: strawberry.ID, days: int = 30, time_zone: TimeZoneArg = None,
        first: FirstArg = MAX_FIRST, after: AfterArg = None,
    ) -> Connection[DailyOccupancy]:
        return Connection.of_list(await entities.daily(info, camera_id, days, time_zone), first, after)

    @strawberry.field(permission_classes=[CanRead], description="Monthly rollups of the last `months`")
    async def monthly_occupancy(
        self, info: Info, camera_id: strawberry.ID, months: int = 12, time_zone: TimeZoneArg = None,
        first: FirstArg = MAX_FIRST, after: AfterArg = None,
    ) -> Connection[MonthlyOccupancy]:
        return Connection.of_list(await entities.monthly(info, camera_id, months, time_zone), first, after)

    @strawberry.field(permission_classes=[CanRead], description="Alerts, unresolved unless asked, of one camera or all")
    async def alerts(
        self, info: Info, camera_id: strawberry.ID | None = None, include_resolved: bool = False,
        first: FirstArg = DEFAULT_FIRST, after: AfterArg = None,
    ) -> Connection[Alert]:
        return Connection.of_list(await entities.alerts(info, camera_id, include_resolved), first, after)


@strawberry.type
class OccupancyMutation:
    @strawberry.mutation(permission_classes=[CanWrite], description="Create a camera")
    async def create_camera(self, info: Info, input: CameraInput) -> Camera:
        key = check_key(input.id)
        camera = await occupancy(info).create_camera(
            info.context.caller,
            camera_id=key,
            camera_name=input.camera_name,
            location=input.location,
            camera_type=camera_type_text(input.camera_type) or "",
            max_occupancy=input.max_occupancy or 0,
            resolution_width=input.resolution_width or 0,
            resolution_height=input.resolution_height or 0,
        )
        return entities.camera_proto(info, camera)

    @strawberry.mutation(permission_classes=[CanWrite], description="Change a camera; only the fields given change")
    async def update_camera(self, info: Info, id: strawberry.ID, input: CameraUpdateInput) -> Camera:
        client, caller = occupancy(info), info.context.caller
        changes = {
            "camera_name": input.camera_name,
            "location": input.location,
            "camera_type": camera_type_text(input.camera_type),
            "max_occupancy": input.max_occupancy,
            "resolution_width": input.resolution_width,
            "resolution_height": input.resolution_height,
            "is_active": input.is_active,
        }
        camera = await entities.on_camera(info, id, lambda n: client.update_camera(caller, n, **changes))
        return entities.camera_proto(info, camera)

    @strawberry.mutation(permission_classes=[CanWrite], description="Create a virtual line")
    async def create_line(self, info: Info, input: LineInput) -> VirtualLine:
        client, caller = occupancy(info), info.context.caller
        line = await entities.on_camera(
            info,
            input.camera_id,
            lambda n: client.create_line(
                caller,
                camera_id=n,
                line_name=input.line_name,
                x1=input.x1,
                y1=input.y1,
                x2=input.x2,
                y2=input.y2,
                direction=input.direction.value,
                confidence_threshold=input.confidence_threshold,
            ),
        )
        return VirtualLine.from_proto(line, str(input.camera_id))

    @strawberry.mutation(permission_classes=[CanWrite], description="Change a virtual line; only the fields given change")
    async def update_line(self, info: Info, id: strawberry.ID, input: LineUpdateInput) -> VirtualLine:
        line = await occupancy(info).update_line(
            info.context.caller,
            parse_id(id),
            line_name=input.line_name,
            x1=input.x1,
            y1=input.y1,
            x2=input.x2,
            y2=input.y2,
            direction=input.direction.value if input.direction is not None else None,
            confidence_threshold=input.confidence_threshold,
            is_active=input.is_active,
        )
        return VirtualLine.from_proto(line, await entities.camera_key(info, line.camera_id))

    @strawberry.mutation(permission_classes=[CanWrite], description="Set a camera's occupancy after a manual headcount")
    async def calibrate_occupancy(
        self, info: Info, camera_id: strawberry.ID, occupancy_value: int, notes: str = ""
    ) -> Calibration:
        client, caller = occupancy(info), info.context.caller
        reply = await entities.on_camera(info, camera_id, lambda n: client.calibrate(caller, n, occupancy_value, notes))
        return Calibration(
            camera_id=camera_id, occupancy_set_to=reply.occupancy_set_to, timestamp=to_datetime(reply.timestamp)
        )

    @strawberry.mutation(permission_classes=[CanWrite], description="Mark an alert resolved")
    async def resolve_alert(self, info: Info, id: strawberry.ID) -> AlertResolution:
        reply = await occupancy(info).resolve_alert(info.context.caller, parse_id(id))
        return AlertResolution(alert_id=strawberry.ID(str(reply.alert_id)), resolved_at=to_datetime(reply.resolved_at))

    @strawberry.mutation(permission_classes=[CanWrite], description="Run time-series aggregation now (in the background)")
    async def trigger_aggregation(
        self,
        info: Info,
        level: AggregationLevel = AggregationLevel.HOURLY,
        camera_id: strawberry.ID | None = None,
    ) -> AggregationTriggered:
        client, caller = occupancy(info), info.context.caller
        if camera_id is None:
            reply = await client.trigger_aggregation(caller, level.value, None)
        else:
            reply = await entities.on_camera(info, camera_id, lambda n: client.trigger_aggregation(caller, level.value, n))
        echoed = from_proto_enum(AggregationLevel, reply.level, level)
        return AggregationTriggered(level=echoed, timestamp=to_datetime(reply.timestamp))  # type: ignore[arg-type]

    @strawberry.mutation(permission_classes=[CanFeed], description="Record one crossing (idempotent by eventId)")
    async def record_crossing(self, info: Info, input: CrossingInput) -> CrossingResult:
        key = check_key(input.camera_id)
        reply = await occupancy(info).record_crossing(
            info.context.caller,
            event_id=input.event_id or str(uuid.uuid4()),
            camera_id=key,
            direction=input.direction.value,
            line_id=parse_id(input.line_id, "lineId") if input.line_id is not None else 0,
            line_name=input.line_name,
            track_id=input.track_id,
            confidence=input.confidence,
            occurred_at=input.occurred_at,
        )
        live = LiveOccupancy.from_proto(reply.occupancy, key) if reply.HasField("occupancy") else None
        return CrossingResult(applied=reply.applied, reason=reply.reason, occupancy=live)


@strawberry.type
class OccupancySubscription:
    @strawberry.subscription(
        permission_classes=[CanRead],
        description="A camera's live occupancy (now, then every change) and its new alerts",
    )
    async def occupancy(self, info: Info, camera_id: strawberry.ID) -> AsyncGenerator[OccupancyUpdate, None]:
        client, caller, key = occupancy(info), info.context.caller, str(camera_id)
        number = await entities.cameras_of(info).number(caller, key)
        stream = client.watch_occupancy(caller, number)
        async with aclosing(stream):
            async for update in stream:
                kind = update.WhichOneof("update")
                if kind == "occupancy":
                    yield LiveOccupancy.from_proto(update.occupancy, key)
                elif kind == "alert":
                    yield Alert.from_proto(update.alert, key)


TYPES = (Camera, VirtualLine, LiveOccupancy, Alert)
MODULE = SchemaModule(
    "occupancy", query=OccupancyQuery, mutation=OccupancyMutation, subscription=OccupancySubscription, types=TYPES
)
