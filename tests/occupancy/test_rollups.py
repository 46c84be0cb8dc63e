"""Hourly, daily and monthly rollups across hour, day and month boundaries, in several time zones, and the same
answers whether periods are computed live, materialized, or invalidated by a late event (plain PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from footfall.services.core.db import Database
from footfall.services.core.errors import InvalidArgument
from footfall.services.core.events import EventBus
from footfall.services.occupancy.domain import Crossing, CrossingDirection, Level, LineDirection, NewCamera, NewLine
from footfall.services.occupancy.service import OccupancyService
from tests.occupancy.conftest import make_settings, unique_org_id

IN, OUT = CrossingDirection.IN, CrossingDirection.OUT
NOW = datetime(2025, 2, 3, 12, 0, tzinfo=UTC)


def at(day: int, hour: int, minute: int, month: int = 1) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=UTC)


EVENTS = [  # (time, direction, track)
    (at(31, 22, 50), IN, "a"), (at(31, 22, 51), IN, "b"), (at(31, 22, 52), IN, "c"),
    (at(31, 23, 10), IN, "d"), (at(31, 23, 11), IN, "e"),
    (at(1, 0, 20, month=2), OUT, "a"),
    (at(1, 10, 0, month=2), IN, "f"),
]


@pytest.fixture
async def clocked(database: Database, event_bus: EventBus) -> OccupancyService:
    return OccupancyService(database, make_settings(), event_bus, clock=lambda: NOW)


async def camera_with_history(service: OccupancyService) -> tuple[str, int]:
    org = unique_org_id()
    cam = await service.create_camera(org, NewCamera("GATE_A"))
    await service.create_line(org, NewLine(cam.id, "door", 0, 1, 10, 1, LineDirection.BIDIRECTIONAL))
    crossings = [Crossing(f"e{i}", "GATE_A", 0, "door", d, track, 0.9, when) for i, (when, d, track) in enumerate(EVENTS)]
    await service.apply_crossings(org, crossings[:3])
    await service.apply_crossings(org, crossings[3:])
    return org, cam.id


def rows(result: list) -> list[tuple]:  # type: ignore[type-arg]
    return [(r.label, r.entries, r.exits, r.avg_occupancy, r.peak_occupancy, r.peak_hour, r.unique_persons)
            for r in result]


UTC_HOURLY = [
    ("2025-01-31 22:00", 3, 0, 3.0, 3, None, 3),     # first data at 22:50: 2 periods at 3
    ("2025-01-31 23:00", 2, 0, 4.67, 5, None, 2),    # 2 periods at 3, 10 at 5
    ("2025-02-01 00:00", 0, 1, 4.33, 5, None, 1),    # 4 at 5 (carried in), 8 at 4
    ("2025-02-01 10:00", 1, 0, 5.0, 5, None, 1),
]
UTC_DAILY = [  # newest first, as the API lists days
    ("2025-02-01", 1, 1, 4.6, 5, 0, 2),              # (4 x 5 + 116 x 4 + 168 x 5) / 288; peak 5 at 00:00
    ("2025-01-31", 5, 0, 4.43, 5, 23, 5),            # (4 x 3 + 10 x 5) / 14
]
UTC_MONTHLY = [
    ("2025-02", 1, 1, 4.87, 5, None, 2),             # mean of 4.597 (Feb 1), 5.0 (Feb 2), 5.0 (Feb 3 so far)
    ("2025-01", 5, 0, 4.43, 5, None, 5),
]
NEW_YORK_HOURLY = [
    ("2025-01-31 17:00", 3, 0, 3.0, 3, None, 3),
    ("2025-01-31 18:00", 2, 0, 4.67, 5, None, 2),
    ("2025-01-31 19:00", 0, 1, 4.33, 5, None, 1),
    ("2025-02-01 05:00", 1, 0, 5.0, 5, None, 1),
]
NEW_YORK_DAILY = [
    ("2025-02-01", 1, 0, 4.79, 5, 5, 1),             # (60 x 4 + 228 x 5) / 288; first reaches 5 at 05:00
    ("2025-01-31", 5, 1, 4.14, 5, 18, 5),            # from 17:50: 4 periods at 3, 14 at 5, 56 at 4 -> 306 / 74
]
NEW_YORK_MONTHLY = [
    ("2025-02", 1, 0, 4.93, 5, None, 1),             # mean of 4.792, 5.0, 5.0
    ("2025-01", 5, 1, 4.14, 5, None, 5),
]


async def all_rollups(service: OccupancyService, org: str, cam: int, tz: str) -> list[list[tuple]]:  # type: ignore[type-arg]
    return [rows(await service.rollup(org, cam, Level.HOURLY, 7, tz)),
            rows(await service.rollup(org, cam, Level.DAILY, 30, tz)),
            rows(await service.rollup(org, cam, Level.MONTHLY, 12, tz))]


async def test_rollups_across_hour_day_and_month_in_two_time_zones(clocked: OccupancyService) -> None:
    org, cam = await camera_with_history(clocked)
    assert await all_rollups(clocked, org, cam, "UTC") == [UTC_HOURLY, UTC_DAILY, UTC_MONTHLY]
    assert await all_rollups(clocked, org, cam, "America/New_York") == [NEW_YORK_HOURLY, NEW_YORK_DAILY,
                                                                        NEW_YORK_MONTHLY]
    # a half-hour offset: 22:50-23:11 UTC is 04:20-04:41 in Kolkata, one local hour
    kolkata = rows(await clocked.rollup(org, cam, Level.HOURLY, 7, "Asia/Kolkata"))
    assert [(label, entries) for label, entries, *_ in kolkata][:1] == [("2025-02-01 04:00", 5)]
    # the default zone is settings.timezone (UTC here)
    assert rows(await clocked.rollup(org, cam, Level.HOURLY)) == UTC_HOURLY
    # look-back windows: the last 1 day (today) holds nothing, the last 3 days hold Feb 1
    assert await clocked.rollup(org, cam, Level.DAILY, 1) == []
    assert [r.label for r in await clocked.rollup(org, cam, Level.DAILY, 3)] == ["2025-02-01"]
    with pytest.raises(InvalidArgument):
        await clocked.rollup(org, cam, Level.DAILY, 100_000)


async def test_materialized_rollups_give_the_same_answers_and_late_events_invalidate_them(clocked: OccupancyService) -> None:
    org, cam = await camera_with_history(clocked)
    live_utc = await all_rollups(clocked, org, cam, "UTC")
    live_ny = await all_rollups(clocked, org, cam, "America/New_York")  # asking registers the zone
    written = await clocked.refresh_rollups(org)
    assert written > 0
    assert await all_rollups(clocked, org, cam, "UTC") == live_utc
    assert await all_rollups(clocked, org, cam, "America/New_York") == live_ny
    assert await clocked.refresh_rollups(org) == 0  # nothing new closed

    # a late event inside materialized periods: answers change at once, and after the next refresh
    late = Crossing("late", "GATE_A", 0, "door", IN, "g", 0.9, at(31, 22, 53))
    await clocked.apply_crossings(org, [late])
    hourly = rows(await clocked.rollup(org, cam, Level.HOURLY, 7, "UTC"))
    assert hourly[0][:3] == ("2025-01-31 22:00", 4, 0) and hourly[0][6] == 4
    monthly = rows(await clocked.rollup(org, cam, Level.MONTHLY, 12, "UTC"))
    assert monthly[1][:3] == ("2025-01", 6, 0)
    after_late = await all_rollups(clocked, org, cam, "UTC")
    await clocked.refresh_rollups(org)
    assert await all_rollups(clocked, org, cam, "UTC") == after_late


async def test_rollups_of_a_camera_without_data_and_calibration_rows(clocked: OccupancyService) -> None:
    org = unique_org_id()
    cam = await clocked.create_camera(org, NewCamera("EMPTY"))
    assert await clocked.rollup(org, cam.id, Level.HOURLY) == []
    assert await clocked.rollup(org, cam.id, Level.MONTHLY) == []
    await clocked.calibrate(org, cam.id, 12, "count")
    hourly = await clocked.rollup(org, cam.id, Level.HOURLY)
    assert [(r.label, r.entries, r.exits, r.peak_occupancy) for r in hourly] == [("2025-02-03 12:00", 0, 0, 12)]
    logs = await clocked.logs(org, cam.id)
    assert [(entry.is_manual_calibration, entry.net_occupancy, entry.notes) for entry in logs] == [(True, 12, "count")]


async def test_logs_hours_window(clocked: OccupancyService) -> None:
    org, cam = await camera_with_history(clocked)
    assert await clocked.logs(org, cam, 24) == []  # NOW is two days after the last crossing
    logs = await clocked.logs(org, cam, 24 * 4)
    assert [(entry.timestamp, entry.entry_count, entry.exit_count, entry.net_occupancy, entry.tracked_persons)
            for entry in logs] == [
        (at(31, 22, 50), 3, 0, 3, 3), (at(31, 23, 10), 2, 0, 5, 2),
        (at(1, 0, 20, month=2), 0, 1, 4, 1), (at(1, 10, 0, month=2), 1, 0, 5, 1),
    ]
    assert NOW - timedelta(hours=24 * 4) < logs[0].timestamp


async def test_long_history_is_materialized_in_steps_with_the_same_answers(clocked: OccupancyService) -> None:
    org = unique_org_id()
    cam = await clocked.create_camera(org, NewCamera("OLD"))
    await clocked.create_line(org, NewLine(cam.id, "door", 0, 1, 10, 1, LineDirection.BIDIRECTIONAL))
    start = NOW - timedelta(days=45)
    await clocked.apply_crossings(org, [
        Crossing(f"e{i}", "OLD", 0, "door", IN if i % 3 else OUT, f"t{i}", 0.9, start + timedelta(hours=7 * i))
        for i in range(150)])
    expected = [rows(await clocked.rollup(org, cam.id, level, n)) for level, n in
                ((Level.HOURLY, 60), (Level.DAILY, 60), (Level.MONTHLY, 3))]
    refreshes = 0
    while await clocked.refresh_rollups(org) and refreshes < 20:
        refreshes += 1
        assert [rows(await clocked.rollup(org, cam.id, level, n)) for level, n in
                ((Level.HOURLY, 60), (Level.DAILY, 60), (Level.MONTHLY, 3))] == expected
    assert 2 <= refreshes < 20  # several bounded steps, then nothing left to do


async def test_log_period_follows_settings(database: Database, event_bus: EventBus) -> None:
    five = OccupancyService(database, make_settings(), event_bus, clock=lambda: NOW)
    one = OccupancyService(database, make_settings(occupancy_log_period_s=60), event_bus, clock=lambda: NOW)
    org, cam = await camera_with_history(five)
    hour = OccupancyService(database, make_settings(occupancy_log_period_s=3600), event_bus, clock=lambda: NOW)
    by_minute = await one.logs(org, cam, 24 * 4)
    assert [(e.timestamp, e.entry_count, e.net_occupancy) for e in by_minute][:4] == [
        (at(31, 22, 50), 1, 1), (at(31, 22, 51), 1, 2), (at(31, 22, 52), 1, 3), (at(31, 23, 10), 1, 4)]
    by_hour = await hour.logs(org, cam, 24 * 4)
    assert [(e.timestamp, e.entry_count, e.exit_count, e.net_occupancy, e.tracked_persons) for e in by_hour] == [
        (at(31, 22, 0), 3, 0, 3, 3), (at(31, 23, 0), 2, 0, 5, 2), (at(1, 0, 0, month=2), 0, 1, 4, 1),
        (at(1, 10, 0, month=2), 1, 0, 5, 1)]
    # at the default length the event rows and the 5-minute buckets give the same logs
    await five.calibrate(org, cam, 9, "recount")
    since = NOW - timedelta(days=4)
    async with database.tenant(org) as conn:
        assert await five.store.log_periods(conn, org, cam, since) == \
            await five.store.log_periods_raw(conn, org, cam, since, 300)
