"""The live-occupancy cache: fresh entries served, stale or other-day entries dropped, newer never replaced."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from footfall.services.occupancy.domain import LiveOccupancy
from footfall.services.occupancy.live_cache import LiveCache

DAY = date(2025, 1, 15)
T0 = datetime(2025, 1, 15, 10, tzinfo=UTC)


def live(occupancy: int, at: datetime, camera_id: int = 1) -> LiveOccupancy:
    return LiveOccupancy(camera_id, occupancy, occupancy, 0, occupancy, at)


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_serves_fresh_entries_per_org_and_expires_them() -> None:
    clock = Clock()
    cache = LiveCache(1.0, monotonic=clock)
    cache.put("a", [live(3, T0)], DAY)
    assert cache.get("a", 1, DAY) == live(3, T0)
    assert cache.get("b", 1, DAY) is None  # another org's camera 1 is another camera
    clock.t += 1.5
    assert cache.get("a", 1, DAY) is None


def test_a_new_day_drops_the_entry() -> None:
    cache = LiveCache(60.0)
    cache.put("a", [live(3, T0)], DAY)
    assert cache.get("a", 1, DAY + timedelta(days=1)) is None


def test_an_older_report_never_replaces_a_newer_one() -> None:
    cache = LiveCache(60.0)
    cache.put("a", [live(5, T0 + timedelta(seconds=2))], DAY)
    cache.put("a", [live(4, T0 + timedelta(seconds=1))], DAY)
    assert cache.get("a", 1, DAY).current_occupancy == 5  # type: ignore[union-attr]


def test_zero_ttl_caches_nothing() -> None:
    cache = LiveCache(0)
    cache.put("a", [live(3, T0)], DAY)
    assert cache.get("a", 1, DAY) is None
