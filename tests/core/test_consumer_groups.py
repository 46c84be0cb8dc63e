"""Consumers scale as JetStream consumer groups: every process that binds a durable pull consumer shares it,
so two processes (here: two NATS connections, as two processes have) split the work and each event is applied
once."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Sequence

import pytest
from footfall.services.core.db import Database
from footfall.services.core.events import EventBus, ReceivedEvent, make_envelope
from footfall.services.occupancy import start_occupancy
from footfall.services.occupancy.domain import LineDirection, NewCamera, NewLine
from footfall.v1 import common_pb2

from tests.occupancy.conftest import crossing_event, eventually, make_settings, unique_org_id


@pytest.fixture
async def two_buses(nats_url: str) -> AsyncIterator[tuple[EventBus, EventBus]]:
    """Two connections to one stream, as two processes of one deployment have."""
    tag = uuid.uuid4().hex[:12]
    buses = (EventBus(nats_url, stream=f"G{tag.upper()}", subject_prefix=f"g{tag}"),
             EventBus(nats_url, stream=f"G{tag.upper()}", subject_prefix=f"g{tag}"))
    for bus in buses:
        await bus.connect()
    yield buses
    try:
        await buses[0].js.delete_stream(buses[0].stream)
    finally:
        for bus in buses:
            await bus.close()


async def test_two_connections_on_one_durable_split_the_events(two_buses: tuple[EventBus, EventBus]) -> None:
    first, second = two_buses
    org, n = unique_org_id("grp"), 200
    ids = [f"e-{i}" for i in range(n)]
    for event_id in ids:
        await first.publish(make_envelope(org, "tests", "work", common_pb2.Point(x=1), event_id=event_id))
    seen: dict[str, list[str]] = {"first": [], "second": []}

    def handler(name: str):  # type: ignore[no-untyped-def]
        async def handle(batch: Sequence[ReceivedEvent]) -> None:
            seen[name].extend(e.envelope.event_id for e in batch if e.envelope)
            await asyncio.sleep(0)  # let the other member fetch meanwhile, as a second process would

        return handle

    subject = first.subject(org, "tests", "work")
    first.consume("group-test", subject, handler("first"), batch=5)
    second.consume("group-test", subject, handler("second"), batch=5)

    async def all_seen() -> bool:
        return len(seen["first"]) + len(seen["second"]) >= n

    await eventually(all_seen, timeout=60)
    assert seen["first"] and seen["second"], "both members should get a share"
    deliveries = Counter(seen["first"] + seen["second"])
    assert sorted(deliveries) == sorted(ids)
    assert max(deliveries.values()) == 1  # each event went to one member, once
    info = await first.js.consumer_info(first.stream, "group-test")
    assert info.num_pending == 0


async def test_two_occupancy_consumers_count_each_crossing_once(
    database: Database, two_buses: tuple[EventBus, EventBus],
) -> None:
    settings = make_settings(ingest_batch_size=10)
    runtimes = [await start_occupancy(settings, database, bus, None, schedule=False, ack_wait_s=10)
                for bus in two_buses]
    handled = [0, 0]
    for i, runtime in enumerate(runtimes):  # count what each member applies, then apply it as before
        puller = runtime.consumers[0]._puller  # the crossings consumer

        def counting(inner, i=i):  # type: ignore[no-untyped-def]
            async def handle(events: Sequence[ReceivedEvent]) -> None:
                await inner(events)
                handled[i] += len(events)

            return handle

        puller.handler = counting(puller.handler)
    try:
        service, org = runtimes[0].service, unique_org_id()
        cameras = []
        for key in ("DOOR_A", "DOOR_B", "DOOR_C"):
            camera = await service.create_camera(org, NewCamera(camera_id=key))
            await service.create_line(org, NewLine(camera.id, "door", 0, 100, 640, 100, LineDirection.BIDIRECTIONAL))
            cameras.append((key, camera.id))
        per_camera = 100
        for i in range(per_camera):
            for key, _ in cameras:
                await two_buses[i % 2].publish(crossing_event(org, key, "door"))
        # a replayed copy of one crossing (same event id, past JetStream's duplicate check) counts once,
        # whichever member gets each copy
        duplicate = crossing_event(org, cameras[0][0], "door", event_id=f"dup-{uuid.uuid4().hex}")
        await two_buses[0].publish(duplicate)
        await two_buses[1].js.publish(two_buses[1].subject(org, "vision", "crossing"), duplicate.SerializeToString(),
                                      headers={"Nats-Msg-Id": f"replay-{duplicate.event_id}"})

        async def counted() -> bool:
            lives = [await service.live(org, cam) for _, cam in cameras]
            return [lv.total_entries for lv in lives] == [per_camera + 1, per_camera, per_camera]

        await eventually(counted, timeout=120)
        assert handled[0] > 0 and handled[1] > 0, f"both consumers should share the work: {handled}"
        lives = [await service.live(org, cam) for _, cam in cameras]
        assert [lv.total_entries for lv in lives] == [per_camera + 1, per_camera, per_camera]
    finally:
        for runtime in runtimes:
            await runtime.stop()
