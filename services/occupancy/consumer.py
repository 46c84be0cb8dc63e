"""NATS -> domain: durable pull consumers for `<prefix>.*.vision.crossing` and `<prefix>.*.vision.source_status`.

Each fetched batch is grouped by organisation (the subject's, which is authoritative) and applied with one
`OccupancyService.apply_crossings` call (one transaction) per organisation; the batch is acked only after
those transactions commit. A failure naks the batch and JetStream redelivers it; event ids are claimed in
the applying transaction, so nothing is counted twice. Envelopes that cannot be read, or whose payload or
organisation does not match the subject, are recorded as rejected and acked (redelivery cannot fix them).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from footfall.v1 import events_pb2

from footfall.services.core.events import EventBus, ReceivedEvent, subject_org
from footfall.services.occupancy import convert
from footfall.services.occupancy.domain import Crossing
from footfall.services.occupancy.pull import BatchPuller
from footfall.services.occupancy.service import OccupancyService, SourceStatus

log = logging.getLogger(__name__)

CROSSING_DURABLE = "occupancy-crossings"
SOURCE_STATUS_DURABLE = "occupancy-source-status"


class _Consumer:
    durable: str
    event: str

    def __init__(self, service: OccupancyService, bus: EventBus, *, batch: int, ack_wait_s: float) -> None:
        self.service = service
        self.bus = bus
        self.batch = batch
        self.ack_wait_s = ack_wait_s
        self._puller = BatchPuller(bus, self.durable, bus.subject("*", "vision", self.event), self.handle,
                                   batch=batch, ack_wait_s=ack_wait_s)

    def start(self) -> None:
        self._puller.start()

    async def stop(self) -> None:
        """Let the batch in progress commit and be acked, hand back what is buffered, stop fetching."""
        await self._puller.stop()

    async def handle(self, events: Sequence[ReceivedEvent]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


_ORG_BY_SUBJECT: dict[str, str | None] = {}


def _org(event: ReceivedEvent) -> str | None:
    """The subject's organisation, validated (cached per subject)."""
    subject = event.subject
    if subject in _ORG_BY_SUBJECT:
        return _ORG_BY_SUBJECT[subject]
    org = subject_org(event)
    if len(_ORG_BY_SUBJECT) > 100_000:
        _ORG_BY_SUBJECT.clear()
    _ORG_BY_SUBJECT[subject] = org
    return org


class CrossingConsumer(_Consumer):
    durable = CROSSING_DURABLE
    event = "crossing"

    async def handle(self, events: Sequence[ReceivedEvent]) -> None:
        by_org: dict[str, list[Crossing]] = {}
        bad: dict[str, list[tuple[str, str, int, str, str]]] = {}
        now = datetime.now(UTC)
        for ev in events:
            org = _org(ev)
            if org is None:
                continue
            env = ev.envelope
            if env is None:
                meta = ev.msg.metadata
                bad.setdefault(org, []).append(
                    (f"stream-seq-{meta.sequence.stream if meta else '?'}", "", 0, "", ev.error or "unreadable"))
                continue
            if env.organization_id and env.organization_id != org:
                bad.setdefault(org, []).append((env.event_id, "", 0, "",
                                                f"envelope names organisation {env.organization_id!r}"))
                continue
            payload = events_pb2.LineCrossed()
            if not env.payload.Unpack(payload):
                bad.setdefault(org, []).append((env.event_id, "", 0, "", f"payload is {env.payload.type_url}"))
                continue
            by_org.setdefault(org, []).append(convert.crossing_from_event(env, payload, now))
        for org, crossings in by_org.items():
            await self.service.apply_crossings(org, crossings)
        for org, rejections in bad.items():
            for event_id, *_, reason in rejections:
                log.warning("org %s: crossing event %s rejected: %s", org, event_id, reason)
            async with self.service.db.tenant(org) as conn:
                await self.service.store.record_rejections(conn, org, rejections)


class SourceStatusConsumer(_Consumer):
    durable = SOURCE_STATUS_DURABLE
    event = "source_status"

    async def handle(self, events: Sequence[ReceivedEvent]) -> None:
        by_org: dict[str, list[SourceStatus]] = {}
        for ev in events:
            org = _org(ev)
            if org is None or ev.envelope is None:
                continue
            payload = events_pb2.CameraSourceStatusChanged()
            if not ev.envelope.payload.Unpack(payload):
                log.warning("org %s: source_status event %s has payload %s; ignored", org, ev.envelope.event_id,
                            ev.envelope.payload.type_url)
                continue
            by_org.setdefault(org, []).append(
                SourceStatus(ev.envelope.event_id, payload.camera_id, payload.status, payload.detail))
        for org, statuses in by_org.items():
            await self.service.apply_source_status(org, statuses)
