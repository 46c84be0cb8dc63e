"""The occupancy consumers replayed from the stream's start change nothing.

After the service is stopped and its durable consumers deleted, a new service recreates them and JetStream
delivers every crossing and source status again from the first message: counts, the event log, the
5-minute buckets, unique persons and alerts must be exactly as before.
"""

from __future__ import annotations

from typing import Any

from footfall.services.core.db import Database
from footfall.services.core.events import EventBus, make_envelope
from footfall.services.occupancy import start_occupancy
from footfall.services.occupancy.consumer import CROSSING_DURABLE, SOURCE_STATUS_DURABLE
from footfall.services.occupancy.domain import LineDirection, NewCamera, NewLine
from footfall.v1 import common_pb2, events_pb2

from tests.consumer_replay import caught_up, delete_durable
from tests.occupancy.conftest import crossing_event, eventually, make_settings, unique_org_id

IN, OUT = common_pb2.CROSSING_DIRECTION_IN, common_pb2.CROSSING_DIRECTION_OUT


async def snapshot(database: Database, org: str) -> dict[str, Any]:
    async with database.tenant(org) as conn:
        out: dict[str, Any] = {}
        for name, sql in {
            "state": """SELECT camera_id, current_occupancy, total_entries, total_exits, last_seq, unique_persons
                        FROM occupancy_state ORDER BY camera_id""",
            # These two name the org: on TimescaleDB they carry no row-level security (0002's variant).
            "events": """SELECT camera_id, seq, event_id, occupancy_before, occupancy_after FROM occupancy_events
                         WHERE org_id = %(org)s ORDER BY seq""",
            "buckets": "SELECT * FROM occupancy_5m WHERE org_id = %(org)s ORDER BY camera_id, bucket",
            "alerts": """SELECT id, alert_type, current_occupancy, resolved_at IS NULL AS open FROM occupancy_alerts
                         ORDER BY id""",
        }.items():
            cur = await conn.execute(sql, {"org": org})
            out[name] = [dict(r) for r in await cur.fetchall()]
    return out


async def test_whole_stream_replayed_after_the_consumers_are_recreated_changes_nothing(
    database: Database, event_bus: EventBus,
) -> None:
    settings = make_settings()
    runtime = await start_occupancy(settings, database, event_bus, None, schedule=False, ack_wait_s=3)
    org, service = unique_org_id("occreplay"), runtime.service
    try:
        cam = await service.create_camera(org, NewCamera("GATE_R", max_occupancy=5))
        await service.create_line(org, NewLine(cam.id, "door", 0, 100, 640, 100, LineDirection.BIDIRECTIONAL))
        for i in range(8):
            await event_bus.publish(crossing_event(org, "GATE_R", "door", IN, track=f"p{i}"))
        for i in range(3):
            await event_bus.publish(crossing_event(org, "GATE_R", "door", OUT, track=f"p{i}"))

        async def counted() -> bool:
            live = await service.live(org, cam.id)
            return (live.total_entries, live.total_exits) == (8, 3)

        # Every crossing first: a crossing applied after "reconnecting" is news from the camera and resolves its
        # equipment alert, which would race the status events below.
        await eventually(counted)
        for status, resolved in (("reconnecting", False), ("connected", True)):
            payload = events_pb2.CameraSourceStatusChanged(camera_id="GATE_R", status=status, detail="replay")
            await event_bus.publish(make_envelope(org, "vision", "source_status", payload))

            async def equipment(resolved: bool = resolved) -> bool:
                alerts = await service.list_alerts(org, include_resolved=True)
                return [a.is_resolved for a in alerts if a.alert_type.value == "equipment_failure"] == [resolved]

            await eventually(equipment)

        for durable in (CROSSING_DURABLE, SOURCE_STATUS_DURABLE):
            await caught_up(event_bus, durable)
        before = await snapshot(database, org)
        assert len(before["events"]) == 11 and before["state"][0]["current_occupancy"] == 5
        assert {a["alert_type"] for a in before["alerts"]} == {"capacity_warning", "capacity_exceeded",
                                                                "equipment_failure"}
    finally:
        await runtime.stop()

    for durable in (CROSSING_DURABLE, SOURCE_STATUS_DURABLE):
        await delete_durable(event_bus, durable)
    runtime = await start_occupancy(settings, database, event_bus, None, schedule=False, ack_wait_s=3)
    try:
        for durable in (CROSSING_DURABLE, SOURCE_STATUS_DURABLE):
            await caught_up(event_bus, durable)
        assert await snapshot(database, org) == before
    finally:
        await runtime.stop()
