"""Replays of the vision stream change nothing: no journey, customer event or webhook delivery twice.

JetStream redelivers a batch whose ack was lost, and delivers the whole stream again from its start when a
consumer is recreated. The journey builder forgets completed tracks quickly here (``done_keep_max=0``), so
only the database stands between a replay and a duplicate: the consumer's event-id claims, and below them
the journeys' natural key (organisation, camera, first track key) that fixes session and event ids.
A real local HTTP receiver counts the webhook deliveries.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from typing import Any

import pytest
from footfall.services.core.config import Settings
from footfall.services.core.db import Database
from footfall.services.core.embedded import free_port
from footfall.services.core.events import EventBus, make_envelope, unpack
from footfall.services.customers.consumer import JourneyConsumer
from footfall.services.customers.journeys import JourneyConfig
from footfall.services.customers.platform_events import PlatformEventsConsumer
from footfall.services.customers.runtime import CustomersRuntime, start_customers
from footfall.services.customers.service import CONSUMER, CustomersConfig
from footfall.v1 import events_pb2

from tests.conftest import unique_org
from tests.consumer_replay import caught_up, delete_durable
from tests.customers.sim import Person
from tests.customers.test_events import vision_envelopes, wait_for
from tests.customers.test_webhooks import LOCAL_RECEIVERS, Receiver

# Track 1 is lost at t=20 and found again 0.8 s later as track 2: one visit of two tracks.
STITCHED = [
    Person(1, [(0, 50, 300), (5, 160, 100), (20, 160, 100)]),
    Person(2, [(20.8, 140, 100), (23.0, 140, 100), (23.5, 175, 100), (40, 175, 100), (45, 470, 300)]),
]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(fail_first=0)
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), r.handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    r.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/replay"
    yield r
    server.shutdown()
    server.server_close()


class Scene:
    """One organisation's customers runtime with its own durable journey consumer."""

    def __init__(self, database: Database, bus: EventBus, org: str) -> None:
        self.db, self.bus, self.org = database, bus, org
        self.durable = f"test_replay_{org}"
        self.runtime: CustomersRuntime | None = None
        self.consumer: JourneyConsumer | None = None

    async def start(self) -> None:
        journey = JourneyConfig(confirm_s=3.0, open_tracks_present=True, stationary_gap_s=0,
                                done_keep_s=0, done_keep_max=0)
        config = CustomersConfig(journey=journey, idle_flush_s=0.3, dispatch_interval_s=0.1, **LOCAL_RECEIVERS)
        self.runtime = await start_customers(Settings(), self.db, self.bus, None, config=config, consume=False)
        self.start_consumer()

    def start_consumer(self) -> None:
        assert self.runtime is not None
        self.consumer = JourneyConsumer(self.runtime.customers, self.bus, durable=self.durable, org=self.org)
        self.consumer.start()

    async def recreate_consumer(self) -> None:
        """Delete the durable and start it again: JetStream delivers the whole stream from its start."""
        assert self.consumer is not None
        await self.consumer.stop()
        await delete_durable(self.bus, self.durable)
        self.start_consumer()
        await self.caught_up()

    async def caught_up(self) -> None:
        """Wait until the consumer has handled (acked) every message of the stream it filters."""
        await caught_up(self.bus, self.durable)
        # The builder may still hold visits that complete on time alone: let the wall clock finish them.
        await wait_for(self.cameras_idle, 20)
        await self.settle()

    async def cameras_idle(self) -> bool:
        async with self.db.tenant(self.org) as conn:
            cur = await conn.execute("SELECT count(*) AS n FROM journey_builder_state WHERE NOT idle")
            return (await cur.fetchone())["n"] == 0

    async def settle(self) -> None:
        """Wait for the dispatcher: every committed event published, no delivery still due or in flight."""

        async def quiet() -> bool:
            async with self.db.tenant(self.org) as conn:
                cur = await conn.execute(
                    """SELECT (SELECT count(*) FROM customer_events WHERE published_at IS NULL)
                            + (SELECT count(*) FROM webhook_deliveries WHERE status = 'pending') AS n""")
                return (await cur.fetchone())["n"] == 0

        await wait_for(quiet, 20)

    async def snapshot(self) -> dict[str, Any]:
        async with self.db.tenant(self.org) as conn:
            cur = await conn.execute(
                """SELECT id, session_id, customer_id, camera_id, track_key, entry_time, exit_time, zones, path,
                          updated_at FROM journeys ORDER BY id""")
            journeys = [dict(r) for r in await cur.fetchall()]
            cur = await conn.execute("SELECT event_id, event FROM customer_events ORDER BY event_id")
            events = [(r["event_id"], r["event"]) for r in await cur.fetchall()]
            cur = await conn.execute(
                "SELECT webhook_id, event_id, status, attempts FROM webhook_deliveries ORDER BY webhook_id, event_id")
            deliveries = [tuple(r.values()) for r in await cur.fetchall()]
        return {"journeys": journeys, "events": events, "deliveries": deliveries}

    async def stop(self) -> None:
        if self.consumer is not None:
            await self.consumer.stop()
            await delete_durable(self.bus, self.durable)
        if self.runtime is not None:
            await self.runtime.stop()


def delivered_once(receiver: Receiver, event_ids: set[str]) -> None:
    counts: dict[str, int] = {}
    for hit in receiver.hits:
        counts[hit["event_id"]] = counts.get(hit["event_id"], 0) + 1
    assert counts == dict.fromkeys(event_ids, 1)


