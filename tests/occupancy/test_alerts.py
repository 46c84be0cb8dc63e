"""Each alert type, raised once while unresolved, with its message; equipment checks by the scheduler."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from footfall.v1 import common_pb2

from footfall.services.core.db import Database
from footfall.services.core.errors import InvalidArgument
from footfall.services.core.events import EventBus
from footfall.services.occupancy import start_occupancy
from footfall.services.occupancy.domain import (
    AlertType,
    CameraPatch,
    Crossing,
    CrossingDirection,
    LineDirection,
    NewCamera,
    NewLine,
)
from footfall.services.occupancy.service import OccupancyService
from tests.occupancy.conftest import crossing_event, eventually, make_settings, unique_org_id

IN, OUT = CrossingDirection.IN, CrossingDirection.OUT


async def camera(service: OccupancyService, org: str, key: str = "GATE_A", max_occupancy: int = 0) -> int:
    cam = await service.create_camera(org, NewCamera(key, max_occupancy=max_occupancy))
    await service.create_line(org, NewLine(cam.id, "door", 0, 1, 10, 1, LineDirection.BIDIRECTIONAL))
    return cam.id


def crossings(n: int, direction: CrossingDirection = IN, *, start: int = 0, when: datetime | None = None,
              key: str = "GATE_A") -> list[Crossing]:
    when = when or datetime.now(UTC)
    return [Crossing(f"{key}-{direction.value}-{start + i}", key, 0, "door", direction, f"t{start + i}", 0.9, when)
            for i in range(n)]


async def open_alerts(service: OccupancyService, org: str) -> dict[AlertType, str]:
    return {a.alert_type: a.message for a in await service.list_alerts(org)}


async def test_capacity_warning_then_exceeded_each_once(service: OccupancyService) -> None:
    org = unique_org_id()
    await camera(service, org, max_occupancy=10)
    await service.apply_crossings(org, crossings(8))
    assert await open_alerts(service, org) == {}  # 80% is not above 80%
    await service.apply_crossings(org, crossings(1, start=8))
    assert await open_alerts(service, org) == {AlertType.CAPACITY_WARNING: "Occupancy (9) exceeds 80% of capacity (10)"}
    await service.apply_crossings(org, crossings(5, start=9))
    alerts = await service.list_alerts(org)
    assert {a.alert_type: (a.current_occupancy, a.message) for a in alerts} == {
        AlertType.CAPACITY_WARNING: (9, "Occupancy (9) exceeds 80% of capacity (10)"),
        AlertType.CAPACITY_EXCEEDED: (11, "Occupancy (11) exceeds capacity (10)"),
    }


async def test_negative_count_keeps_zero(service: OccupancyService) -> None:
    org = unique_org_id()
    cam = await camera(service, org)
    await service.apply_crossings(org, crossings(3, OUT))
    live = await service.live(org, cam)
    assert (live.current_occupancy, live.total_exits) == (0, 3)
    alerts = await service.list_alerts(org)
    assert [(a.alert_type, a.current_occupancy) for a in alerts] == [(AlertType.NEGATIVE_COUNT, 0)]
    assert "occupancy kept at 0" in alerts[0].message


async def test_anomaly_when_too_many_crossings_in_a_minute(database: Database, event_bus: EventBus) -> None:
    service = OccupancyService(database, make_settings(anomaly_crossings_per_minute=10), event_bus)
    org = unique_org_id()
    await camera(service, org)
    minute = datetime(2025, 1, 15, 10, 0, tzinfo=UTC)
    await service.apply_crossings(org, crossings(10, when=minute))
    await service.apply_crossings(org, crossings(5, start=10, when=minute + timedelta(minutes=1)))
    assert await open_alerts(service, org) == {}  # 10 per minute is allowed
    await service.apply_crossings(org, crossings(6, start=20, when=minute + timedelta(minutes=1, seconds=30)))
    alerts = await service.list_alerts(org)
    assert [a.alert_type for a in alerts] == [AlertType.ANOMALY_DETECTED]
    assert alerts[0].message.startswith("Occupancy anomaly detected: more than 10 crossings within one minute")


async def test_equipment_failure_for_silent_cameras_and_recovery(database: Database, event_bus: EventBus) -> None:
    now = [datetime.now(UTC)]
    service = OccupancyService(database, make_settings(equipment_timeout_s=60), event_bus, clock=lambda: now[0])
    org = unique_org_id()
    silent = await camera(service, org, "SILENT")
    talking = await camera(service, org, "TALKING")
    no_lines = await service.create_camera(org, NewCamera("NO_LINES"))
    inactive = await camera(service, org, "OFF")
    await service.update_camera(org, inactive, CameraPatch(is_active=False))
    now[0] += timedelta(seconds=50)
    await service.apply_crossings(org, crossings(1, key="TALKING"))
    assert [a for a in await service.check_equipment() if a.camera_id in (silent, talking, no_lines.id)] == []
    now[0] += timedelta(seconds=30)  # SILENT: 80 s since it was configured; TALKING: 30 s since its crossing
    raised = [a for a in await service.check_equipment() if a.camera_id in (silent, talking, no_lines.id, inactive)]
    assert [(a.camera_id, a.alert_type) for a in raised] == [(silent, AlertType.EQUIPMENT_FAILURE)]
    assert raised[0].message == "Camera 'SILENT' has not reported any crossing since it was configured"
    now[0] += timedelta(seconds=60)  # TALKING is silent for 90 s now; SILENT's alert is still open
    raised = [a for a in await service.check_equipment() if a.camera_id in (silent, talking)]
    assert [(a.camera_id, a.message) for a in raised] == [(talking, "Camera 'TALKING' has reported nothing for 90 s")]
    # a crossing from the silent camera resolves its equipment failure
    await service.apply_crossings(org, crossings(1, key="SILENT"))
    assert [a.camera_id for a in await service.list_alerts(org)] == [talking]


async def test_scheduler_raises_equipment_failure(database: Database, event_bus: EventBus) -> None:
    settings = make_settings(equipment_timeout_s=0.5)
    runtime = await start_occupancy(settings, database, event_bus, None, consume=False, equipment_check_s=0.2)
    try:
        org = unique_org_id()
        cam = await camera(runtime.service, org)

        async def raised() -> bool:
            return [a.camera_id for a in await runtime.service.list_alerts(org)] == [cam]

        await eventually(raised, timeout=60)
    finally:
        await runtime.stop()


async def test_resolve_then_raise_again(service: OccupancyService) -> None:
    org = unique_org_id()
    await camera(service, org)
    await service.apply_crossings(org, crossings(1, OUT))
    [alert] = await service.list_alerts(org)
    resolved = await service.resolve_alert(org, alert.id)
    assert resolved.is_resolved and resolved.resolved_at is not None
    assert (await service.resolve_alert(org, alert.id)).resolved_at == resolved.resolved_at  # idempotent
    await service.apply_crossings(org, crossings(1, OUT, start=1))
    assert len(await service.list_alerts(org)) == 1
    assert len(await service.list_alerts(org, include_resolved=True)) == 2


async def test_capacity_alerts_resolve_once_occupancy_falls_back_by_the_margin(
    database: Database, event_bus: EventBus,
) -> None:
    """Through the real NATS consumer: raised on the way up, resolved 10 % of capacity below each threshold."""
    runtime = await start_occupancy(make_settings(capacity_resolve_margin=0.1), database, event_bus, None,
                                    schedule=False, ack_wait_s=3)
    try:
        org, service = unique_org_id(), runtime.service
        cam = await camera(service, org, max_occupancy=10)
        published = 0

        async def move(n: int, direction: int) -> None:
            nonlocal published
            for _ in range(n):
                await event_bus.publish(crossing_event(org, "GATE_A", "door", direction))
            published += n

            async def applied() -> bool:
                live = await service.live(org, cam)
                return live.total_entries + live.total_exits == published

            await eventually(applied)

        def state(alerts: list) -> list[tuple[AlertType, bool]]:  # type: ignore[type-arg]
            return sorted((a.alert_type, a.is_resolved) for a in alerts)

        IN_, OUT_ = common_pb2.CROSSING_DIRECTION_IN, common_pb2.CROSSING_DIRECTION_OUT
        await move(11, IN_)  # 11 > 10: warning and exceeded
        assert set(await open_alerts(service, org)) == {AlertType.CAPACITY_WARNING, AlertType.CAPACITY_EXCEEDED}
        await move(1, OUT_)  # 10: at capacity, not 10 % below it
        assert set(await open_alerts(service, org)) == {AlertType.CAPACITY_WARNING, AlertType.CAPACITY_EXCEEDED}
        await move(1, OUT_)  # 9 <= 10 - 1: exceeded resolves; the warning (above 8) stays
        assert set(await open_alerts(service, org)) == {AlertType.CAPACITY_WARNING}
        await move(1, OUT_)  # 8: not yet 1 below the warning threshold
        assert set(await open_alerts(service, org)) == {AlertType.CAPACITY_WARNING}
        await move(1, OUT_)  # 7 <= 8 - 1: resolved
        assert await open_alerts(service, org) == {}
        assert state(await service.list_alerts(org, include_resolved=True)) == [
            (AlertType.CAPACITY_EXCEEDED, True), (AlertType.CAPACITY_WARNING, True)]
        await move(2, IN_)  # 9 again: a new warning
        assert set(await open_alerts(service, org)) == {AlertType.CAPACITY_WARNING}
        assert len(await service.list_alerts(org, include_resolved=True)) == 3
        # A calibration after a headcount resolves too.
        await service.calibrate(org, cam, 3, "headcount")
        assert await open_alerts(service, org) == {}
    finally:
        await runtime.stop()


async def test_camera_type_must_be_one_of_the_seed_values(service: OccupancyService) -> None:
    org = unique_org_id()
    with pytest.raises(InvalidArgument, match="camera_type must be one of entry_only, exit_only, bidirectional"):
        await service.create_camera(org, NewCamera("GATE_W", camera_type="weird"))
    cam = await service.create_camera(org, NewCamera("GATE_E", camera_type="exit_only"))
    with pytest.raises(InvalidArgument, match="not 'weird'"):
        await service.update_camera(org, cam.id, CameraPatch(camera_type="weird"))
    assert (await service.update_camera(org, cam.id, CameraPatch(camera_type="bidirectional"))).camera_type == \
        "bidirectional"
