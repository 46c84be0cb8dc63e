"""Identity erasure reaches the customers service: `<prefix>.*.identity.erased` unlinks the erased persons.

Identity publishes `IdentityErased` once an erasure commits (its outbox). The persons' links held here go:
a cart that also names a customer keeps only the customer; a cart that named only the person, and every
journey recorded under the person's id, is given an anonymous holder instead (``erased-<random>``, one per
erased person, so sales and visit counts stay whole while nothing leads back to the person). Applying the
same event again finds nothing left to unlink: the consumer is idempotent by the data itself.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from footfall.services.core.events import DurableConsumer, EventBus, ReceivedEvent, payload_of, subject_org
from footfall.services.customers.service import Customers
from footfall.v1 import events_pb2

log = logging.getLogger(__name__)

DURABLE = "customers_identity_erased"
SOURCE, EVENT = "identity", "erased"


class ErasureConsumer(DurableConsumer):
    """Applies every organisation's identity erasures to carts and journeys."""

    def __init__(self, customers: Customers, bus: EventBus, *, durable: str = DURABLE, batch: int = 100) -> None:
        super().__init__(bus, durable, bus.subject("*", SOURCE, EVENT), batch=batch)
        self.customers = customers

    async def handle(self, batch: Sequence[ReceivedEvent]) -> None:
        for received in batch:
            org = subject_org(received, "erasure")
            if org is None:
                continue
            erased = payload_of(received, events_pb2.IdentityErased)
            if erased is None or not erased.person_ids:
                continue
            unlinked = await self.customers.forget_persons(org, list(erased.person_ids))
            if unlinked:
                log.info("org %s: unlinked %d cart(s)/journey(s) from %d erased person(s)", org, unlinked,
                         len(erased.person_ids))
