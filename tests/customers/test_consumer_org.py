"""The journey consumer takes each event's organisation from its subject, validated like every durable consumer
(`footfall.services.core.events.subject_org`): an event on a subject naming no valid organisation is acked and
dropped, and never holds back the batch it arrived in."""

from __future__ import annotations

import time

from footfall.services.core.config import Settings
from footfall.services.core.db import Database
from footfall.services.core.events import EventBus, ReceivedEvent, subject_org
from footfall.services.customers.consumer import DURABLE
from footfall.services.customers.journeys import JourneyConfig
from footfall.services.customers.runtime import start_customers
from footfall.services.customers.service import CustomersConfig

from tests.conftest import unique_org
from tests.customers.test_events import vision_envelopes, wait_for


def test_the_subject_names_the_organisation_or_the_event_is_dropped() -> None:
    def received(subject: str) -> ReceivedEvent:
        return ReceivedEvent(subject, None, "unread", None, 1)  # type: ignore[arg-type]

    assert subject_org(received("footfall.shop-1.vision.zone_entered")) == "shop-1"
    assert subject_org(received("footfall.Shop.vision.zone_entered")) is None  # upper case: not an org id
    assert subject_org(received("vision.zone_entered"), "vision event") is None  # too few tokens to name one
    assert subject_org(received("zone_entered")) is None


async def test_an_event_without_a_valid_organisation_does_not_hold_back_its_batch(
    database: Database, event_bus: EventBus
) -> None:
    org = unique_org()
    envelopes = vision_envelopes(org, "GATE_A", time.time() - 60)
    # Published before the consumer starts, so that the stray event and the good ones arrive in one batch.
    stray = envelopes[0]
    await event_bus.js.publish(f"{event_bus.prefix}.Not_An_Org.vision.{stray.type}", stray.SerializeToString(),
                               headers={"Nats-Msg-Id": stray.event_id + "-stray"})
    for env in envelopes:
        await event_bus.publish(env)
    journey = JourneyConfig(confirm_s=3.0, open_tracks_present=True, stationary_gap_s=0)
    config = CustomersConfig(journey=journey, idle_flush_s=0.3, dispatch_interval_s=0.1)
    runtime = await start_customers(Settings(), database, event_bus, None, config=config)
    try:
        async def two_completed():  # type: ignore[no-untyped-def]
            rows = await runtime.customers.latest_journeys(org)
            return rows if len(rows) == 2 and all(r.status == "completed" for r in rows) else None

        await wait_for(two_completed)

        async def all_acked():  # type: ignore[no-untyped-def]
            info = await event_bus.js.consumer_info(event_bus.stream, DURABLE)
            return info if info.num_ack_pending == 0 and info.num_pending == 0 else None

        info = await wait_for(all_acked)
        assert info.num_redelivered == 0  # nothing was nak'ed: the stray event was acked with its batch
    finally:
        await runtime.stop()
