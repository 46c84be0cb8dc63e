"""NATS -> recommendations: the durable consumer of `<prefix>.*.identity.customer_identified`.

Each event is applied through `Promotions.apply_identification` (its id claimed in the same transaction);
the batch is acked after every event of it was applied, or nak'ed and redelivered when one failed (the
customers service unreachable, say), and the events applied before the failure change nothing the second
time. Envelopes that cannot be read are dropped with a log line (redelivery cannot fix them).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC

from footfall.services.core.errors import FootfallError
from footfall.services.core.events import EventBus, ReceivedEvent, payload_of
from footfall.services.core.tenancy import validate_org
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


class IdentificationConsumer:
    def __init__(self, promotions: Promotions, bus: EventBus, *, durable: str = DURABLE, batch: int = 100) -> None:
        self.promotions = promotions
        self.bus = bus
        self.durable = durable
        self.batch = batch
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = self.bus.consume(self.durable, self.bus.subject("*", SOURCE, EVENT), self.handle,
                                      batch=self.batch)

    async def stop(self) -> None:
        if self._task is not None:
            await self.bus.stop_consumer(self._task)
            self._task = None

    async def handle(self, batch: Sequence[ReceivedEvent]) -> None:
        for received in batch:
            try:
                org = validate_org(received.org)
            except (FootfallError, IndexError):
                log.error("identification on subject %r names no valid organisation; dropped", received.subject)
                continue
            ident = decode(received)
            if ident is None:
                continue
            if received.envelope is not None and received.envelope.organization_id not in ("", org):
                log.warning("identification %s names another organisation than its subject; dropped", ident.event_id)
                continue
            await self.promotions.apply_identification(org, ident)
