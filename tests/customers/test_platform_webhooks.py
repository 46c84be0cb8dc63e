"""person_joined, customer_identified and promotion_action reach the webhooks that ask for them, once each,
from real NATS events (replays included), with the seeds' bodies."""

from __future__ import annotations

import asyncio
import json
import time

from footfall.v1 import events_pb2, promotions_pb2
from nats.js.errors import NotFoundError
from google.protobuf.timestamp_pb2 import Timestamp

from footfall.services.core.db import Database
from footfall.services.core.events import EventBus, make_envelope
from footfall.services.customers.platform_events import PlatformEventsConsumer
from footfall.services.customers.service import Customers, CustomersConfig
from footfall.services.customers.webhooks import Dispatcher
from tests.conftest import unique_org
from tests.customers.test_webhooks import LOCAL_RECEIVERS, Receiver, receiver  # noqa: F401  (fixture)

T = Timestamp(seconds=1_733_047_200)  # 2024-12-01T10:00:00Z


async def _publish(bus: EventBus, org: str, service: str, event: str, payload: object, event_id: str,
                   msg_id: str | None = None) -> None:
    envelope = make_envelope(org, service, event, payload, event_id=event_id)  # type: ignore[arg-type]
    # A new Nats-Msg-Id stores the same envelope again: what a redelivery or a replay looks like to a consumer.
    await bus.js.publish(bus.subject(org, service, event), envelope.SerializeToString(),
                         headers={"Nats-Msg-Id": msg_id or event_id})


async def test_platform_events_reach_subscribed_webhooks_once(database: Database, event_bus: EventBus,
                                                              receiver: Receiver) -> None:  # noqa: F811
    receiver.fail_first = 0
    org = unique_org()
    config = CustomersConfig(dispatch_interval_s=0.05, idle_flush_s=3600, **LOCAL_RECEIVERS)
    customers = Customers(database, config=config)
    everything, _ = await customers.create_webhook(
        org, receiver.url, ["person_joined", "customer_identified", "promotion_action"])
    journeys_only, _ = await customers.create_webhook(org, receiver.url + "?journeys")
    assert journeys_only.events == ["customer_entry", "journey_complete"]  # naming none keeps the old default
    consumer = PlatformEventsConsumer(customers, event_bus)
    dispatcher = Dispatcher(customers, None)
    consumer.start()
    dispatcher.start()
    try:
        joined = events_pb2.PersonJoined(person_id="p-1", full_name="John Doe", age=30, gender="Male",
                                         emotion="Happy", body_type="Athletic", occurred_at=T)
        await _publish(event_bus, org, "identity", "person_joined", joined, "pj-1")
        await _publish(event_bus, org, "identity", "person_joined", joined, "pj-1", msg_id="pj-1-replay")
        await _publish(event_bus, org, "identity", "customer_identified",
                       events_pb2.CustomerIdentified(customer_id=7, confidence=0.91, camera_id="BAKERY_1",
                                                     timestamp=T), "ci-1")
        await _publish(event_bus, org, "promotions", "action",
                       promotions_pb2.PromotionAction(customer_id=7, store_zone="bakery",
                                                      recommended_products=["croissant", "baguette"], timestamp=T),
                       "pa-1")
        # A later event on the same subject: once it is delivered, the replay before it was consumed.
        await _publish(event_bus, org, "identity", "person_joined", events_pb2.PersonJoined(person_id="p-2"), "pj-2")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not any(h["event_id"] == "pj-2" for h in receiver.hits):
            await asyncio.sleep(0.05)
        async with database.tenant(org) as conn:
            cur = await conn.execute(
                "SELECT event_id, count(*) AS n FROM webhook_deliveries GROUP BY event_id ORDER BY event_id")
            queued = {r["event_id"]: r["n"] for r in await cur.fetchall()}
    finally:
        await dispatcher.stop()
        await consumer.stop()
    assert queued == {"ci-1": 1, "pa-1": 1, "pj-1": 1, "pj-2": 1}  # the replayed person_joined queued nothing
    assert {h["path"] for h in receiver.hits} == {"/hooks/footfall"}  # the journeys-only hook got none
    bodies = {json.loads(h["body"])["event"]: json.loads(h["body"]) for h in receiver.hits
              if h["event_id"] != "pj-2"}
    assert bodies["person_joined"] == {
        "event": "person_joined", "timestamp": "2024-12-01T10:00:00Z",
        "person": {"id": "p-1", "full_name": "John Doe", "age": 30, "gender": "Male", "emotion": "Happy",
                   "body_type": "Athletic"},
        "organization": {"id": org, "name": org},
    }
    assert bodies["customer_identified"] == {"event": "customer_identified", "customer_id": 7, "confidence": 0.91,
                                             "camera_id": "BAKERY_1", "timestamp": "2024-12-01T10:00:00Z"}
    assert bodies["promotion_action"] == {"event": "promotion_action", "customer_id": 7, "store_zone": "bakery",
                                          "recommended_products": ["croissant", "baguette"],
                                          "timestamp": "2024-12-01T10:00:00Z"}


async def test_an_event_whose_subject_or_envelope_names_no_valid_organisation_is_dropped_not_retried(
    database: Database, event_bus: EventBus, receiver: Receiver  # noqa: F811
) -> None:
    receiver.fail_first = 0
    org, other = unique_org(), unique_org()
    customers = Customers(database, config=CustomersConfig(dispatch_interval_s=0.05, idle_flush_s=3600,
                                                           **LOCAL_RECEIVERS))
    await customers.create_webhook(org, receiver.url, ["person_joined"])
    await customers.create_webhook(other, receiver.url, ["person_joined"])
    joined = events_pb2.PersonJoined(person_id="p-1", occurred_at=T)
    # Published before the consumer starts, so that all three arrive in one batch.
    stray = make_envelope(org, "identity", "person_joined", joined, event_id="stray")
    await event_bus.js.publish(f"{event_bus.prefix}.Not_An_Org.identity.person_joined", stray.SerializeToString(),
                               headers={"Nats-Msg-Id": "stray"})
    forged = make_envelope(other, "identity", "person_joined", joined, event_id="forged")  # says `other`...
    await event_bus.js.publish(event_bus.subject(org, "identity", "person_joined"),  # ...on `org`'s subject
                               forged.SerializeToString(), headers={"Nats-Msg-Id": "forged"})
    await _publish(event_bus, org, "identity", "person_joined", joined, "good")
    consumer = PlatformEventsConsumer(customers, event_bus)
    consumer.start()
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                info = await event_bus.js.consumer_info(event_bus.stream, "customers_webhooks_identity_person_joined")
            except NotFoundError:  # not created yet
                info = None
            if info is not None and info.num_ack_pending == 0 and info.num_pending == 0 \
                    and info.delivered.stream_seq >= 3:
                break
            assert time.monotonic() < deadline, info
            await asyncio.sleep(0.05)
        assert info.num_redelivered == 0  # nothing nak'ed: the stray event was acked with its batch
    finally:
        await consumer.stop()
    for tenant, expected in ((org, ["good"]), (other, [])):
        async with database.tenant(tenant) as conn:
            cur = await conn.execute("SELECT event_id FROM webhook_deliveries ORDER BY event_id")
            assert [r["event_id"] for r in await cur.fetchall()] == expected, tenant
            # No dispatcher ran here: the queued delivery would otherwise reach a later test's receiver.
            await conn.execute("DELETE FROM webhook_deliveries")
