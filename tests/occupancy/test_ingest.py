"""Crossings arriving on NATS: exactly-once counting through redelivery, restarts of NATS and of the service,
tenant isolation by subject, rejected events, source status and the durable alert event."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from footfall.v1 import common_pb2, events_pb2, occupancy_pb2

from footfall.services.core.config import Settings
from footfall.services.core.db import Database
from footfall.services.core.embedded import NatsServer
from footfall.services.core.events import EventBus, make_envelope, unpack
from footfall.services.occupancy import OccupancyRuntime, start_occupancy
from footfall.services.occupancy.domain import (
    AlertType,
    Crossing,
    CrossingDirection,
    LineDirection,
    NewCamera,
    NewLine,
    Outcome,
)
from footfall.services.occupancy.service import OccupancyService
from tests.occupancy.conftest import crossing_event, eventually, make_settings, unique_org_id

IN, OUT = common_pb2.CROSSING_DIRECTION_IN, common_pb2.CROSSING_DIRECTION_OUT


@pytest.fixture
async def runtime(database: Database, event_bus: EventBus, settings: Settings) -> AsyncIterator[OccupancyRuntime]:
    rt = await start_occupancy(settings, database, event_bus, None, schedule=False, ack_wait_s=3)
    yield rt
    await rt.stop()


async def setup_camera(service: OccupancyService, org: str, key: str = "GATE_A", **kw: object) -> int:
    camera = await service.create_camera(org, NewCamera(camera_id=key, **kw))  # type: ignore[arg-type]
    await service.create_line(org, NewLine(camera.id, "door", 0, 100, 640, 100, LineDirection.BIDIRECTIONAL))
    return camera.id


async def totals(service: OccupancyService, org: str, camera_id: int) -> tuple[int, int, int]:
    live = await service.live(org, camera_id)
    return live.total_entries, live.total_exits, live.current_occupancy


async def wait_totals(service: OccupancyService, org: str, camera_id: int, entries: int, exits: int = 0,
                      timeout: float = 60) -> None:
    async def done() -> bool:
        got = await totals(service, org, camera_id)
        assert got[0] <= entries and got[1] <= exits, f"over-counted: {got}"
        return got[:2] == (entries, exits)

    await eventually(done, timeout)


async def test_published_crossings_are_counted(runtime: OccupancyRuntime, event_bus: EventBus) -> None:
    org, service = unique_org_id(), runtime.service
    cam = await setup_camera(service, org)
    for i in range(30):
        await event_bus.publish(crossing_event(org, "GATE_A", "door", IN if i < 20 else OUT, track=f"p{i % 12}"))
    await wait_totals(service, org, cam, 20, 10)
    live = await service.live(org, cam)
    assert live.current_occupancy == 10 and live.unique_persons == 12


async def test_same_event_published_twice_is_counted_once(runtime: OccupancyRuntime, event_bus: EventBus) -> None:
    org, service = unique_org_id(), runtime.service
    cam = await setup_camera(service, org)
    envelope = crossing_event(org, "GATE_A", "door")
    await event_bus.publish(envelope)
    await event_bus.publish(envelope)  # same Nats-Msg-Id: JetStream drops it
    subject = event_bus.subject(org, "vision", "crossing")
    # the same event again under another Nats-Msg-Id, as after the duplicate window: the stream holds it twice
    await event_bus.js.publish(subject, envelope.SerializeToString(), headers={"Nats-Msg-Id": "other-" + envelope.event_id})
    marker = crossing_event(org, "GATE_A", "door")
    await event_bus.publish(marker)
    await wait_totals(service, org, cam, 2)
    await asyncio.sleep(0.5)
    assert await totals(service, org, cam) == (2, 0, 2)


async def test_same_batch_applied_twice_is_counted_once(service: OccupancyService) -> None:
    org = unique_org_id()
    cam = await setup_camera(service, org)
    from datetime import UTC, datetime

    batch = [Crossing(f"e{i}", "GATE_A", 0, "door", CrossingDirection.IN, f"t{i}", 0.9, datetime.now(UTC))
             for i in range(50)]
    first = await service.apply_crossings(org, batch)
    second = await service.apply_crossings(org, batch)
    assert {o.outcome for o in first} == {Outcome.APPLIED}
    assert {o.outcome for o in second} == {Outcome.DUPLICATE}
    assert await totals(service, org, cam) == (50, 0, 50)
    both = await asyncio.gather(service.apply_crossings(org, batch[:10] + [
        Crossing("new", "GATE_A", 0, "door", CrossingDirection.IN, "t", 0.9, datetime.now(UTC))]),
        service.apply_crossings(org, batch[5:]))
    assert sum(o.applied for outcomes in both for o in outcomes) == 1
    assert await totals(service, org, cam) == (51, 0, 51)


async def test_unknown_camera_or_line_is_rejected_and_recorded(runtime: OccupancyRuntime, event_bus: EventBus) -> None:
    org, service = unique_org_id(), runtime.service
    cam = await setup_camera(service, org)
    unknown_camera = crossing_event(org, "NOPE", "door")
    unknown_line = crossing_event(org, "GATE_A", "window")
    for envelope in (unknown_camera, unknown_line, crossing_event(org, "GATE_A", "door")):
        await event_bus.publish(envelope)
    await wait_totals(service, org, cam, 1)

    async def recorded() -> bool:
        return len(await service.rejected_events(org)) == 2

    await eventually(recorded)
    reasons = {r["event_id"]: r["reason"] for r in await service.rejected_events(org)}
    assert reasons == {unknown_camera.event_id: "unknown camera 'NOPE'",
                       unknown_line.event_id: "unknown line 'window' on camera 'GATE_A'"}


async def test_an_event_on_another_orgs_subject_never_touches_this_org(runtime: OccupancyRuntime, event_bus: EventBus) -> None:
    service = runtime.service
    org_a, org_b = unique_org_id("a"), unique_org_id("b")
    cam_a = await setup_camera(service, org_a)
    cam_b = await setup_camera(service, org_b, "GATE_B")
    # org B's subject naming org A's camera key: org B has no such camera
    await event_bus.publish(crossing_event(org_b, "GATE_A", "door"))
    # an envelope claiming org A published on org B's subject
    forged = crossing_event(org_a, "GATE_A", "door")
    await event_bus.js.publish(event_bus.subject(org_b, "vision", "crossing"), forged.SerializeToString(),
                               headers={"Nats-Msg-Id": forged.event_id})
    await event_bus.publish(crossing_event(org_b, "GATE_B", "door"))
    await wait_totals(service, org_b, cam_b, 1)

    async def both_rejected() -> bool:
        return len(await service.rejected_events(org_b)) == 2

    await eventually(both_rejected)
    assert await totals(service, org_a, cam_a) == (0, 0, 0)
    assert await service.rejected_events(org_a) == []


@pytest.mark.timeout(300)
async def test_nats_restart_mid_stream_counts_every_event_once(
    runtime: OccupancyRuntime, event_bus: EventBus, nats_server: NatsServer | str,
) -> None:
    if not isinstance(nats_server, NatsServer):
        pytest.skip("needs the embedded nats-server to restart it")
    org, service = unique_org_id(), runtime.service
    cam = await setup_camera(service, org)
    n = 600

    async def publish_all() -> None:
        for i in range(n):
            await event_bus.publish(crossing_event(org, "GATE_A", "door", event_id=f"{org}-{i}"), deadline_s=60)

    publisher = asyncio.create_task(publish_all())
    await eventually(lambda: _counted_at_least(service, org, cam, 50))
    await asyncio.to_thread(nats_server.restart)
    await publisher
    await wait_totals(service, org, cam, n, timeout=120)
    await asyncio.sleep(1)
    assert await totals(service, org, cam) == (n, 0, n)


async def _counted_at_least(service: OccupancyService, org: str, cam: int, n: int) -> bool:
    return (await totals(service, org, cam))[0] >= n


@pytest.mark.timeout(300)
async def test_service_restart_keeps_counts_and_consumes_pending(database: Database, event_bus: EventBus) -> None:
    settings = make_settings()
    org = unique_org_id()
    first = await start_occupancy(settings, database, event_bus, None, schedule=False, ack_wait_s=3)
    cam = await setup_camera(first.service, org)
    for i in range(200):
        await event_bus.publish(crossing_event(org, "GATE_A", "door", event_id=f"{org}-a{i}"))
    await eventually(lambda: _counted_at_least(first.service, org, cam, 1))
    await first.stop()  # possibly in the middle of the stream
    for i in range(100):  # published while no service runs
        await event_bus.publish(crossing_event(org, "GATE_A", "door", OUT, event_id=f"{org}-b{i}"))
    second = await start_occupancy(settings, database, event_bus, None, schedule=False, ack_wait_s=3)
    try:
        await wait_totals(second.service, org, cam, 200, 100, timeout=120)
        await asyncio.sleep(1)
        assert await totals(second.service, org, cam) == (200, 100, 100)
        for i in range(5):  # a redelivery of old events after the restart changes nothing
            await event_bus.js.publish(event_bus.subject(org, "vision", "crossing"),
                                       crossing_event(org, "GATE_A", "door", event_id=f"{org}-a{i}").SerializeToString(),
                                       headers={"Nats-Msg-Id": uuid.uuid4().hex})
        await event_bus.publish(crossing_event(org, "GATE_A", "door", event_id=f"{org}-c"))
        await wait_totals(second.service, org, cam, 201, 100)
        await asyncio.sleep(0.5)
        assert await totals(second.service, org, cam) == (201, 100, 101)
    finally:
        await second.stop()


async def test_source_status_raises_and_resolves_equipment_failure(runtime: OccupancyRuntime, event_bus: EventBus) -> None:
    org, service = unique_org_id(), runtime.service
    cam = await setup_camera(service, org)

    def status(value: str) -> events_pb2.EventEnvelope:
        payload = events_pb2.CameraSourceStatusChanged(camera_id="GATE_A", status=value, detail="RTSP timeout")
        return make_envelope(org, "vision", "source_status", payload)

    await event_bus.publish(status("reconnecting"))

    async def raised() -> bool:
        return [a.alert_type for a in await service.list_alerts(org)] == [AlertType.EQUIPMENT_FAILURE]

    await eventually(raised)
    alert = (await service.list_alerts(org))[0]
    assert alert.camera_id == cam and "reconnecting (RTSP timeout)" in alert.message
    await event_bus.publish(status("failed"))  # still one open alert
    await event_bus.publish(status("connected"))

    async def resolved() -> bool:
        return await service.list_alerts(org) == []

    await eventually(resolved)
    assert [a.is_resolved for a in await service.list_alerts(org, include_resolved=True)] == [True]


async def test_alert_raised_is_published_durably(runtime: OccupancyRuntime, event_bus: EventBus) -> None:
    org, service = unique_org_id(), runtime.service
    await setup_camera(service, org, max_occupancy=1)
    received: list[occupancy_pb2.Alert] = []

    async def handler(batch) -> None:  # type: ignore[no-untyped-def]
        received.extend(unpack(e.envelope, occupancy_pb2.Alert) for e in batch if e.envelope)

    event_bus.consume("test-alerts", event_bus.subject(org, "occupancy", "alert_raised"), handler)
    await event_bus.publish(crossing_event(org, "GATE_A", "door"))
    await event_bus.publish(crossing_event(org, "GATE_A", "door"))

    async def got() -> bool:
        return len(received) == 2

    await eventually(got)
    assert [a.alert_type for a in received] == [occupancy_pb2.ALERT_TYPE_CAPACITY_WARNING,
                                                occupancy_pb2.ALERT_TYPE_CAPACITY_EXCEEDED]
    assert received[1].message == "Occupancy (2) exceeds capacity (1)"


async def test_consumer_recreated_after_deletion(runtime: OccupancyRuntime, event_bus: EventBus) -> None:
    org, service = unique_org_id(), runtime.service
    cam = await setup_camera(service, org)
    await event_bus.publish(crossing_event(org, "GATE_A", "door"))
    await wait_totals(service, org, cam, 1)
    await event_bus.js.delete_consumer(event_bus.stream, "occupancy-crossings")
    await event_bus.publish(crossing_event(org, "GATE_A", "door"))
    # the new consumer starts from the stream's beginning: the first event is a duplicate, counted once
    await wait_totals(service, org, cam, 2, timeout=90)
    await asyncio.sleep(0.5)
    assert await totals(service, org, cam) == (2, 0, 2)


async def test_consumers_stop_when_the_bus_is_closed(database: Database, nats_url: str) -> None:
    bus = EventBus(nats_url, stream=f"T{uuid.uuid4().hex[:12].upper()}", subject_prefix=f"t{uuid.uuid4().hex[:12]}")
    await bus.connect()
    runtime = await start_occupancy(make_settings(), database, bus, None, schedule=False, ack_wait_s=3)
    await asyncio.sleep(0.2)
    await bus.js.delete_stream(bus.stream)
    await bus.close()  # the platform closing NATS before (or without) stopping the service
    await asyncio.wait_for(runtime.stop(), 30)
