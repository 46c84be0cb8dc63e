"""Hourly and daily rollups through the database on the days clocks change, in two zones, both directions.

Every hour of the local day exists once (23 on spring-forward, 25 on fall-back); no two hours share a label
and an offset; the two hours labelled ``02:00`` (Paris) / ``01:00`` (New York) on fall-back are told apart by
``utc_offset`` and ``start``; the day's totals equal the sum of its hours; computed live and materialized
give the same rows; and the offset reaches gRPC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from footfall.services.core.db import Database
from footfall.services.core.events import EventBus
from footfall.services.occupancy import OccupancyRuntime
from footfall.services.occupancy.domain import (
    Crossing,
    CrossingDirection,
    Level,
    LineDirection,
    NewCamera,
    NewLine,
    RollupRow,
)
from footfall.services.occupancy.service import OccupancyService
from footfall.v1 import occupancy_pb2

from tests.occupancy.conftest import Api, create_camera, create_line, make_settings, unique_org_id

IN, OUT = CrossingDirection.IN, CrossingDirection.OUT

# (zone, local day, hours in that day, the label shared by two hours on fall-back)
TRANSITIONS = [
    ("Europe/Paris", date(2025, 3, 30), 23, None),
    ("Europe/Paris", date(2025, 10, 26), 25, "2025-10-26 02:00"),
    ("America/New_York", date(2025, 3, 9), 23, None),
    ("America/New_York", date(2025, 11, 2), 25, "2025-11-02 01:00"),
]


def day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    return start, end


def history(key: str, start: datetime, end: datetime) -> list[Crossing]:
    """From an hour before the local day to an hour after it: in UTC hour i, 1 + i % 3 people come in (at
    minutes 10, 11, 12) and one leaves at minute 40, so every hour has its own entry count."""
    out: list[Crossing] = []
    t, i = start - timedelta(hours=1), 0
    while t < end + timedelta(hours=1):
        for k in range(1 + i % 3):
            out.append(Crossing(f"{key}-in-{i}-{k}", key, 0, "door", IN, f"{i}-{k}", 0.9,
                                t + timedelta(minutes=10 + k)))
        out.append(Crossing(f"{key}-out-{i}", key, 0, "door", OUT, f"{i}-0", 0.9, t + timedelta(minutes=40)))
        t, i = t + timedelta(hours=1), i + 1
    return out


def of_day(rows: list[RollupRow], start: datetime, end: datetime) -> list[RollupRow]:
    return [r for r in rows if start <= r.period_start < end]


@pytest.mark.parametrize(("tz_name", "day", "hours", "shared"), TRANSITIONS,
                         ids=[f"{z}-{d}" for z, d, _, _ in TRANSITIONS])
async def test_rollups_on_clock_change_days(
    database: Database, event_bus: EventBus, tz_name: str, day: date, hours: int, shared: str | None,
) -> None:
    tz = ZoneInfo(tz_name)
    start, end = day_bounds(day, tz)
    now = end + timedelta(days=2, hours=5)
    service = OccupancyService(database, make_settings(timezone="UTC"), event_bus, clock=lambda: now)
    org = unique_org_id()
    cam = await service.create_camera(org, NewCamera("GATE_DST"))
    await service.create_line(org, NewLine(cam.id, "door", 0, 1, 10, 1, LineDirection.BIDIRECTIONAL))
    crossings = history("GATE_DST", start, end)
    await service.apply_crossings(org, crossings)

    live_hours = of_day(await service.rollup(org, cam.id, Level.HOURLY, 4, tz_name), start, end)
    live_days = [d for d in await service.rollup(org, cam.id, Level.DAILY, 4, tz_name) if d.label == str(day)]
    assert await service.refresh_rollups(org, cam.id) > 0  # materializes the zone asked for too
    stored_hours = of_day(await service.rollup(org, cam.id, Level.HOURLY, 4, tz_name), start, end)
    stored_days = [d for d in await service.rollup(org, cam.id, Level.DAILY, 4, tz_name) if d.label == str(day)]
    assert stored_hours == live_hours and stored_days == live_days

    # Every hour once, in order, an hour apart in real time.
    assert len(live_hours) == hours
    assert [r.period_start for r in live_hours] == [start + timedelta(hours=i) for i in range(hours)]
    assert all(r.period_end - r.period_start == timedelta(hours=1) for r in live_hours)
    keys = [(r.label, r.utc_offset) for r in live_hours]
    assert len(set(keys)) == hours and len({r.start_iso for r in live_hours}) == hours
    for r in live_hours:
        assert datetime.fromisoformat(r.start_iso) == r.period_start
        assert r.start_iso.startswith(r.label.replace(" ", "T"))
        assert r.start_iso.endswith(r.utc_offset)
    labels = [r.label for r in live_hours]
    doubled = {lb for lb in labels if labels.count(lb) > 1}
    assert doubled == ({shared} if shared else set())
    if shared:
        offsets = [r.utc_offset for r in live_hours if r.label == shared]
        assert len(offsets) == 2 and offsets[0] != offsets[1]
    else:  # the skipped hour is absent, not empty
        assert len(set(labels)) == 23

    # Each UTC hour has its own entries; the day is the sum of its hours.
    # history() numbers UTC hours from the one before the day: the day's first hour is number 1.
    assert [r.entries for r in live_hours] == [1 + (1 + i) % 3 for i in range(hours)]
    assert all(r.exits == 1 for r in live_hours)
    (daily,) = live_days
    assert (daily.entries, daily.exits) == (sum(r.entries for r in live_hours), sum(r.exits for r in live_hours))
    assert daily.utc_offset == live_hours[0].utc_offset and datetime.fromisoformat(daily.start_iso) == start


async def test_grpc_hourly_and_daily_carry_offset_and_start(
    grpc_runtime: tuple[OccupancyRuntime, Api],
) -> None:
    runtime, api = grpc_runtime
    camera = await create_camera(api, "GATE_OFFSET")
    await create_line(api, camera.id)
    when = (datetime.now(UTC) - timedelta(hours=2)).replace(minute=15, second=0, microsecond=0)
    await runtime.service.apply_crossings(api.org, [Crossing("off-1", "GATE_OFFSET", 0, "door", IN, "t", 0.9, when)])
    for tz_name in ("Europe/Paris", "America/New_York"):
        local = when.astimezone(ZoneInfo(tz_name))
        hourly = await api.ListHourlyOccupancy(camera_id=camera.id, days=2, time_zone=tz_name)
        (row,) = [h for h in hourly.hours if h.entries]
        assert isinstance(row, occupancy_pb2.HourlyOccupancy)
        assert row.hour == local.strftime("%Y-%m-%d %H:00")
        assert row.start == local.replace(minute=0).isoformat()
        assert row.utc_offset == row.start[-6:]
        daily = await api.ListDailyOccupancy(camera_id=camera.id, days=2, time_zone=tz_name)
        (day,) = [d for d in daily.days if d.entries]
        assert day.start.startswith(local.strftime("%Y-%m-%dT00:00:00")) and day.utc_offset == day.start[-6:]
