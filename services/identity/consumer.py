"""NATS -> persons: the durable consumer of `<prefix>.*.vision.face_crop` (`FaceCropObserved`).

Each event goes through `Sightings.apply` (its id claimed in the transaction that applies it); a batch is
acked once every event of it was applied, or nak'ed and redelivered when one failed (the vector store or
the audit log unreachable), and events applied before the failure change nothing the second time.

Once applied, a crop event is deleted from the JetStream stream: it is the only place a face image travels
on NATS, and keeping it for the stream's max age would outlive the unknown-face retention and erasure.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC

from footfall.inference.faces import FaceQuality
from footfall.services.core.events import DurableConsumer, EventBus, ReceivedEvent, payload_of, subject_org
from footfall.services.identity.sightings import CONSUMER, CropSighting, Sightings
from footfall.v1 import events_pb2

log = logging.getLogger(__name__)

DURABLE = CONSUMER.replace(".", "_")
SOURCE, EVENT = "vision", "face_crop"


def decode(event: ReceivedEvent) -> CropSighting | None:
    m = payload_of(event, events_pb2.FaceCropObserved)
    if m is None:
        return None
    envelope = event.envelope
    assert envelope is not None
    if not m.camera_id or not m.track_id:
        log.warning("dropping face crop %s without camera or track", envelope.event_id)
        return None
    seen = m.observed_at if m.HasField("observed_at") else envelope.occurred_at
    return CropSighting(
        event_id=envelope.event_id, camera_id=m.camera_id, track_id=m.track_id, crop_jpeg=m.crop_jpeg,
        box=(m.box_x1, m.box_y1, m.box_x2, m.box_y2), score=m.detection_score,
        landmarks=tuple((p.x, p.y) for p in m.landmarks),
        quality=FaceQuality(m.sharpness, m.face_size, m.frontal, m.quality_score),
        observed_at=seen.ToDatetime(tzinfo=UTC),
        position=(m.position.x, m.position.y) if m.HasField("position") else None,
    )


class FaceCropConsumer(DurableConsumer):
    def __init__(self, sightings: Sightings, bus: EventBus, *, durable: str = DURABLE, batch: int = 10,
                 ack_wait_s: float = 60.0) -> None:
        super().__init__(bus, durable, bus.subject("*", SOURCE, EVENT), batch=batch, ack_wait_s=ack_wait_s)
        self.sightings = sightings

    async def handle(self, batch: Sequence[ReceivedEvent]) -> None:
        for received in batch:
            org = subject_org(received, "face crop")
            if org is None:
                await self._forget(received)
                continue
            sighting = decode(received)
            if sighting is not None:
                if received.envelope is not None and received.envelope.organization_id not in ("", org):
                    log.warning("face crop %s names another organisation than its subject; dropped",
                                sighting.event_id)
                else:
                    await self.sightings.apply(org, sighting)
            await self._forget(received)

    async def _forget(self, received: ReceivedEvent) -> None:
        """Delete the crop from the stream (it carries a face); a failure leaves it to the stream's max age."""
        metadata = received.msg.metadata if received.msg.reply else None
        if metadata is None:
            return
        try:
            await self.bus.js.delete_msg(self.bus.stream, metadata.sequence.stream)
        except Exception as err:  # noqa: BLE001 - any failure only leaves the crop to the stream's max age
            log.warning("could not delete face crop %s from the stream: %s", metadata.sequence.stream, err)
