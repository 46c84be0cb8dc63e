"""NATS -> recommendations: the durable consumer of `<prefix>.*.identity.customer_identified`.

Each event is applied through `Promotions.apply_identification` (its id claimed in the same transaction);
the batch is acked after every event of it was applied, or nak'ed and redelivered when one failed (the
customers service unreachable, say), and the events applied before the failure change nothing the second
time. Envelopes that cannot be read are dropped with a log line (redelivery cannot fix them).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC

from footfall.services.core.events import DurableConsumer, EventBus, ReceivedEvent, payload_of, subject_org
from footfall.services.promotions.domain import Identification
from footfall.services.promotions.service import CONSUMER, Promotions
from footfall.v1 import events_pb2

log = logging.getLogger(__name__)

DURABLE = CONSUMER.replace(".", "_")
SOURCE, EVENT = "identity", "customer_identified"


def decode(event: ReceivedEvent) -> Identification | None:
    m = payload_of(event, events_pb2.CustomerIdentified)
    if m is None:
        return None
    envelope = event.envelope
    assert envelope is not None
    seen = m.timestamp if m.HasField("timestamp") else envelope.occurred_at
    return Identification(envelope.event_id, m.customer_id, m.confidence, m.camera_id, seen.ToDatetime(tzinfo=UTC))


class IdentificationConsumer(DurableConsumer):
    def __init__(self, promotions: Promotions, bus: EventBus, *, durable: str = DURABLE, batch: int = 100) -> None:
        super().__init__(bus, durable, bus.subject("*", SOURCE, EVENT), batch=batch)
        self.promotions = promotions

    async def handle(self, batch: Sequence[ReceivedEvent]) -> None:
        for received in batch:
            org = subject_org(received, "identification")
            if org is None:
                continue
            ident = decode(received)
            if ident is None:
                continue
            if received.envelope is not None and received.envelope.organization_id not in ("", org):
                log.warning("identification %s names another organisation than its subject; dropped", ident.event_id)
                continue
            await self.promotions.apply_identification(org, ident)
