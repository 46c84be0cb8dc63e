"""The periodic job that erases unknown faces older than FOOTFALL_UNKNOWN_FACE_RETENTION.

One asyncio task; a failing run is logged and retried next period. Several processes may run it at once:
erasing what is already gone changes nothing.
"""

from __future__ import annotations

import asyncio
import logging

from footfall.services.core.tasks import cancel_and_wait
from footfall.services.identity.erasure import Erasure

log = logging.getLogger(__name__)


class RetentionJob:
    def __init__(self, erasure: Erasure, *, period_s: float) -> None:
        self.erasure = erasure
        self.period_s = period_s
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="identity-retention")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)  # type: ignore[arg-type]
            self._task = None

    async def _loop(self) -> None:
        await asyncio.sleep(min(self.period_s, 5.0))  # let the service settle first
        while True:
            try:
                await self.erasure.expire_unknown_faces()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("unknown-face retention failed; retrying in %.0f s", self.period_s)
            await asyncio.sleep(self.period_s)
