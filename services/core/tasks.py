"""Stopping background tasks reliably.

On Python 3.11, `asyncio.wait_for` (used inside client libraries such as nats-py) can swallow a
cancellation that arrives as its inner future completes, so a single `task.cancel(); await task` can wait
forever on a loop that never noticed. `cancel_and_wait` repeats the cancellation until the task ends.
"""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger(__name__)


async def cancel_and_wait(task: asyncio.Task[object], *, interval_s: float = 0.5, attempts: int = 20) -> bool:
    """Cancel `task` (again every `interval_s`) until it is done; False if it outlived every attempt."""
    for _ in range(attempts):
        if task.done():
            break
        task.cancel()
        await asyncio.wait([task], timeout=interval_s)
    if not task.done():
        log.warning("task %s did not stop after %d cancellations", task.get_name(), attempts)
        return False
    if not task.cancelled() and task.exception() is not None:
        log.debug("task %s ended with %r", task.get_name(), task.exception())
    return True
