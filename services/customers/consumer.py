"""NATS -> journeys: the durable consumer of the vision service's zone and track events."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from footfall.v1 import events_pb2

from footfall.services.core.events import DurableConsumer, EventBus, ReceivedEvent, subject_org, unpack
from footfall.services.customers.service import CONSUMER, Customers, VisionEvent

log = logging.getLogger(__name__)

SUBJECTS = ("zone_entered", "zone_exited", "track_ended")
DURABLE = CONSUMER.replace(".", "_")


def _seconds(ts: object) -> float:
    return ts.ToNanoseconds() / 1e9  # type: ignore[attr-defined]


def decode(event: ReceivedEvent) -> VisionEvent | None:
    """The builder's view of one vision event; None for events of other kinds or undecodable ones."""
    envelope = event.envelope
    if envelope is None:
        log.warning("dropping undecodable message on %s: %s", event.subject, event.error)
        return None
    kind = envelope.type or event.subject.rsplit(".", 1)[-1]
    try:
        if kind == "zone_entered":
            m = unpack(envelope, events_pb2.ZoneEntered)
            # anchor and track_first_seen_at are unset from older producers.
            point = (m.anchor.x, m.anchor.y) if m.HasField("anchor") else None
            first_seen = _seconds(m.track_first_seen_at) if m.HasField("track_first_seen_at") else None
            return VisionEvent(
                envelope.event_id, "zone_entered", m.camera_id, m.track_id,
                _seconds(m.occurred_at if m.HasField("occurred_at") else envelope.occurred_at), zone=m.zone_name,
                point=point, first_seen=first_seen,
            )
        if kind == "zone_exited":
            m = unpack(envelope, events_pb2.ZoneExited)
            return VisionEvent(
                envelope.event_id, "zone_exited", m.camera_id, m.track_id,
                _seconds(m.occurred_at if m.HasField("occurred_at") else envelope.occurred_at), zone=m.zone_name,
                dwell_s=m.dwell_seconds,
            )
        if kind == "track_ended":
            m = unpack(envelope, events_pb2.TrackEnded)
            path = tuple((_seconds(p.observed_at), p.point.x, p.point.y) for p in m.path)
            first = _seconds(m.first_seen_at) if m.HasField("first_seen_at") else (path[0][0] if path else None)
            last = _seconds(m.last_seen_at) if m.HasField("last_seen_at") else (path[-1][0] if path else None)
            occurred = m.occurred_at if m.HasField("occurred_at") else envelope.occurred_at
            return VisionEvent(
                envelope.event_id, "track_ended", m.camera_id, m.track_id, _seconds(occurred),
                first_seen=first, last_seen=last, path=path,
            )
    except ValueError as err:
        log.warning("dropping vision event %s: %s", envelope.event_id, err)
        return None
    return None


class JourneyConsumer(DurableConsumer):
    """Feeds every organisation's vision zone/track events into :meth:`Customers.apply_vision_events`."""

    def __init__(
        self, customers: Customers, bus: EventBus, *, durable: str = DURABLE, batch: int = 500, org: str = "*",
    ) -> None:
        # One durable consumer over `<prefix>.*.vision.*` keeps each camera's events in publish order.
        super().__init__(bus, durable, bus.subject(org, "vision", "*"), batch=batch)
        self.customers = customers
        self.org = org  # "*": every organisation (one org: a dedicated consumer, as tests use)

    async def handle(self, batch: Sequence[ReceivedEvent]) -> None:
        by_org: dict[str, list[VisionEvent]] = {}
        for received in batch:
            if received.subject.rsplit(".", 1)[-1] not in SUBJECTS:
                continue
            org = subject_org(received, "vision event")
            if org is None:
                continue
            ev = decode(received)
            if ev is None or not ev.camera_id or not ev.track_id:
                continue
            by_org.setdefault(org, []).append(ev)
        for org, events in by_org.items():
            await self.customers.apply_vision_events(org, events)
