"""Vision events on NATS: what a frame's crossings, zone visits and track ends become, and their ids.

Subjects are `footfall.<org>.vision.<event>`:

=================  ===========================  ==========================================
event              payload                      when
=================  ===========================  ==========================================
``crossing``       ``LineCrossed``              a tracked person crossed a counting line
``zone_entered``   ``ZoneEntered``              a person entered a polygon zone
``zone_exited``    ``ZoneExited``               a person left a zone (or was lost inside it)
``track_ended``    ``TrackEnded``               a person left the view; their path is a journey
``source_status``  ``CameraSourceStatusChanged``  a source connected, dropped, failed or stopped
``face_crop``      ``FaceCropObserved``         a track's first usable face crop, then clearly better ones
=================  ===========================  ==========================================

Event ids are deterministic: a uuid5 of the organisation, camera, stream session, track, line or zone and
frame. Publishing the same event again (a retry, or a stream restarted with the same session id after a
crash) yields the same `Nats-Msg-Id`, which JetStream drops inside its duplicate window and consumers drop
by id after it.

:class:`EventPublisher` publishes in order from one background task, so the analysis loop never waits for
NATS unless the queue is full (then it waits: events are never dropped).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from footfall.v1 import common_pb2, events_pb2
from google.protobuf.message import Message

from footfall.services.core.events import EventBus, make_envelope
from footfall.services.core.tasks import cancel_and_wait
from footfall.services.core.timestamps import to_timestamp
from footfall.services.vision.faces import FaceCrop
from footfall.services.vision.lines import LineCrossing
from footfall.services.vision.track import TrackEnd
from footfall.services.vision.zones import ZoneEvent

log = logging.getLogger(__name__)

SERVICE = "vision"
CROSSING = "crossing"
ZONE_ENTERED = "zone_entered"
ZONE_EXITED = "zone_exited"
TRACK_ENDED = "track_ended"
SOURCE_STATUS = "source_status"
FACE_CROP = "face_crop"

# Fixed namespace for the uuid5 event ids (never change it: ids of replayed events must not change).
EVENT_NAMESPACE = uuid.UUID("5d0f8c36-93a5-4a4f-9a7e-2b1f6a0c7e11")
MAX_PATH_POINTS = 500

CROSSING_DIRECTIONS = {"in": common_pb2.CROSSING_DIRECTION_IN, "out": common_pb2.CROSSING_DIRECTION_OUT}


def event_id(*parts: object) -> str:
    """A deterministic event id: uuid5 over the parts joined by `/`."""
    return str(uuid.uuid5(EVENT_NAMESPACE, "/".join(str(p) for p in parts)))


def crossing_event_id(org: str, camera_id: str, session_id: str, track_id: str, line: str,
                      frame_index: int, direction: str) -> str:
    return event_id(CROSSING, org, camera_id, session_id, track_id, line, frame_index, direction)


_ts = to_timestamp


@dataclass(frozen=True)
class EventContext:
    """Who and where: what every event of one camera stream session shares."""

    org: str
    camera_id: str
    session_id: str
    # Stream time (seconds) -> wall-clock time of the event.
    wall_time: Callable[[float], datetime]
    # Tracker id -> the published track id.
    track_key: Callable[[int], str]
    # Line name -> occupancy line id (0 when unknown).
    line_ids: dict[str, int]
    frame_size: tuple[int, int] | None = None


@dataclass(frozen=True)
class Outgoing:
    """One event ready to publish."""

    event: str
    event_id: str
    payload: Message
    occurred_at: datetime


def crossing_event(ctx: EventContext, crossing: LineCrossing) -> Outgoing:
    track_id = ctx.track_key(crossing.track_id)
    at = ctx.wall_time(crossing.timestamp)
    payload = events_pb2.LineCrossed(
        camera_id=ctx.camera_id, line_id=ctx.line_ids.get(crossing.line, 0), line_name=crossing.line,
        direction=CROSSING_DIRECTIONS[crossing.direction], track_id=track_id, confidence=float(crossing.confidence),
        frame_index=int(crossing.frame_index),
        anchor=common_pb2.Point(x=float(crossing.point[0]), y=float(crossing.point[1])),
    )
    payload.occurred_at.CopyFrom(_ts(at))
    eid = crossing_event_id(ctx.org, ctx.camera_id, ctx.session_id, track_id, crossing.line,
                            crossing.frame_index, crossing.direction)
    return Outgoing(CROSSING, eid, payload, at)


def zone_event(ctx: EventContext, event: ZoneEvent) -> Outgoing:
    track_id = ctx.track_key(event.track_id)
    at = ctx.wall_time(event.timestamp)
    payload: Message
    if event.kind == "enter":
        entered = events_pb2.ZoneEntered(
            camera_id=ctx.camera_id, zone_name=event.zone, track_id=track_id, frame_index=int(event.frame_index),
        )
        if event.anchor is not None:
            entered.anchor.CopyFrom(common_pb2.Point(x=float(event.anchor[0]), y=float(event.anchor[1])))
        if event.track_first_seen is not None:
            entered.track_first_seen_at.CopyFrom(_ts(ctx.wall_time(event.track_first_seen)))
        payload, name = entered, ZONE_ENTERED
    else:
        payload = events_pb2.ZoneExited(
            camera_id=ctx.camera_id, zone_name=event.zone, track_id=track_id, frame_index=int(event.frame_index),
            dwell_seconds=float(event.dwell_seconds or 0.0), reason=event.reason or "left",
        )
        name = ZONE_EXITED
    payload.occurred_at.CopyFrom(_ts(at))  # type: ignore[attr-defined]
    eid = event_id(name, ctx.org, ctx.camera_id, ctx.session_id, track_id, event.zone, event.frame_index)
    return Outgoing(name, eid, payload, at)


def _thin(points: Sequence[object], limit: int) -> list[object]:
    if len(points) <= limit:
        return list(points)
    step = (len(points) - 1) / (limit - 1)
    return [points[round(i * step)] for i in range(limit)]


def track_end_event(ctx: EventContext, end: TrackEnd) -> Outgoing:
    track_id = ctx.track_key(end.track_id)
    at = ctx.wall_time(end.ended_time)
    payload = events_pb2.TrackEnded(
        camera_id=ctx.camera_id, track_id=track_id, hits=int(end.hits), mean_confidence=float(end.mean_confidence),
    )
    payload.first_seen_at.CopyFrom(_ts(ctx.wall_time(end.first_seen_time)))
    payload.last_seen_at.CopyFrom(_ts(ctx.wall_time(end.last_seen_time)))
    payload.occurred_at.CopyFrom(_ts(at))
    if ctx.frame_size is not None:
        payload.frame_width, payload.frame_height = int(ctx.frame_size[0]), int(ctx.frame_size[1])
    for p in _thin(end.path, MAX_PATH_POINTS):
        point = payload.path.add()
        point.point.x, point.point.y = float(p.point[0]), float(p.point[1])  # type: ignore[attr-defined]
        point.observed_at.CopyFrom(_ts(ctx.wall_time(p.timestamp)))  # type: ignore[attr-defined]
    eid = event_id(TRACK_ENDED, ctx.org, ctx.camera_id, ctx.session_id, track_id)
    return Outgoing(TRACK_ENDED, eid, payload, at)


def face_crop_event(ctx: EventContext, crop: FaceCrop) -> Outgoing:
    """A track's ``sequence``-th crop: its id names the track and the sequence, not the frame, so a replayed
    stream session republishes the same ids even where timing picked another frame."""
    track_id = ctx.track_key(crop.track_id)
    at = ctx.wall_time(crop.timestamp)
    q = crop.quality
    payload = events_pb2.FaceCropObserved(
        camera_id=ctx.camera_id, track_id=track_id, crop_jpeg=crop.jpeg, box_x1=crop.box[0], box_y1=crop.box[1],
        box_x2=crop.box[2], box_y2=crop.box[3], detection_score=float(crop.detection_score),
        landmarks=[common_pb2.Point(x=float(x), y=float(y)) for x, y in crop.landmarks],
        quality_score=float(q.score), sharpness=float(q.sharpness), face_size=float(q.size), frontal=float(q.frontal),
        frame_index=int(crop.frame_index),
        position=common_pb2.Point(x=float(crop.position[0]), y=float(crop.position[1])),
    )
    payload.observed_at.CopyFrom(_ts(at))
    eid = event_id(FACE_CROP, ctx.org, ctx.camera_id, ctx.session_id, track_id, crop.sequence)
    return Outgoing(FACE_CROP, eid, payload, at)


def status_event(camera_id: str, status: str, detail: str, at: datetime | None = None) -> Outgoing:
    at = at or datetime.now(UTC)
    payload = events_pb2.CameraSourceStatusChanged(camera_id=camera_id, status=status, detail=detail)
    payload.occurred_at.CopyFrom(_ts(at))
    return Outgoing(SOURCE_STATUS, str(uuid.uuid4()), payload, at)


class EventPublisher:
    """Publishes vision events in order from a background task (at-least-once, with stable ids)."""

    def __init__(self, bus: EventBus, *, max_queued: int = 10_000) -> None:
        self.bus = bus
        self._queue: asyncio.Queue[tuple[str, Outgoing]] = asyncio.Queue(maxsize=max_queued)
        self._task: asyncio.Task[None] | None = None
        self.published = 0
        self.failed = 0

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="vision-publisher")

    async def put(self, org: str, events: Sequence[Outgoing]) -> None:
        """Queue events for publishing; waits only when the queue is full."""
        for event in events:
            await self._queue.put((org, event))

    async def flush(self, timeout: float = 30.0) -> None:
        """Wait until every queued event has been published (or given up on)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), timeout)

    async def stop(self, timeout: float = 10.0) -> None:
        await self.flush(timeout)
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None

    async def _run(self) -> None:
        while True:
            org, event = await self._queue.get()
            try:
                envelope = make_envelope(org, SERVICE, event.event, event.payload, event_id=event.event_id,
                                         occurred_at=event.occurred_at)
                delay = 1.0
                while True:
                    try:
                        await self.bus.publish(envelope)
                        break
                    except asyncio.CancelledError:
                        raise
                    except Exception as err:  # noqa: BLE001
                        # bus.publish retried for its deadline already; keep the same id and try again, so
                        # NATS being down stalls the analysis (queue full) instead of losing counts.
                        self.failed += 1
                        log.warning("publishing vision %s event %s for %s failed (%s); retrying in %.0fs",
                                    event.event, event.event_id, org, err, delay)
                        await asyncio.sleep(delay)
                        delay = min(delay * 2, 30.0)
                self.published += 1
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("could not build vision %s event %s for %s", event.event, event.event_id, org)
            finally:
                self._queue.task_done()
