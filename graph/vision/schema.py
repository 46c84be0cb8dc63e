"""Vision in GraphQL: camera streams, the people tracked on them, and a live track subscription.

Resolvers are thin: one call to `VisionService` over gRPC (`VisionClient`) with the caller's credential, then
the reply as GraphQL types; root fields check the caller's role.

A camera is named by its public id, `Camera.id`: its key (`GATE_A`), the same id every other field takes.

    query { visionStreams { totalCount nodes { cameraId status fps frames lines { name inCount outCount } } } }
    query { tracks(cameraId: "GATE_A") { frameIndex tracks { trackId box { x1 y1 x2 y2 } confidence } } }
    mutation { startStream(input: {cameraId: "GATE_A", url: "rtsp://..."}) { status sessionId } }
    subscription { trackUpdates(cameraId: "GATE_A") { frameIndex tracks { trackId } crossings { lineName direction } } }
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry
from footfall.graph.core.context import Info
from footfall.graph.core.convert import to_datetime
from footfall.graph.core.pagination import DEFAULT_FIRST, AfterArg, Connection, FirstArg
from footfall.graph.core.schema import (
    CanFeed,
    CanRead,
    CrossingDirection,
    LineDirection,
    SchemaModule,
    from_proto_enum,
)
from footfall.graph.vision.client import VisionClient
from footfall.services.core.errors import InvalidArgument
from footfall.v1 import common_pb2, vision_pb2

CAMERA_ID = "The camera's id (`Camera.id`: its key, e.g. `GATE_A`)"
CameraIdArg = Annotated[strawberry.ID, strawberry.argument(description=CAMERA_ID)]


@strawberry.enum(description="The state of a camera stream.")
class StreamStatus(Enum):
    CONNECTING = vision_pb2.STREAM_STATUS_CONNECTING
    CONNECTED = vision_pb2.STREAM_STATUS_CONNECTED
    RECONNECTING = vision_pb2.STREAM_STATUS_RECONNECTING
    FAILED = vision_pb2.STREAM_STATUS_FAILED
    STOPPED = vision_pb2.STREAM_STATUS_STOPPED


def _direction(value: int) -> LineDirection:
    # UNSPECIFIED counts both ways (the vision service's reading of an unset direction).
    return from_proto_enum(LineDirection, value, LineDirection.BIDIRECTIONAL)  # type: ignore[return-value]


def _vision(info: Info) -> VisionClient:
    return info.context.client(VisionClient)


@strawberry.type(description="A point in frame pixels.")
class FramePoint:
    x: float
    y: float


@strawberry.type(description="A box in frame pixels.")
class BoundingBox:
    x1: float
    y1: float
    x2: float
    y2: float

    @classmethod
    def from_proto(cls, b: vision_pb2.BoundingBox) -> BoundingBox:
        return cls(x1=b.x1, y1=b.y1, x2=b.x2, y2=b.y2)


@strawberry.type(description="A person tracked on a camera.")
class TrackedPerson:
    track_id: strawberry.ID
    camera_id: strawberry.ID = strawberry.field(description=CAMERA_ID)
    box: BoundingBox
    confidence: float
    observed: bool = strawberry.field(description="False while briefly hidden: the box is the predicted position")
    first_seen_at: datetime | None
    last_seen_at: datetime | None
    user_id: strawberry.ID | None = strawberry.field(
        default=None, description="The recognised customer's id; null until the identity service knows them")
    name: str | None = None
    loyalty_status: str | None = strawberry.field(default=None, description="bronze, silver, gold or platinum")
    identification_confidence: float = strawberry.field(default=0.0, description="0..1; 0 while unknown")

    @classmethod
    def from_proto(cls, t: vision_pb2.Track) -> TrackedPerson:
        who = t.identity if t.HasField("identity") else None
        return cls(track_id=strawberry.ID(t.track_id), camera_id=strawberry.ID(t.camera_id), box=BoundingBox.from_proto(t.box),
                   confidence=t.confidence, observed=t.observed, first_seen_at=to_datetime(t.first_seen_at),
                   last_seen_at=to_datetime(t.last_seen_at),
                   user_id=strawberry.ID(str(who.customer_id)) if who else None, name=(who.name or None) if who else None,
                   loyalty_status=(who.loyalty_status or None) if who else None,
                   identification_confidence=who.confidence if who else 0.0)


@strawberry.type(description="The people tracked on a camera at its latest frame.")
class CameraTracks:
    camera_id: strawberry.ID = strawberry.field(description=CAMERA_ID)
    frame_index: int
    timestamp: datetime | None
    tracks: list[TrackedPerson]


@strawberry.type(description="A counting line of a stream and what it counted.")
class CountingLine:
    line_id: strawberry.ID | None = strawberry.field(description="The occupancy virtual line id, when it has one")
    name: str
    start: FramePoint
    end: FramePoint
    direction: LineDirection
    in_count: int
    out_count: int


@strawberry.type
class VisionZone:
    name: str
    points: list[FramePoint]


@strawberry.type(description="A camera's stream (a source read by the vision service, or pushed frames).")
class VisionStream:
    camera_id: strawberry.ID = strawberry.field(description=CAMERA_ID)
    source: str
    status: StreamStatus | None = strawberry.field(description="Null for a state this gateway does not know")
    status_detail: str
    fps: float
    frames: int
    frames_skipped: int
    active_tracks: int
    frame_width: int
    frame_height: int
    session_id: str
    started_at: datetime | None
    last_frame_at: datetime | None
    reconnects: int
    lines: list[CountingLine]
    zones: list[VisionZone]
    worker: str = strawberry.field(default="", description=(
        "The vision worker running the stream; empty while none does (after its worker died, until another "
        "takes it over)"))

    @classmethod
    def from_proto(cls, s: vision_pb2.Stream) -> VisionStream:
        counts = {c.line_name: c for c in s.line_counts}
        lines = []
        for line in s.lines:
            count = counts.get(line.name)
            lines.append(CountingLine(
                line_id=strawberry.ID(str(line.line_id)) if line.line_id else None, name=line.name,
                start=FramePoint(x=line.start.x, y=line.start.y), end=FramePoint(x=line.end.x, y=line.end.y),
                direction=_direction(line.direction),
                in_count=count.in_count if count else 0, out_count=count.out_count if count else 0,
            ))
        return cls(
            camera_id=strawberry.ID(s.camera_id), source=s.source, status=from_proto_enum(StreamStatus, s.status),
            status_detail=s.status_detail, fps=round(s.fps, 2), frames=s.frames, frames_skipped=s.frames_skipped,
            active_tracks=s.active_tracks, frame_width=s.frame_width, frame_height=s.frame_height,
            session_id=s.session_id, started_at=to_datetime(s.started_at), last_frame_at=to_datetime(s.last_frame_at),
            reconnects=s.reconnects, lines=lines,
            zones=[VisionZone(name=z.name, points=[FramePoint(x=p.x, y=p.y) for p in z.points]) for z in s.zones],
            worker=s.worker,
        )


@strawberry.type(description="A crossing of a counting line (also published on NATS).")
class VisionCrossing:
    event_id: str
    line_id: strawberry.ID | None
    line_name: str
    direction: CrossingDirection
    track_id: strawberry.ID
    confidence: float
    frame_index: int
    occurred_at: datetime | None


@strawberry.type(description="One analysed frame of a camera: who is tracked, what they crossed, who left.")
class TrackUpdate:
    camera_id: strawberry.ID = strawberry.field(description=CAMERA_ID)
    frame_index: int
    timestamp: datetime | None
    tracks: list[TrackedPerson]
    crossings: list[VisionCrossing]
    ended_track_ids: list[strawberry.ID]

    @classmethod
    def from_proto(cls, u: vision_pb2.WatchTracksResponse) -> TrackUpdate:
        return cls(
            camera_id=strawberry.ID(u.camera_id), frame_index=u.frame_index, timestamp=to_datetime(u.timestamp),
            tracks=[TrackedPerson.from_proto(t) for t in u.tracks],
            crossings=[
                VisionCrossing(
                    event_id=c.event_id, line_id=strawberry.ID(str(c.line_id)) if c.line_id else None,
                    line_name=c.line_name, direction=from_proto_enum(CrossingDirection, c.direction, CrossingDirection.IN),  # type: ignore[arg-type]
                    track_id=strawberry.ID(c.track_id), confidence=c.confidence, frame_index=c.frame_index,
                    occurred_at=to_datetime(c.occurred_at),
                )
                for c in u.crossings
            ],
            ended_track_ids=[strawberry.ID(t) for t in u.ended_track_ids],
        )


# Inputs


@strawberry.input(description="A counting line in frame pixels (in = crossing from the right-hand side of "
                              "the start->end direction to its left).")
class CountingLineInput:
    name: str
    x1: float
    y1: float
    x2: float
    y2: float
    direction: LineDirection = LineDirection.BIDIRECTIONAL
    line_id: strawberry.ID | None = strawberry.field(default=None, description="The occupancy line it stands for")
    hysteresis_px: float | None = None


@strawberry.input
class FramePointInput:
    x: float
    y: float


@strawberry.input
class ZoneInput:
    name: str
    points: list[FramePointInput]


@strawberry.input(description="Give exactly one of url, path and deviceIndex.")
class StartStreamInput:
    camera_id: strawberry.ID = strawberry.field(description=CAMERA_ID)
    url: str | None = None
    path: str | None = None
    device_index: int | None = None
    lines: list[CountingLineInput] | None = strawberry.field(
        default=None, description="When omitted, the occupancy service's lines for the camera are used")
    zones: list[ZoneInput] | None = None
    max_fps: float = 0.0
    loop: bool = False
    realtime: bool = False
    max_frames: int = 0
    max_reconnect_attempts: int = 0
    session_id: str | None = None
    face_crops: bool | None = strawberry.field(
        default=None, description="Send each track's best face crop to the identity service (default: the server's)")
    blur_faces: bool = strawberry.field(default=False, description="Blur faces on the images this stream sends out")


def _start_request(data: StartStreamInput) -> vision_pb2.StartStreamRequest:
    given = [name for name in ("url", "path", "device_index") if getattr(data, name) is not None]
    if len(given) != 1:
        raise InvalidArgument("give exactly one source: url, path or deviceIndex")
    request = vision_pb2.StartStreamRequest(
        camera_id=str(data.camera_id), max_fps=data.max_fps, loop=data.loop, realtime=data.realtime,
        max_frames=data.max_frames, max_reconnect_attempts=data.max_reconnect_attempts, session_id=data.session_id or "",
        blur_faces=data.blur_faces,
    )
    if data.face_crops is not None:
        request.face_crops = data.face_crops
    if data.url is not None:
        request.url = data.url
    elif data.path is not None:
        request.path = data.path
    else:
        request.device_index = int(data.device_index or 0)
    for line in data.lines or ():
        try:
            line_id = int(str(line.line_id)) if line.line_id is not None else 0
        except ValueError:
            raise InvalidArgument(f"lineId must be a numeric id, not {line.line_id!r}") from None
        counting = request.lines.add(
            line_id=line_id, name=line.name, start=common_pb2.Point(x=line.x1, y=line.y1),
            end=common_pb2.Point(x=line.x2, y=line.y2),
            direction=line.direction.value,
        )
        if line.hysteresis_px is not None:
            counting.hysteresis_px = line.hysteresis_px
    for zone in data.zones or ():
        request.zones.add(name=zone.name, points=[common_pb2.Point(x=p.x, y=p.y) for p in zone.points])
    return request


# Root types


@strawberry.type
class VisionQuery:
    @strawberry.field(permission_classes=[CanRead], description="The people tracked on a camera at its latest frame")
    async def tracks(self, info: Info, camera_id: CameraIdArg) -> CameraTracks:
        reply = await _vision(info).list_tracks(info.context.caller, str(camera_id))
        return CameraTracks(camera_id=strawberry.ID(reply.camera_id), frame_index=reply.frame_index,
                            timestamp=to_datetime(reply.timestamp),
                            tracks=[TrackedPerson.from_proto(t) for t in reply.tracks])

    @strawberry.field(permission_classes=[CanRead], description="Camera streams of the organisation (sorted by camera id)")
    async def vision_streams(
        self, info: Info, first: FirstArg = DEFAULT_FIRST, after: AfterArg = None
    ) -> Connection[VisionStream]:
        streams: list[VisionStream] = []
        token = ""
        while True:
            reply = await _vision(info).list_streams(info.context.caller, 0, token)
            streams += [VisionStream.from_proto(s) for s in reply.streams]
            token = reply.next_page_token
            if not token:
                return Connection.of_list(streams, first, after)

    @strawberry.field(permission_classes=[CanRead], description="One camera's stream")
    async def vision_stream(self, info: Info, camera_id: CameraIdArg) -> VisionStream:
        return VisionStream.from_proto(await _vision(info).get_stream(info.context.caller, str(camera_id)))


@strawberry.type
class VisionMutation:
    @strawberry.mutation(permission_classes=[CanFeed], description="Start analysing a camera's source (file, stream URL or local device)")
    async def start_stream(self, info: Info, input: StartStreamInput) -> VisionStream:
        stream = await _vision(info).start_stream(info.context.caller, _start_request(input))
        return VisionStream.from_proto(stream)

    @strawberry.mutation(permission_classes=[CanFeed], description="Stop a camera's stream; its open tracks end")
    async def stop_stream(self, info: Info, camera_id: CameraIdArg) -> VisionStream:
        return VisionStream.from_proto(await _vision(info).stop_stream(info.context.caller, str(camera_id)))


@strawberry.type
class VisionSubscription:
    @strawberry.subscription(permission_classes=[CanRead], description="Every analysed frame's tracks, of one camera or of all cameras")
    async def track_updates(
        self, info: Info, camera_id: Annotated[strawberry.ID | None, strawberry.argument(description=CAMERA_ID)] = None
    ) -> AsyncGenerator[TrackUpdate, None]:
        updates = _vision(info).watch_tracks(info.context.caller, str(camera_id) if camera_id else "")
        async with aclosing(updates):
            async for update in updates:
                yield TrackUpdate.from_proto(update)


TYPES = (VisionStream, TrackedPerson, TrackUpdate)
MODULE = SchemaModule(
    "vision", query=VisionQuery, mutation=VisionMutation, subscription=VisionSubscription, types=TYPES
)
