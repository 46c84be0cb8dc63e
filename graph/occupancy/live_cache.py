"""Live occupancy the gateway already holds, so that a live read costs no call to the occupancy service.

The occupancy service announces every committed change of a camera's count on core NATS
(`live.<prefix>.<org>.occupancy.updated`, a `footfall.v1.LiveOccupancy`: the notifications its `WatchOccupancy`
streams and so the GraphQL subscriptions are made of). The gateway subscribes to them for every organisation
and keeps the latest per (organisation, camera number); a gRPC reply fills a camera it has not heard of yet.

A read is answered from here only while the subscription is up and the entry is younger than `ttl_s`
(`FOOTFALL_OCCUPANCY_LIVE_CACHE_S`, the same bound the service keeps for its own cache): a change the
notifications miss (they are best effort; the day's `unique_persons` resets without one) shows within that
long. An entry past half that age is asked for again in the background by the first read that sees it, and
concurrent misses of one camera share one call (`fetch`), so a camera polled by many clients costs about
one call per `ttl_s / 2`, not a burst of them each time an entry expires. When NATS is down, not configured,
or the subscription drops, the cache is emptied and every read goes to the service again. The organisation
of an entry is the one in the notification's subject or the one the reply was asked for, and a read looks up
the caller's organisation only: one tenant never sees another's.

    cache = LiveOccupancyCache(settings.occupancy_live_cache_s, subject_prefix=settings.nats_subject_prefix)
    await cache.start(nats_url)                  # the app's lifespan; `close()` at shutdown
    cache.entry(org, camera_id, refresh=ask)     # fresh, or None: then `await cache.fetch(org, camera_id, ask)`
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

import nats
from footfall.v1 import occupancy_pb2
from google.protobuf.message import DecodeError

log = logging.getLogger(__name__)

SERVICE = "occupancy"
UPDATED = "updated"
# A full cache is emptied at once: rarer and cheaper than an LRU's bookkeeping on every read.
MAX_ENTRIES = 100_000


Ask = Callable[[], Awaitable[occupancy_pb2.LiveOccupancy]]


@dataclass
class LiveEntry:
    live: occupancy_pb2.LiveOccupancy
    stored_at: float
    #: Renderings of `live` made once per update, not once per read (`rendered`).
    renderings: dict[Hashable, Any] = field(default_factory=dict)

    def rendered(self, name: Hashable, render: Callable[[occupancy_pb2.LiveOccupancy], Any]) -> Any:
        found = self.renderings.get(name)
        if found is None:
            found = self.renderings[name] = render(self.live)
        return found


class LiveOccupancyCache:
    """Per (org, camera number): the latest live occupancy the service announced or answered."""

    def __init__(
        self, ttl_s: float, *, subject_prefix: str = "footfall", max_entries: int = MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._clock = clock
        self._head = f"live.{subject_prefix}."
        self._tail = f".{SERVICE}.{UPDATED}"
        self._entries: dict[tuple[str, int], LiveEntry] = {}
        self._asking: dict[tuple[str, int], asyncio.Task[occupancy_pb2.LiveOccupancy]] = {}
        self._nc: Any = None
        self._subscribed = False

    @property
    def subject(self) -> str:
        """Every organisation's updates."""
        return f"{self._head}*{self._tail}"

    @property
    def active(self) -> bool:
        """Whether reads may be answered from memory (subscribed, and caching not turned off)."""
        return self._subscribed and self.ttl_s > 0

    # Feeding

    async def start(self, nats_url: str) -> None:
        """Connect and subscribe; a failure leaves the cache off (every read asks the service) and is logged."""
        if self.ttl_s <= 0 or not nats_url or self._nc is not None:
            return

        async def disconnected() -> None:
            self._off()

        async def reconnected() -> None:
            self._subscribed = True  # the client re-subscribes before calling this; entries start afresh

        async def error(err: Exception) -> None:
            log.debug("live occupancy feed: NATS error %s", err)

        try:
            self._nc = await nats.connect(
                nats_url, name="footfall-gateway-live", max_reconnect_attempts=-1, reconnect_time_wait=0.25,
                disconnected_cb=disconnected, reconnected_cb=reconnected, error_cb=error,
            )
            await self._nc.subscribe(self.subject, cb=self._on_message)
            await self._nc.flush()  # the server has the subscription before any read trusts the cache
        except Exception as err:  # noqa: BLE001 - the gateway works without it, one service call per read
            log.warning("live occupancy feed unavailable (reads ask the occupancy service): %s", err)
            await self.close()
            return
        self._subscribed = True

    async def close(self) -> None:
        self._off()
        for task in list(self._asking.values()):
            task.cancel()
        nc, self._nc = self._nc, None
        if nc is not None:
            try:
                await nc.close()
            except Exception as err:  # noqa: BLE001 - closing at shutdown: nothing left to do
                log.debug("live occupancy feed: close failed: %s", err)

    def _off(self) -> None:
        """Updates may be missed from now on: nothing held can be trusted."""
        self._subscribed = False
        self._entries.clear()

    async def _on_message(self, msg: Any) -> None:
        org = self._org_of(msg.subject)
        if org is None:
            return
        live = occupancy_pb2.LiveOccupancy()
        try:
            live.ParseFromString(msg.data)
        except DecodeError:
            log.warning("live occupancy feed: undecodable update on %s", msg.subject)
            return
        self.put(org, live)

    def _org_of(self, subject: str) -> str | None:
        if not (subject.startswith(self._head) and subject.endswith(self._tail)):
            return None
        org = subject[len(self._head):len(subject) - len(self._tail)]
        return org if org and "." not in org else None

    # Reading

    def entry(self, org: str, camera_id: int, refresh: Ask | None = None) -> LiveEntry | None:
        """The fresh entry of the camera, or None (not held, too old, or the feed is not up). Past half its
        freshness, `refresh` (asking the service for `org`) is started in the background, once."""
        if not self._subscribed:
            return None
        key = (org, camera_id)
        found = self._entries.get(key)
        if found is None:
            return None
        age = self._clock() - found.stored_at
        if age > self.ttl_s:
            self._entries.pop(key, None)
            return None
        if refresh is not None and age > self.ttl_s / 2 and key not in self._asking:
            self._ask(key, refresh)
        return found

    def get(self, org: str, camera_id: int) -> occupancy_pb2.LiveOccupancy | None:
        found = self.entry(org, camera_id)
        return found.live if found is not None else None

    async def fetch(self, org: str, camera_id: int, ask: Ask) -> occupancy_pb2.LiveOccupancy:
        """`ask()` (the service, for `org`), sharing the answer with concurrent fetches of the camera; held
        when it comes. An error is not shared: a caller who joined someone else's call then asks itself."""
        key = (org, camera_id)
        pending = self._asking.get(key)
        if pending is not None:
            with contextlib.suppress(Exception):  # that caller's failure (its credential, say) need not be ours
                return await asyncio.shield(pending)
        return await asyncio.shield(self._ask(key, ask))

    def _ask(self, key: tuple[str, int], ask: Ask) -> asyncio.Task[occupancy_pb2.LiveOccupancy]:
        async def asking() -> occupancy_pb2.LiveOccupancy:
            live = await ask()
            if live.camera_id == key[1]:
                self.put(key[0], live)
            return live

        task = asyncio.ensure_future(asking())
        self._asking[key] = task

        def done(t: asyncio.Task[occupancy_pb2.LiveOccupancy]) -> None:
            if self._asking.get(key) is t:
                del self._asking[key]
            if not t.cancelled() and t.exception() is not None:  # retrieved: a refresh's failure is no news
                log.debug("live occupancy of camera %s (%s): %s", key[1], key[0], t.exception())

        task.add_done_callback(done)
        return task

    def put(self, org: str, live: occupancy_pb2.LiveOccupancy) -> None:
        """Hold `live` for `org` (from a notification, or a reply asked under `org`'s credential).

        An update older than the one held is dropped (a reply overtaken by a notification).
        """
        if not self._subscribed or self.ttl_s <= 0:
            return
        key = (org, live.camera_id)
        now = self._clock()
        held = self._entries.get(key)
        if held is not None and _newer(held.live, live):
            return
        if held is None and len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[key] = LiveEntry(live, now)

    def forget(self, org: str, camera_id: int) -> None:
        self._entries.pop((org, camera_id), None)

    def __len__(self) -> int:
        return len(self._entries)


def _newer(a: occupancy_pb2.LiveOccupancy, b: occupancy_pb2.LiveOccupancy) -> bool:
    """Whether `a` was updated strictly later than `b`."""
    ta, tb = a.last_updated, b.last_updated
    return (ta.seconds, ta.nanos) > (tb.seconds, tb.nanos)
