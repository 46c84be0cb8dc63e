"""NATS -> webhooks: other services' events that webhook subscribers ask for, delivered like journey events.

`person_joined` (identity; seed 003's body with the organisation object), `customer_identified` (identity;
seed 002's fields) and `promotion_action` (promotions) are fanned out to the organisation's webhooks that
subscribe to them, then signed, retried and logged by the same dispatcher as `customer_entry`. A redelivered
event queues nothing twice: a delivery is unique per webhook and event id.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

from footfall.v1 import events_pb2, promotions_pb2
from google.protobuf.message import Message

from footfall.services.core.events import EventBus, ReceivedEvent, payload_of, subject_org
from footfall.services.customers import store
from footfall.services.customers.models import CUSTOMER_IDENTIFIED, PERSON_JOINED, PROMOTION_ACTION
from footfall.services.customers.service import Customers

log = logging.getLogger(__name__)


def _iso(ts: Any) -> str | None:
    if ts is None or (ts.seconds == 0 and ts.nanos == 0):
        return None
    return ts.ToDatetime().strftime("%Y-%m-%dT%H:%M:%SZ")


def person_joined_body(m: events_pb2.PersonJoined, org: str, org_name: str) -> dict[str, Any]:
    return {
        "event": PERSON_JOINED,
        "timestamp": _iso(m.occurred_at),
        "person": {
            "id": m.person_id,
            "full_name": m.full_name or None,
            "age": m.age if m.HasField("age") else None,
            "gender": m.gender or None,
            "emotion": m.emotion or None,
            "body_type": m.body_type or None,
        },
        "organization": {"id": org, "name": org_name},
    }


def customer_identified_body(m: events_pb2.CustomerIdentified) -> dict[str, Any]:
    return {"event": CUSTOMER_IDENTIFIED, "customer_id": m.customer_id, "confidence": round(m.confidence, 4),
            "camera_id": m.camera_id, "timestamp": _iso(m.timestamp)}


def promotion_action_body(m: promotions_pb2.PromotionAction) -> dict[str, Any]:
    return {"event": PROMOTION_ACTION, "customer_id": m.customer_id, "store_zone": m.store_zone,
            "recommended_products": list(m.recommended_products), "timestamp": _iso(m.timestamp)}


# (service, event) on NATS -> (webhook event, payload type)
SOURCES: dict[tuple[str, str], tuple[str, type[Message]]] = {
    ("identity", "person_joined"): (PERSON_JOINED, events_pb2.PersonJoined),
    ("identity", "customer_identified"): (CUSTOMER_IDENTIFIED, events_pb2.CustomerIdentified),
    ("promotions", "action"): (PROMOTION_ACTION, promotions_pb2.PromotionAction),
}


class PlatformEventsConsumer:
    """One durable consumer per source subject (`<prefix>.*.<service>.<event>`), across organisations."""

    def __init__(self, customers: Customers, bus: EventBus, *, batch: int = 200) -> None:
        self.customers = customers
        self.bus = bus
        self.batch = batch
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        for (service, event), (webhook_event, payload) in SOURCES.items():
            handler = self._handler(webhook_event, payload)
            self._tasks.append(self.bus.consume(f"customers_webhooks_{service}_{event}",
                                                self.bus.subject("*", service, event), handler, batch=self.batch))

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            await self.bus.stop_consumer(task)

    def _handler(self, webhook_event: str, payload: type[Message]) -> Callable[[Sequence[ReceivedEvent]], Any]:
        async def handle(batch: Sequence[ReceivedEvent]) -> None:
            queued = 0
            for received in batch:
                # The organisation is the subject's, validated (a stray subject is dropped, not nak'ed forever);
                # an envelope naming another one is not delivered to either.
                org = subject_org(received, webhook_event)
                message = payload_of(received, payload)
                if org is None or message is None or received.envelope is None:
                    continue
                envelope = received.envelope
                if envelope.organization_id not in ("", org):
                    log.warning("%s %s names another organisation than its subject; dropped", webhook_event,
                                envelope.event_id)
                    continue
                async with self.customers.db.tenant(org) as conn:
                    if isinstance(message, events_pb2.PersonJoined):
                        body = person_joined_body(message, org, await store.org_name(conn, org))
                    elif isinstance(message, events_pb2.CustomerIdentified):
                        body = customer_identified_body(message)
                    else:
                        body = promotion_action_body(message)  # type: ignore[arg-type]
                    queued += await store.fan_out_system(conn, org, envelope.event_id, webhook_event, body)
            if queued:
                self.customers.outbox_signal.set()

        return handle
