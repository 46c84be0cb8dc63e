"""Occupancy's federation entities, `Camera` (keyed by its public id, the camera key) and `VirtualLine`, and the
resolver bodies the root fields share with their nested fields.

Nested fields (`camera.lines`, `line.camera`) go through DataLoaders, so a deep query costs one call per
camera and level. Every list is a connection (`footfall.graph.core.pagination`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, TypeVar

import strawberry
from footfall.graph.core.context import Info
from footfall.graph.core.convert import parse_id, to_datetime
from footfall.graph.core.loaders import loader
from footfall.graph.core.pagination import DEFAULT_FIRST, MAX_FIRST, AfterArg, Connection, FirstArg
from footfall.graph.core.schema import LineDirection, caller_of, from_proto_enum
from footfall.graph.occupancy.client import OccupancyClient
from footfall.graph.occupancy.schema_cameras import CameraDirectory, directory
from footfall.graph.occupancy.schema_types import (
    Alert,
    CameraType,
    DailyOccupancy,
    HourlyOccupancy,
    LiveOccupancy,
    MonthlyOccupancy,
    OccupancyLog,
    at_least_one,
    camera_type_of,
)
from footfall.services.core.errors import NotFound
from footfall.services.core.principal import READERS
from footfall.v1 import occupancy_pb2

R = TypeVar("R")

TimeZoneArg = Annotated[
    str | None,
    strawberry.argument(description="IANA time zone for the period boundaries (default: the server's)"),
]


def occupancy(info: Info) -> OccupancyClient:
    return info.context.client(OccupancyClient)


def cameras_of(info: Info) -> CameraDirectory:
    return directory(occupancy(info))


async def on_camera(info: Info, camera_id: strawberry.ID | str, fn: Callable[[int], Awaitable[R]]) -> R:
    """`fn(number)` for the camera whose public id is `camera_id`."""
    return await cameras_of(info).call(info.context.caller, str(camera_id), fn)


async def camera_key(info: Info, number: int) -> str:
    return await cameras_of(info).key(info.context.caller, number)


def camera_proto(info: Info, camera: occupancy_pb2.Camera) -> Camera:
    cameras_of(info).learn(info.context.caller.org, camera)
    return Camera.from_proto(camera)


# Shared resolver bodies (the top-level queries and the Camera fields are the same calls)


async def live(info: Info, camera: str) -> LiveOccupancy:
    client, caller = occupancy(info), info.context.caller
    reply = await on_camera(info, camera, lambda n: client.live_occupancy(caller, n))
    return LiveOccupancy.from_proto(reply, camera)


async def lines_by_number(info: Info, number: int, camera: str) -> list[VirtualLine]:
    return [VirtualLine.from_proto(x, camera) for x in await occupancy(info).list_lines(info.context.caller, number)]


async def lines(info: Info, camera: str) -> list[VirtualLine]:
    return await on_camera(info, camera, lambda n: lines_by_number(info, n, camera))


async def nested_lines(info: Info, number: int, camera: str) -> list[VirtualLine]:
    async def batch(keys: list[tuple[int, str]]) -> list[list[VirtualLine] | BaseException]:
        found = await asyncio.gather(*(lines_by_number(info, n, k) for n, k in keys), return_exceptions=True)
        return [x if isinstance(x, (list, BaseException)) else [] for x in found]

    return await loader(info, "occupancy.lines", batch).load((number, camera))


async def nested_camera(info: Info, number: int) -> Camera | None:
    async def batch(numbers: list[int]) -> list[Camera | None | BaseException]:
        return list(await asyncio.gather(*(camera_by_number(info, n) for n in numbers), return_exceptions=True))

    return await loader(info, "occupancy.camera", batch).load(number)


async def alerts(info: Info, camera: str | None, include_resolved: bool) -> list[Alert]:
    client, caller = occupancy(info), info.context.caller
    if camera is not None:
        found = await on_camera(info, camera, lambda n: client.alerts(caller, n, include_resolved=include_resolved))
    else:
        found = await client.alerts(caller, None, include_resolved=include_resolved)
    return [Alert.from_proto(a, camera if camera is not None else await camera_key(info, a.camera_id)) for a in found]


async def logs(info: Info, camera: str, hours: int) -> list[OccupancyLog]:
    client, caller = occupancy(info), info.context.caller
    found = await on_camera(info, camera, lambda n: client.logs(caller, n, at_least_one("hours", hours)))
    return [OccupancyLog.from_proto(g, camera) for g in found]


async def hourly(info: Info, camera: str, days: int, time_zone: str | None) -> list[HourlyOccupancy]:
    client, caller = occupancy(info), info.context.caller
    found = await on_camera(info, camera, lambda n: client.hourly(caller, n, at_least_one("days", days), time_zone))
    return [HourlyOccupancy.from_proto(h, camera) for h in found]


async def daily(info: Info, camera: str, days: int, time_zone: str | None) -> list[DailyOccupancy]:
    client, caller = occupancy(info), info.context.caller
    found = await on_camera(info, camera, lambda n: client.daily(caller, n, at_least_one("days", days), time_zone))
    return [DailyOccupancy.from_proto(d, camera) for d in found]


async def monthly(info: Info, camera: str, months: int, time_zone: str | None) -> list[MonthlyOccupancy]:
    client, caller = occupancy(info), info.context.caller
    found = await on_camera(
        info, camera, lambda n: client.monthly(caller, n, at_least_one("months", months), time_zone)
    )
    return [MonthlyOccupancy.from_proto(m, camera) for m in found]


async def camera_by_number(info: Info, number: int) -> Camera | None:
    try:
        return camera_proto(info, await occupancy(info).get_camera(info.context.caller, number))
    except NotFound:
        return None


async def camera_or_none(info: Info, camera: str) -> Camera | None:
    client, caller = occupancy(info), info.context.caller
    try:
        return camera_proto(info, await on_camera(info, camera, lambda n: client.get_camera(caller, n)))
    except NotFound:
        return None


@strawberry.federation.type(
    keys=["id"],
    description="A camera whose crossings are counted. Its `id` is its key (e.g. `GATE_A`), unique in the "
    "organisation: every field, mutation and subscription that names a camera takes this id.",
)
class Camera:
    id: strawberry.ID = strawberry.field(description="The camera's public id: its key, e.g. `GATE_A`")
    number: strawberry.Private[int]
    camera_name: str
    location: str
    camera_type: CameraType | None = strawberry.field(description="Null when none is set")
    is_active: bool
    max_occupancy: int | None = strawberry.field(description="Capacity; null when none is configured")
    resolution_width: int | None
    resolution_height: int | None
    created_at: datetime | None
    updated_at: datetime | None

    @classmethod
    def from_proto(cls, c: occupancy_pb2.Camera) -> Camera:
        return cls(
            id=strawberry.ID(c.camera_id),
            number=c.id,
            camera_name=c.camera_name,
            location=c.location,
            camera_type=camera_type_of(c.camera_type),
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
        return await camera_or_none(info, id)

    @strawberry.field(description="Live occupancy now")
    async def live(self, info: Info) -> LiveOccupancy:
        return await live(info, self.id)

    @strawberry.field(description="The camera's virtual lines")
    async def lines(self, info: Info, first: FirstArg = DEFAULT_FIRST, after: AfterArg = None) -> Connection[VirtualLine]:
        return Connection.of_list(await nested_lines(info, self.number, self.id), first, after)

    @strawberry.field(description="The camera's alerts (unresolved unless asked)")
    async def alerts(
        self, info: Info, include_resolved: bool = False, first: FirstArg = DEFAULT_FIRST, after: AfterArg = None
    ) -> Connection[Alert]:
        return Connection.of_list(await alerts(info, self.id, include_resolved), first, after)

    @strawberry.field(description="Raw occupancy logs of the last `hours`")
    async def logs(
        self, info: Info, hours: int = 24, first: FirstArg = MAX_FIRST, after: AfterArg = None
    ) -> Connection[OccupancyLog]:
        return Connection.of_list(await logs(info, self.id, hours), first, after)

    @strawberry.field(description="Hourly rollups of the last `days`")
    async def hourly(
        self, info: Info, days: int = 7, time_zone: TimeZoneArg = None, first: FirstArg = MAX_FIRST,
        after: AfterArg = None,
    ) -> Connection[HourlyOccupancy]:
        return Connection.of_list(await hourly(info, self.id, days, time_zone), first, after)

    @strawberry.field(description="Daily rollups of the last `days`")
    async def daily(
        self, info: Info, days: int = 30, time_zone: TimeZoneArg = None, first: FirstArg = MAX_FIRST,
        after: AfterArg = None,
    ) -> Connection[DailyOccupancy]:
        return Connection.of_list(await daily(info, self.id, days, time_zone), first, after)

    @strawberry.field(description="Monthly rollups of the last `months`")
    async def monthly(
        self, info: Info, months: int = 12, time_zone: TimeZoneArg = None, first: FirstArg = MAX_FIRST,
        after: AfterArg = None,
    ) -> Connection[MonthlyOccupancy]:
        return Connection.of_list(await monthly(info, self.id, months, time_zone), first, after)


@strawberry.federation.type(keys=["id"], description="A line in a camera's frame; crossings count entries/exits.")
class VirtualLine:
    id: strawberry.ID
    camera_id: strawberry.ID = strawberry.field(description="The camera's id (`Camera.id`: its key)")
    camera_number: strawberry.Private[int]
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
    def from_proto(cls, line: occupancy_pb2.VirtualLine, camera: str) -> VirtualLine:
        return cls(
            id=strawberry.ID(str(line.id)),
            camera_id=strawberry.ID(camera),
            camera_number=line.camera_id,
            line_name=line.line_name,
            x1=line.x1,
            y1=line.y1,
            x2=line.x2,
            y2=line.y2,
            # UNSPECIFIED counts both ways (the services' reading of an unset direction).
            direction=from_proto_enum(LineDirection, line.direction, LineDirection.BIDIRECTIONAL),  # type: ignore[arg-type]
            confidence_threshold=line.confidence_threshold,
            is_active=line.is_active,
            created_at=to_datetime(line.created_at),
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> VirtualLine | None:
        caller_of(info).principal.require(READERS)
        try:
            line = await occupancy(info).get_line(info.context.caller, parse_id(id))
        except NotFound:
            return None
        return VirtualLine.from_proto(line, await camera_key(info, line.camera_id))

    @strawberry.field
    async def camera(self, info: Info) -> Camera | None:
        return await nested_camera(info, self.camera_number)