async def run_scene(
    database: Database, event_bus: EventBus, receiver: Receiver,
) -> tuple[Scene, dict[str, Any], list[Any]]:
    """Two cameras (a stitched visit on one, two people on the other) through the consumer and webhooks."""
    org = unique_org()
    scene = Scene(database, event_bus, org)
    await scene.start()
    assert scene.runtime is not None
    await scene.runtime.customers.create_webhook(org, receiver.url, ["customer_entry", "journey_complete"])
    base = time.time() - 120
    envelopes = vision_envelopes(org, "GATE_A", base, STITCHED) + vision_envelopes(org, "GATE_B", base)
    for env in envelopes:
        await event_bus.publish(env)

    async def three_completed() -> Any:
        rows = await scene.runtime.customers.latest_journeys(org)  # type: ignore[union-attr]
        return rows if len(rows) == 3 and all(r.status == "completed" for r in rows) else None

    await wait_for(three_completed, 30)
    await scene.caught_up()
    first = await scene.snapshot()
    assert len(first["events"]) == 6 and all(d[2] == "delivered" for d in first["deliveries"])
    assert {j["camera_id"] for j in first["journeys"]} == {"GATE_A", "GATE_B"}
    stitched = [j for j in first["journeys"] if j["camera_id"] == "GATE_A"]
    assert [j["track_key"] for j in stitched] == ["sess-1:1"]
    delivered_once(receiver, {e for e, _ in first["events"]})
    return scene, first, envelopes


async def test_whole_stream_replayed_after_prune_and_consumer_recreation_changes_nothing(
    database: Database, event_bus: EventBus, receiver: Receiver,
) -> None:
    scene, first, _ = await run_scene(database, event_bus, receiver)
    try:
        await scene.recreate_consumer()
        assert await scene.snapshot() == first
        delivered_once(receiver, {e for e, _ in first["events"]})
    finally:
        await scene.stop()


async def test_replay_after_the_claims_expired_changes_nothing(
    database: Database, event_bus: EventBus, receiver: Receiver,
) -> None:
    """Claims are pruned after the stream's retention; a later full replay meets the natural keys alone."""
    scene, first, _ = await run_scene(database, event_bus, receiver)
    try:
        async with database.tenant(scene.org) as conn:
            cur = await conn.execute("DELETE FROM processed_events WHERE consumer = %s", (CONSUMER,))
            assert cur.rowcount > 0
        await scene.recreate_consumer()
        assert await scene.snapshot() == first
        delivered_once(receiver, {e for e, _ in first["events"]})
    finally:
        await scene.stop()


async def test_redelivered_later_track_after_prune_is_not_a_new_visit(
    database: Database, event_bus: EventBus, receiver: Receiver,
) -> None:
    """A batch redelivered alone (its ack was lost): only the second track of a stitched visit comes again."""
    scene, first, envelopes = await run_scene(database, event_bus, receiver)
    try:
        again = [e for e in envelopes if track_of(e) == ("GATE_A", "sess-1:2")]
        assert len(again) >= 3
        for env in again:  # under new NATS message ids, so that JetStream does not drop them as duplicates
            await event_bus.js.publish(event_bus.subject(scene.org, "vision", env.type), env.SerializeToString(),
                                       headers={"Nats-Msg-Id": env.event_id + "-again"})
        await scene.caught_up()
        assert await scene.snapshot() == first
        delivered_once(receiver, {e for e, _ in first["events"]})
    finally:
        await scene.stop()


def track_of(envelope: Any) -> tuple[str, str]:
    kinds = {"zone_entered": events_pb2.ZoneEntered, "zone_exited": events_pb2.ZoneExited,
             "track_ended": events_pb2.TrackEnded}
    m = unpack(envelope, kinds[envelope.type])
    return m.camera_id, m.track_id


async def test_platform_event_consumers_replayed_from_the_start_deliver_nothing_twice(
    database: Database, event_bus: EventBus, receiver: Receiver,
) -> None:
    """identity/promotions events fanned out to webhooks: recreated durables redeliver them, unique
    (webhook, event id) deliveries absorb it."""
    org = unique_org()
    scene = Scene(database, event_bus, org)
    await scene.start()
    assert scene.runtime is not None
    platform = PlatformEventsConsumer(scene.runtime.customers, event_bus)
    try:
        await scene.runtime.customers.create_webhook(org, receiver.url, ["person_joined", "customer_identified"])
        platform.start()
        joined = make_envelope(org, "identity", "person_joined", events_pb2.PersonJoined(person_id="p-1"))
        identified = make_envelope(org, "identity", "customer_identified",
                                   events_pb2.CustomerIdentified(customer_id=7, camera_id="GATE_A", confidence=0.9))
        for envelope in (joined, identified):
            await event_bus.publish(envelope)
        durables = [f"customers_webhooks_identity_{e}" for e in ("person_joined", "customer_identified")]
        for durable in durables:
            await caught_up(event_bus, durable)
        await scene.settle()
        first = await scene.snapshot()
        assert len(first["deliveries"]) == 2
        delivered_once(receiver, {joined.event_id, identified.event_id})

        await platform.stop()
        for durable in durables:
            await delete_durable(event_bus, durable)
        platform.start()
        for durable in durables:
            await caught_up(event_bus, durable)
        await scene.settle()
        assert await scene.snapshot() == first
        delivered_once(receiver, {joined.event_id, identified.event_id})
    finally:
        await platform.stop()
        await scene.stop()
