"""Replaying a JetStream consumer in tests: recreate its durable (delivery starts again from the stream's
first message) and wait until it has handled everything, by the server's own account of it."""

from __future__ import annotations

import asyncio
import time

from footfall.services.core.events import EventBus
from nats.js.errors import NotFoundError


async def caught_up(bus: EventBus, durable: str, timeout: float = 60.0) -> None:
    """Wait until ``durable`` exists and has acked every message it filters (none pending, none in flight)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            info = await bus.js.consumer_info(bus.stream, durable)
            if info.num_pending == 0 and info.num_ack_pending == 0:
                return
        except NotFoundError:  # not (re)created yet
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"consumer {durable} did not catch up within {timeout} s")
        await asyncio.sleep(0.1)


async def delete_durable(bus: EventBus, durable: str) -> None:
    """Delete the durable consumer (its task must be stopped first, or it recreates it at once)."""
    await bus.js.delete_consumer(bus.stream, durable)
