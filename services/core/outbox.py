"""The transactional outbox: events that follow a database change are published only if, and once, it commits.

A service stages such an event with `stage` (or `stage_event`) inside the transaction that makes the change,
instead of publishing after the commit: a crash, a NATS outage or a shutdown between the commit and the
publish can then delay the event but never lose it, and a rolled-back change announces nothing.

`OutboxRelay` publishes pending rows to JetStream in order, with the envelope's event id as `Nats-Msg-Id`
(a row published twice, after a crash between the publish and the mark, is dropped by JetStream's duplicate
window, and consumers apply each event id once anyway), and marks them sent. It wakes on the NOTIFY that
`stage` sends (delivered at commit, to every process) and polls as a fallback. Every process that runs
services holds one relay per (database, bus) (`hold_relay`); relays of several processes share the table,
`FOR UPDATE SKIP LOCKED` giving each pending row to one of them. A relay handles only its bus's subject
prefix, so deployments (or test buses) sharing a database never publish each other's rows.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

import psycopg
from footfall.services.core.db import Database
from footfall.services.core.events import EventBus, make_envelope
from footfall.services.core.metrics import OUTBOX_PENDING
from footfall.services.core.tasks import cancel_and_wait
from footfall.v1 import events_pb2
from google.protobuf.message import Message

log = logging.getLogger(__name__)

CHANNEL = "footfall_outbox"


async def stage(conn: psycopg.AsyncConnection, bus: EventBus, envelope: events_pb2.EventEnvelope) -> None:
    """Queue `envelope` for publishing once the caller's transaction commits (never if it rolls back)."""
    subject = bus.subject(envelope.organization_id, envelope.source, envelope.type)
    await conn.execute(
        """WITH staged AS (
               INSERT INTO outbox (org_id, subject, event_id, envelope) VALUES (%s, %s, %s, %s))
           SELECT pg_notify(%s, '')""",
        (envelope.organization_id, subject, envelope.event_id, envelope.SerializeToString(), CHANNEL),
    )


async def stage_event(
    conn: psycopg.AsyncConnection, bus: EventBus, org: str, service: str, event: str, payload: Message, *,
    event_id: str | None = None, occurred_at: datetime | None = None,
) -> str:
    """`stage` an envelope built from its parts; returns its event id."""
    envelope = make_envelope(org, service, event, payload, event_id=event_id, occurred_at=occurred_at)
    await stage(conn, bus, envelope)
    return envelope.event_id


def _like_prefix(prefix: str) -> str:
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{escaped}.%"


