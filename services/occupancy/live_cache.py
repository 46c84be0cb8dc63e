"""The live occupancy a service already holds, so that reading it costs no SQL round trip.

Every batch this process commits (and every calibration) puts the cameras it changed here, right after the
commit; a read misses only for a camera this process has not touched within `ttl_s`. Another replica's
crossings reach this cache when its entry expires, so a reader behind a load balancer sees a count at most
`ttl_s` old (`FOOTFALL_OCCUPANCY_LIVE_CACHE_S`; 0 turns the cache off and every read goes to PostgreSQL).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import date

from footfall.services.occupancy.domain import LiveOccupancy


class LiveCache:
    def __init__(self, ttl_s: float, *, max_entries: int = 100_000,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._now = monotonic
        self._entries: dict[tuple[str, int], tuple[float, date, LiveOccupancy]] = {}

    def get(self, org: str, camera_id: int, today: date) -> LiveOccupancy | None:
        entry = self._entries.get((org, camera_id))
        if entry is None:
            return None
        stored_at, day, live = entry
        if day != today or self._now() - stored_at > self.ttl_s:  # `unique_persons` is per day
            self._entries.pop((org, camera_id), None)
            return None
        return live

    def put(self, org: str, lives: Iterable[LiveOccupancy], today: date) -> None:
        if self.ttl_s <= 0:
            return
        now = self._now()
        for live in lives:
            old = self._entries.get((org, live.camera_id))
            if (old is not None and old[1] == today and old[2].last_updated is not None
                    and live.last_updated is not None and old[2].last_updated > live.last_updated):
                continue  # two batches committed in one order and reported in the other: keep the newer
            if len(self._entries) >= self.max_entries:
                self._entries.clear()  # a rare full reset beats an unbounded dict or an LRU's cost per read
            self._entries[(org, live.camera_id)] = (now, today, live)

    def forget(self, org: str, camera_id: int) -> None:
        self._entries.pop((org, camera_id), None)
