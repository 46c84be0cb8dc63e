"""New persons as they join, live: the organisation's `person_joined` events as a stream for subscribers.

The events are published durably on JetStream (`<prefix>.<org>.identity.person_joined`); JetStream's
publishes are ordinary NATS messages too, so a core subscription sees them as they happen without a
durable consumer per watcher (a watcher wants what happens while it watches, not a replay).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import nats.errors
from footfall.services.core.errors import Unavailable
from footfall.services.core.events import EventBus, unpack
from footfall.services.identity.deps import PERSON_JOINED, SOURCE
from footfall.v1 import events_pb2
from google.protobuf.message import DecodeError

log = logging.getLogger(__name__)

#: Events held for one slow watcher; beyond it the oldest are dropped (the newest person matters most).
QUEUE_SIZE = 1_000


class PersonWatch:
    """Live `person_joined` streams over the service's own NATS connection: one core subscription per
    watcher, so nothing is kept for watchers that left and nothing is replayed to new ones."""

    def __init__(self, bus: EventBus | None, *, queue_size: int = QUEUE_SIZE) -> None:
        self.bus = bus
        self.queue_size = queue_size

    async def persons(self, org: str, camera_id: str = "") -> AsyncIterator[events_pb2.PersonJoined]:
        """Each person joining `org` from now on (only those first seen on `camera_id` when given), until
        the caller stops iterating; the subscription ends with the iteration."""
        if self.bus is None or not self.bus.connected:
            raise Unavailable("live persons need NATS, which is not connected")
        queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=self.queue_size)

        async def on_message(msg) -> None:  # type: ignore[no-untyped-def]
            if queue.full():
                queue.get_nowait()  # a slow watcher loses the oldest person, never the newest
            queue.put_nowait(msg.data)

        sub = await self.bus.nc.subscribe(self.bus.subject(org, SOURCE, PERSON_JOINED), cb=on_message)
        try:
            while True:
                joined = _decode(await queue.get())
                if joined is not None and (not camera_id or joined.camera_id == camera_id):
                    yield joined
        finally:
            # a closing connection takes the subscription with it
            with contextlib.suppress(nats.errors.Error):
                await sub.unsubscribe()


def _decode(data: bytes) -> events_pb2.PersonJoined | None:
    """The envelope's PersonJoined, or None (logged) for bytes that are not one: a watcher skips them."""
    try:
        envelope = events_pb2.EventEnvelope.FromString(data)
        return unpack(envelope, events_pb2.PersonJoined)
    except (DecodeError, ValueError) as err:
        log.warning("skipping an undecodable person_joined message: %s", err)
        return None
