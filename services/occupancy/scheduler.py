"""Background upkeep for the occupancy service: equipment-failure checks, rollup refreshes, pruning.

One asyncio task; each job runs on its own period and a failing job is logged and retried next period.
Several processes may run it at once: every job is idempotent (alerts are unique per open camera/type,
rollup refreshes lock the camera's state row).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from footfall.services.core.tasks import cancel_and_wait
from footfall.services.occupancy.service import OccupancyService

log = logging.getLogger(__name__)


@dataclass
class _Job:
    name: str
    period_s: float
    run: Callable[[], Awaitable[object]]
    due: float = 0.0


class Scheduler:
    def __init__(self, service: OccupancyService, *, equipment_check_s: float | None = None,
                 rollup_refresh_s: float = 60.0, prune_s: float = 3600.0) -> None:
        timeout = service.settings.equipment_timeout_s
        if equipment_check_s is None:
            equipment_check_s = min(30.0, timeout / 4) if timeout > 0 else 0.0
        self._jobs = [
            _Job("rollup refresh", rollup_refresh_s, service.refresh_all_rollups),
            _Job("prune", prune_s, service.prune),
        ]
        if equipment_check_s > 0:
            self._jobs.insert(0, _Job("equipment check", equipment_check_s, service.check_equipment))
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="occupancy-scheduler")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        for job in self._jobs:
            job.due = loop.time() + min(job.period_s, 5.0)  # let the service settle first
        while True:
            now = loop.time()
            for job in self._jobs:
                if now >= job.due:
                    try:
                        await job.run()
                    except asyncio.CancelledError:
                        raise
                    except Exception:
                        log.exception("occupancy %s failed; retrying in %.0f s", job.name, job.period_s)
                    job.due = loop.time() + job.period_s
            await asyncio.sleep(max(0.05, min(j.due for j in self._jobs) - loop.time()))