class OutboxRelay:
    """Publishes this bus's pending outbox rows (see the module docstring); `start`, then `stop`."""

    def __init__(
        self, db: Database, bus: EventBus, *, batch: int = 200, poll_s: float = 1.0,
        publish_timeout_s: float = 2.0, retention_s: float = 24 * 3600.0, prune_every_s: float = 300.0,
    ) -> None:
        self.db = db
        self.bus = bus
        self.batch = batch
        self.poll_s = poll_s
        self.publish_timeout_s = publish_timeout_s
        self.retention_s = retention_s
        self.prune_every_s = prune_every_s
        self._subjects = _like_prefix(bus.prefix)
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._listener: asyncio.Task[None] | None = None
        self._holders = 0
        self._failing = False

    # ------------------------------------------------------------------------------------------ control

    def start(self) -> None:
        if self._task is not None:
            return
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="outbox:relay")
        self._listener = asyncio.create_task(self._listen(), name="outbox:listen")

    async def flush(self, timeout_s: float = 3.0) -> bool:
        """Publish what is pending now, for at most `timeout_s`; False if some rows stay for later."""
        if not self.bus.connected:
            return False
        try:
            await asyncio.wait_for(self.relay_pending(), timeout_s)
            return True
        except Exception as err:  # TimeoutError or NATS refusing: the rows wait for the next relay
            log.info("outbox: events stay pending for the next start (%s)", err or type(err).__name__)
            return False

    async def stop(self, flush_s: float = 3.0) -> None:
        """Stop relaying after a last bounded `flush` (what it cannot publish stays for the next start)."""
        self._stopping = True
        self._wake.set()
        for task in (self._listener, self._task):
            if task is not None:
                await cancel_and_wait(task)
        self._task = self._listener = None
        await self.flush(flush_s)
        await self._update_gauge()

    async def hold(self) -> None:
        self._holders += 1
        self.start()

    async def release(self) -> None:
        """One holder less; the last one stops the relay."""
        self._holders -= 1
        if self._holders <= 0:
            _RELAYS.pop((id(self.db), id(self.bus)), None)
            await self.stop()

    # --------------------------------------------------------------------------------------------- work

    async def relay_pending(self) -> int:
        """Publish pending rows in order until none is left; returns how many. Raises when NATS refuses one
        (the rows published before it are marked sent; it and the rest stay pending)."""
        total = 0
        while True:
            error: Exception | None = None
            async with self.db.system() as conn:
                cur = await conn.execute(
                    """SELECT id, envelope FROM outbox WHERE sent_at IS NULL AND subject LIKE %s
                       ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED""",
                    (self._subjects, self.batch),
                )
                rows = await cur.fetchall()
                sent: list[int] = []
                for row in rows:
                    try:
                        envelope = events_pb2.EventEnvelope.FromString(bytes(row["envelope"]))
                        await self.bus.publish(envelope, deadline_s=self.publish_timeout_s)
                    except Exception as err:
                        error = err
                        break
                    sent.append(row["id"])
                if sent:
                    await conn.execute("UPDATE outbox SET sent_at = now() WHERE id = ANY(%s)", (sent,))
            total += len(sent)
            if error is not None:
                raise error
            if len(rows) < self.batch:
                return total

    async def pending(self) -> int:
        async with self.db.system() as conn:
            cur = await conn.execute(
                "SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL AND subject LIKE %s", (self._subjects,)
            )
            row = await cur.fetchone()
        return int(row["n"]) if row else 0

    async def _update_gauge(self) -> None:
        try:
            OUTBOX_PENDING.set(await self.pending())
        except Exception as err:  # the database is going away; the gauge waits for the next pass
            log.debug("outbox: pending count failed: %s", err)

    async def _prune(self) -> None:
        async with self.db.system() as conn:
            await conn.execute(
                "DELETE FROM outbox WHERE sent_at < now() - make_interval(secs => %s)", (self.retention_s,)
            )

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_prune = loop.time()
        while not self._stopping:
            self._wake.clear()
            try:
                sent = await self.relay_pending()
                if self._failing:
                    log.info("outbox: publishing again (%d event(s) caught up)", sent)
                    self._failing = False
                if loop.time() >= next_prune:
                    next_prune = loop.time() + self.prune_every_s
                    await self._prune()
            except asyncio.CancelledError:
                raise
            except Exception as err:  # NATS or the database unavailable: the rows wait, nothing is lost
                if not self._failing:
                    log.warning("outbox: cannot publish now (%s); events stay pending and are retried",
                                err or type(err).__name__)
                    self._failing = True
            await self._update_gauge()
            try:
                await asyncio.wait_for(self._wake.wait(), self.poll_s)
            except TimeoutError:
                pass

    async def _listen(self) -> None:
        """Wake the relay when a transaction that staged an event commits (in any process)."""
        while not self._stopping:
            try:
                conn = await psycopg.AsyncConnection.connect(self.db.url, autocommit=True)
                async with conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self._wake.set()  # what committed before we listened
                    async for _ in conn.notifies():
                        self._wake.set()
            except asyncio.CancelledError:
                raise
            except Exception as err:  # the poll keeps the relay going meanwhile
                log.debug("outbox: LISTEN connection lost (%s); reconnecting", err)
                await asyncio.sleep(1.0)


_RELAYS: dict[tuple[int, int], OutboxRelay] = {}


async def hold_relay(db: Database, bus: EventBus) -> OutboxRelay:
    """This process's relay for `db` and `bus`, started by its first holder; `await relay.release()` when done
    (the last release stops it after a final flush)."""
    key = (id(db), id(bus))
    relay = _RELAYS.get(key)
    if relay is None:
        relay = _RELAYS[key] = OutboxRelay(db, bus)
    await relay.hold()
    return relay
