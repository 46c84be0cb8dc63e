"""gRPC adapter of the vision service: protobuf <-> domain, domain errors -> status codes. No logic here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC

import grpc
from footfall.v1 import common_pb2, events_pb2, vision_pb2, vision_pb2_grpc

from footfall.services.core.grpc import maps_domain_errors, org_of
from footfall.services.core.timestamps import optional_timestamp
from footfall.services.vision import publisher as pub
from footfall.services.vision.lines import LineDirection
from footfall.services.vision.camera_session import CameraSession, StreamState, TrackUpdate
from footfall.services.vision.pushed_frames import DetectionResult
from footfall.services.vision.service import VisionService
from footfall.services.vision.stream_requests import StreamRequest, make_line, make_zone
from footfall.services.vision.track import Track

SERVICE_NAME = vision_pb2.DESCRIPTOR.services_by_name["VisionService"].full_name

_STATES = {
    StreamState.CONNECTING: vision_pb2.STREAM_STATUS_CONNECTING,
    StreamState.CONNECTED: vision_pb2.STREAM_STATUS_CONNECTED,
    StreamState.RECONNECTING: vision_pb2.STREAM_STATUS_RECONNECTING,
    StreamState.FAILED: vision_pb2.STREAM_STATUS_FAILED,
    StreamState.STOPPED: vision_pb2.STREAM_STATUS_STOPPED,
}
_LINE_DIRECTIONS = {
    common_pb2.LINE_DIRECTION_UNSPECIFIED: LineDirection.BIDIRECTIONAL,
    common_pb2.LINE_DIRECTION_BIDIRECTIONAL: LineDirection.BIDIRECTIONAL,
    common_pb2.LINE_DIRECTION_ENTRY: LineDirection.ENTRY,
    common_pb2.LINE_DIRECTION_EXIT: LineDirection.EXIT,
}
_LINE_DIRECTION_VALUES = {
    LineDirection.BIDIRECTIONAL: common_pb2.LINE_DIRECTION_BIDIRECTIONAL,
    LineDirection.ENTRY: common_pb2.LINE_DIRECTION_ENTRY,
    LineDirection.EXIT: common_pb2.LINE_DIRECTION_EXIT,
}


_ts = optional_timestamp


def _box(xyxy: tuple[float, float, float, float]) -> vision_pb2.BoundingBox:
    return vision_pb2.BoundingBox(x1=float(xyxy[0]), y1=float(xyxy[1]), x2=float(xyxy[2]), y2=float(xyxy[3]))


def stream_message(session: CameraSession) -> vision_pb2.Stream:
    snapshot = session.snapshot
    message = vision_pb2.Stream(
        camera_id=session.camera_id, source=session.source, status=_STATES[session.state],
        status_detail=session.detail, fps=session.fps, frames=session.frames, frames_skipped=session.frames_skipped,
        active_tracks=len(snapshot.tracks) if snapshot is not None else 0, session_id=session.session_id,
        started_at=_ts(session.started_at), last_frame_at=_ts(session.last_frame_at), reconnects=session.reconnects,
    )
    if session.frame_size is not None:
        message.frame_width, message.frame_height = session.frame_size
    lines = session.lines or session.line_set.lines
    for line in lines:
        zone = line.zone
        counting = message.lines.add(
            line_id=line.line_id, name=zone.name, start=common_pb2.Point(x=zone.start[0], y=zone.start[1]),
            end=common_pb2.Point(x=zone.end[0], y=zone.end[1]), direction=_LINE_DIRECTION_VALUES[zone.direction],
        )
        if zone.hysteresis_px is not None:
            counting.hysteresis_px = zone.hysteresis_px
        counts = session.line_counts.get(zone.name, {})
        message.line_counts.add(line_id=line.line_id, line_name=zone.name, in_count=counts.get("in", 0),
                                out_count=counts.get("out", 0))
    for z in session.zones:
        message.zones.add(name=z.name, points=[common_pb2.Point(x=x, y=y) for x, y in z.points])
    return message


def track_message(session: CameraSession, track: Track) -> vision_pb2.Track:
    message = vision_pb2.Track(
        camera_id=session.camera_id, track_id=session.track_key(track.track_id), box=_box(track.xyxy),
        confidence=float(track.confidence), observed=track.observed,
        first_seen_at=_ts(session.wall_time(track.first_seen_time)),
        last_seen_at=_ts(session.wall_time(track.last_seen_time)),
    )
    who = session.identity_of(track.track_id)
    if who is not None:
        message.identity.CopyFrom(vision_pb2.TrackIdentity(
            customer_id=who.customer_id, name=who.name or "", loyalty_status=who.loyalty_status or "",
            confidence=who.confidence,
        ))
    return message


def crossing_message(event: pub.Outgoing) -> vision_pb2.Crossing:
    payload = event.payload
    assert isinstance(payload, events_pb2.LineCrossed)
    return vision_pb2.Crossing(
        event_id=event.event_id, line_id=payload.line_id, line_name=payload.line_name, direction=payload.direction,
        track_id=payload.track_id, confidence=payload.confidence, frame_index=payload.frame_index,
        occurred_at=payload.occurred_at, point=payload.anchor,
    )


def detection_message(detection: DetectionResult) -> vision_pb2.Detection:
    return vision_pb2.Detection(box=_box(detection.box), confidence=detection.confidence,
                                track_id=detection.track_id)


def stream_request(request: vision_pb2.StartStreamRequest) -> StreamRequest:
    which = request.WhichOneof("source")
    target: str | int
    if which == "url":
        kind, target = "url", request.url
    elif which == "path":
        kind, target = "path", request.path
    elif which == "device_index":
        kind, target = "device", request.device_index
    else:
        kind, target = "", ""
    lines = tuple(
        make_line(
            line.name, (line.start.x, line.start.y), (line.end.x, line.end.y),
            _LINE_DIRECTIONS.get(line.direction, LineDirection.BIDIRECTIONAL), line_id=line.line_id,
            hysteresis_px=line.hysteresis_px if line.HasField("hysteresis_px") else None,
        )
        for line in request.lines
    )
    zones = tuple(make_zone(z.name, [(p.x, p.y) for p in z.points]) for z in request.zones)
    return StreamRequest(
        camera_id=request.camera_id, kind=kind, target=target, lines=lines, zones=zones,  # type: ignore[arg-type]
        max_fps=request.max_fps, loop=request.loop, realtime=request.realtime, max_frames=request.max_frames,
        max_reconnect_attempts=request.max_reconnect_attempts, session_id=request.session_id,
        face_crops=request.face_crops if request.HasField("face_crops") else None, blur_faces=request.blur_faces,
    )


def watch_message(update: TrackUpdate) -> vision_pb2.WatchTracksResponse:
    session = update.session
    return vision_pb2.WatchTracksResponse(
        camera_id=update.camera_id, frame_index=update.frame_index, timestamp=_ts(update.wall_time),
        tracks=[track_message(session, t) for t in update.tracks],
        crossings=[crossing_message(c) for c in update.crossings],
        ended_track_ids=list(update.ended_track_ids),
    )


class VisionServicer(vision_pb2_grpc.VisionServiceServicer):
    def __init__(self, service: VisionService, default_org: str) -> None:
        self.service = service
        self.default_org = default_org

    def _org(self, context: grpc.aio.ServicerContext) -> str:
        return org_of(context)

    @maps_domain_errors
    async def StartStream(self, request: vision_pb2.StartStreamRequest, context: grpc.aio.ServicerContext
                          ) -> vision_pb2.StartStreamResponse:
        org = self._org(context)
        session = await self.service.start_stream(org, stream_request(request))
        return vision_pb2.StartStreamResponse(stream=stream_message(session))

    @maps_domain_errors
    async def StopStream(self, request: vision_pb2.StopStreamRequest, context: grpc.aio.ServicerContext
                         ) -> vision_pb2.StopStreamResponse:
        session = await self.service.stop_stream(self._org(context), request.camera_id)
        return vision_pb2.StopStreamResponse(stream=stream_message(session))

    @maps_domain_errors
    async def GetStream(self, request: vision_pb2.GetStreamRequest, context: grpc.aio.ServicerContext
                        ) -> vision_pb2.GetStreamResponse:
        session = await self.service.get_stream(self._org(context), request.camera_id)
        return vision_pb2.GetStreamResponse(stream=stream_message(session))

    @maps_domain_errors
    async def ListStreams(self, request: vision_pb2.ListStreamsRequest, context: grpc.aio.ServicerContext
                          ) -> vision_pb2.ListStreamsResponse:
        sessions, token = await self.service.list_streams(self._org(context), request.page_size, request.page_token)
        return vision_pb2.ListStreamsResponse(streams=[stream_message(s) for s in sessions], next_page_token=token)

    @maps_domain_errors
    async def ProcessFrame(self, request: vision_pb2.ProcessFrameRequest, context: grpc.aio.ServicerContext
                           ) -> vision_pb2.ProcessFrameResponse:
        captured = request.captured_at.ToDatetime(tzinfo=UTC) if request.HasField("captured_at") else None
        result = await self.service.process_frame(self._org(context), request.camera_id, request.image, captured)
        session = result.session
        return vision_pb2.ProcessFrameResponse(
            camera_id=result.camera_id, frame_index=result.frame_index, timestamp=_ts(result.timestamp),
            frame_width=result.frame_size[0], frame_height=result.frame_size[1],
            detections=[detection_message(d) for d in result.detections],
            tracks=[track_message(session, t) for t in result.tracks],
            crossings=[crossing_message(c) for c in result.crossings],
        )

    @maps_domain_errors
    async def ListTracks(self, request: vision_pb2.ListTracksRequest, context: grpc.aio.ServicerContext
                         ) -> vision_pb2.ListTracksResponse:
        listing = await self.service.list_tracks(self._org(context), request.camera_id)
        reply = vision_pb2.ListTracksResponse(camera_id=listing.camera_id)
        snapshot = listing.snapshot
        if snapshot is not None:
            reply.frame_index = snapshot.frame_index
            reply.timestamp.CopyFrom(_ts(snapshot.wall_time))
            reply.tracks.extend(track_message(listing.session, t) for t in snapshot.tracks)
        return reply

    @maps_domain_errors
    async def WatchTracks(self, request: vision_pb2.WatchTracksRequest, context: grpc.aio.ServicerContext
                          ) -> AsyncIterator[vision_pb2.WatchTracksResponse]:
        updates = self.service.watch_tracks(self._org(context), request.camera_id or None)
        try:
            async for update in updates:
                yield watch_message(update)
        finally:
            await updates.aclose()

    @maps_domain_errors
    async def WatchFrames(self, request: vision_pb2.WatchFramesRequest, context: grpc.aio.ServicerContext
                          ) -> AsyncIterator[vision_pb2.WatchFramesResponse]:
        frames = self.service.watch_frames(self._org(context), request.camera_id, max_fps=request.max_fps,
                                           quality=request.quality or 80)
        try:
            async for frame in frames:
                yield vision_pb2.WatchFramesResponse(
                    jpeg=frame.jpeg, frame_index=frame.frame_index, timestamp=_ts(frame.timestamp),
                    frame_width=frame.frame_size[0], frame_height=frame.frame_size[1],
                )
        finally:
            await frames.aclose()
