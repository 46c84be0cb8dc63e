"""Events between services and to outside consumers: NATS JetStream, protobuf envelopes, at-least-once.

Subjects are `footfall.<org>.<service>.<event>`. Each envelope's `event_id` is sent as `Nats-Msg-Id`, so
JetStream drops a duplicate publish inside its window; consumers must still apply an id at most once
(see `footfall.services.core.idempotency`), because delivery is at-least-once.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

import nats
from footfall.v1 import events_pb2
from google.protobuf import any_pb2
from google.protobuf.message import DecodeError, Message
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StreamConfig
from nats.js.errors import NotFoundError

from footfall.services.core.errors import FootfallError
from footfall.services.core.metrics import BUS_RECONNECTS, CONSUMER_LAG, CONSUMER_REDELIVERIES, EVENTS_PUBLISHED
from footfall.services.core.tenancy import validate_org
from footfall.services.core.timestamps import to_timestamp

log = logging.getLogger(__name__)

SUBJECT_PREFIX = "footfall"
M = TypeVar("M", bound=Message)


def subject(org: str, service: str, event: str, prefix: str = SUBJECT_PREFIX) -> str:
    """`footfall.<org>.<service>.<event>`; use `*` for any organisation in a subscription."""
    if org != "*":
        validate_org(org)
    return f"{prefix}.{org}.{service}.{event}"


_timestamp = to_timestamp


def make_envelope(
    org: str, service: str, event: str, payload: Message, *, event_id: str | None = None,
    occurred_at: datetime | None = None,
) -> events_pb2.EventEnvelope:
    envelope = events_pb2.EventEnvelope(
        event_id=event_id or str(uuid.uuid4()), organization_id=validate_org(org), source=service, type=event
    )
    envelope.occurred_at.CopyFrom(_timestamp(occurred_at or datetime.now(UTC)))
    envelope.published_at.CopyFrom(_timestamp(datetime.now(UTC)))
    packed = any_pb2.Any()
    packed.Pack(payload)
    envelope.payload.CopyFrom(packed)
    return envelope


def unpack(envelope: events_pb2.EventEnvelope, message_type: type[M]) -> M:
    """The envelope's payload as `message_type`; ValueError when it holds something else."""
    message = message_type()
    if not envelope.payload.Unpack(message):
        raise ValueError(f"event {envelope.event_id} carries {envelope.payload.type_url}, not {message_type.DESCRIPTOR.full_name}")
    return message


def redact_url(url: str) -> str:
    """`url` fit for a log: the password or token it may carry (`nats://user:secret@host`) replaced by `***`."""
    return ",".join(_redact_one(server.strip()) for server in url.split(","))


def _redact_one(server: str) -> str:
    parts = urlsplit(server)
    if parts.username is None and parts.password is None:
        return server
    who = f"{parts.username}:***" if parts.password is not None else "***"
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{who}@{host}"))


@dataclass
class ReceivedEvent:
    subject: str
    envelope: events_pb2.EventEnvelope | None  # None when the bytes were not an envelope
    error: str | None
    msg: Msg
    num_delivered: int

    @property
    def org(self) -> str:
        """The organisation the subject names (authoritative over anything inside the payload)."""
        return self.subject.split(".")[-3]


def payload_of(event: ReceivedEvent, message_type: type[M]) -> M | None:
    """The received event's payload as `message_type`, or None (logged) when the bytes were not an envelope
    or it carries something else: such a message can never be applied, so consumers ack and drop it."""
    if event.envelope is None:
        log.warning("dropping undecodable message on %s: %s", event.subject, event.error)
        return None
    try:
        return unpack(event.envelope, message_type)
    except ValueError as err:
        log.warning("dropping message on %s: %s", event.subject, err)
        return None


def subject_org(event: ReceivedEvent, what: str = "event") -> str | None:
    """The organisation the event's subject names, validated; None (logged) when it names none: no tenant
    can apply such an event and redelivery cannot fix it, so consumers ack and drop it rather than nak a
    whole batch again and again. `what` names the event in the log line."""
    try:
        return validate_org(event.org)
    except (FootfallError, IndexError):
        log.error("%s on subject %r names no valid organisation; dropped", what, event.subject)
        return None


BatchHandler = Callable[[Sequence[ReceivedEvent]], Awaitable[None]]


class DurableConsumer:
    """The start/stop shell of one durable consumer of `subject` on `bus`: `start` runs
    `bus.consume(durable, subject, self.handle)`, `stop` lets the batch in progress finish and ends it.
    Subclasses write `handle` (which must be idempotent: delivery is at-least-once)."""

    def __init__(self, bus: EventBus, durable: str, subject: str, *, batch: int, ack_wait_s: float = 30.0) -> None:
        self.bus = bus
        self.durable = durable
        self.subject = subject
        self.batch = batch
        self.ack_wait_s = ack_wait_s
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = self.bus.consume(self.durable, self.subject, self.handle, batch=self.batch,
                                      ack_wait_s=self.ack_wait_s)

    async def stop(self) -> None:
        if self._task is not None:
            await self.bus.stop_consumer(self._task)
            self._task = None

    async def handle(self, batch: Sequence[ReceivedEvent]) -> None:
        raise NotImplementedError


class EventBus:
    """A NATS connection with the platform's JetStream stream."""

    def __init__(
        self, url: str, *, stream: str = "FOOTFALL", subject_prefix: str = SUBJECT_PREFIX,
        max_age_s: float = 7 * 24 * 3600, duplicate_window_s: float = 120, name: str = "footfall",
    ) -> None:
        self.url = url
        self.stream = stream
        self.prefix = subject_prefix
        self._max_age_s = max_age_s
        self._duplicate_window_s = duplicate_window_s
        self._name = name
        self._nc: NatsClient | None = None
        self._js: JetStreamContext | None = None
        self._consumers: list[asyncio.Task[None]] = []
        self._stops: dict[asyncio.Task[None], asyncio.Event] = {}
        self._closing = False
        self._lag_durables: set[str] = set()
        self._lag_task: asyncio.Task[None] | None = None
        self.lag_poll_s = 5.0

    @property
    def nc(self) -> NatsClient:
        if self._nc is None:
            raise RuntimeError("event bus is not connected")
        return self._nc

    @property
    def js(self) -> JetStreamContext:
        if self._js is None:
            raise RuntimeError("event bus is not connected")
        return self._js

    @property
    def connected(self) -> bool:
        return self._nc is not None and self._nc.is_connected

    async def connect(self) -> None:
        async def on_disconnect() -> None:
            if not self._closing:
                log.warning("NATS disconnected from %s; reconnecting", redact_url(self.url))

        async def on_reconnect() -> None:
            BUS_RECONNECTS.inc()
            log.info("NATS reconnected to %s", redact_url(self.url))

        async def on_error(err: Exception) -> None:
            log.debug("NATS client error: %s", err)

        self._nc = await nats.connect(
            self.url, name=self._name, max_reconnect_attempts=-1, reconnect_time_wait=0.25,
            disconnected_cb=on_disconnect, reconnected_cb=on_reconnect, error_cb=on_error,
        )
        self._js = self._nc.jetstream(timeout=5)
        await self.ensure_stream()

    async def ensure_stream(self) -> None:
        config = StreamConfig(
            name=self.stream, subjects=[f"{self.prefix}.>"], max_age=self._max_age_s,
            duplicate_window=self._duplicate_window_s,
        )
        try:
            await self.js.stream_info(self.stream)
            await self.js.update_stream(config)
        except NotFoundError:
            await self.js.add_stream(config)

    def watch_lag(self, durable: str) -> None:
        """Report `durable`'s backlog as `footfall_consumer_lag` (JetStream `num_pending`, every `lag_poll_s`)."""
        self._lag_durables.add(durable)
        if self._lag_task is None or self._lag_task.done():
            self._lag_task = asyncio.create_task(self._poll_lag(), name="consumer-lag")
            self._consumers.append(self._lag_task)

    async def _poll_lag(self) -> None:
        while not self._closing:
            for durable in sorted(self._lag_durables):
                try:
                    info = await self.js.consumer_info(self.stream, durable)
                except asyncio.CancelledError:
                    raise
                except Exception as err:  # a missed sample only (not created yet, reconnecting)
                    log.debug("consumer %s: no consumer info (%s)", durable, err)
                    continue
                CONSUMER_LAG.labels(durable).set(info.num_pending or 0)
            await asyncio.sleep(self.lag_poll_s)

    async def close(self) -> None:
        """Stop the consumers (each finishes its batch), then drain and close the connection."""
        self._closing = True
        await self._stop_tasks([t for t in self._consumers if not t.done()])
        self._consumers.clear()
        if self._nc is not None and not self._nc.is_closed:
            try:
                await asyncio.wait_for(self._nc.drain(), 5)
            except Exception:
                await self._nc.close()
        self._nc = self._js = None

    async def stop_consumer(self, task: asyncio.Task[None]) -> None:
        """Stop a consumer started by `consume` (its current batch is acked or nak'ed first); the connection
        stays open for the others and for publishing (only `close` closes it)."""
        await self._stop_tasks([task])
        if task in self._consumers:
            self._consumers.remove(task)

    async def _stop_tasks(self, tasks: list[asyncio.Task[None]]) -> None:
        # Python 3.11's asyncio.wait_for (inside the client's fetch) can swallow a cancellation, so a
        # consumer loop also watches its stop event, and the cancellation is repeated until it ends.
        for task in tasks:
            if task in self._stops:
                self._stops[task].set()
        pending = [t for t in tasks if not t.done()]
        for _ in range(20):
            if not pending:
                break
            for task in pending:
                task.cancel()
            _, still = await asyncio.wait(pending, timeout=0.5)
            pending = list(still)
        if pending:
            log.warning("%d consumer task(s) did not stop", len(pending))
        for task in tasks:
            self._stops.pop(task, None)

    def subject(self, org: str, service: str, event: str) -> str:
        return subject(org, service, event, self.prefix)

    def live_subject(self, org: str, service: str, event: str) -> str:
        """Core-NATS subject for live, non-durable updates (outside the stream): `live.<prefix>.<org>...`."""
        return "live." + self.subject(org, service, event)

    async def publish(self, envelope: events_pb2.EventEnvelope, *, deadline_s: float = 30.0) -> None:
        """Publish durably; retried with the same `Nats-Msg-Id` until JetStream acknowledges it."""
        subj = self.subject(envelope.organization_id, envelope.source, envelope.type)
        data = envelope.SerializeToString()
        headers = {"Nats-Msg-Id": envelope.event_id}
        loop = asyncio.get_running_loop()
        stop_at = loop.time() + deadline_s
        delay = 0.05
        while True:
            try:
                await self.js.publish(subj, data, headers=headers, timeout=2)
                EVENTS_PUBLISHED.labels(envelope.source, envelope.type).inc()
                return
            except Exception as err:  # timeouts, no responders, reconnecting
                if loop.time() + delay > stop_at or self._closing:  # never retry against a closing bus
                    raise
                log.warning("publish of %s to %s failed (%s); retrying", envelope.event_id, subj, err)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)

    async def emit(self, org: str, service: str, event: str, payload: Message, **kw: object) -> str:
        envelope = make_envelope(org, service, event, payload, **kw)  # type: ignore[arg-type]
        await self.publish(envelope)
        return envelope.event_id

    async def notify(self, subj: str, payload: Message) -> None:
        """Fire-and-forget on core NATS (live updates for subscriptions), outside the stream's subjects."""
        if self.connected:
            await self.nc.publish(subj, payload.SerializeToString())

    def consume(
        self, durable: str, filter_subject: str, handler: BatchHandler, *, batch: int = 500,
        ack_wait_s: float = 30.0,
    ) -> asyncio.Task[None]:
        """Run a durable pull consumer: `handler` gets batches; they are acked once it returns.

        If the handler raises, the batch is nak'ed and redelivered later; the handler must be idempotent.
        """
        stop = asyncio.Event()
        task = asyncio.create_task(self._consume_loop(durable, filter_subject, handler, batch, ack_wait_s, stop),
                                   name=f"consumer:{durable}")
        self._consumers.append(task)
        self._stops[task] = stop
        self.watch_lag(durable)
        return task

    async def _consume_loop(
        self, durable: str, filter_subject: str, handler: BatchHandler, batch: int, ack_wait_s: float,
        stop: asyncio.Event,
    ) -> None:
        config = ConsumerConfig(
            durable_name=durable, ack_policy=AckPolicy.EXPLICIT, deliver_policy=DeliverPolicy.ALL,
            filter_subject=filter_subject, ack_wait=ack_wait_s, max_ack_pending=max(batch * 20, 10000),
        )
        sub = None
        while not (self._closing or stop.is_set()):
            try:
                if sub is None:
                    sub = await self.js.pull_subscribe(filter_subject, durable=durable, stream=self.stream, config=config)
                try:
                    msgs = await sub.fetch(batch, timeout=1.0)
                except (TimeoutError, asyncio.TimeoutError, nats.errors.TimeoutError):
                    continue
                events = [_decode(m) for m in msgs]
                CONSUMER_REDELIVERIES.labels(durable).inc(sum(1 for e in events if e.num_delivered > 1))
                try:
                    await handler(events)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("consumer %s failed on a batch of %d; it will be redelivered", durable, len(msgs))
                    for m in msgs:
                        await _quietly(m.nak(delay=1.0))
                    await asyncio.sleep(0.5)
                    continue
                await _ack_all(msgs)
            except asyncio.CancelledError:
                if sub is not None:
                    await _quietly(sub.unsubscribe())
                return
            except Exception as err:
                log.warning("consumer %s: %s; retrying", durable, err)
                sub = None
                await asyncio.sleep(0.5)
        if sub is not None:
            await _quietly(sub.unsubscribe())


async def _ack_all(msgs: Sequence[Msg]) -> None:
    for m in msgs:
        await _quietly(m.ack())


async def _quietly(aw: Awaitable[object]) -> None:
    try:
        await aw
    except Exception as err:  # a lost ack only means a redelivery, which consumers absorb
        log.debug("ack/nak failed: %s", err)


def _decode(msg: Msg) -> ReceivedEvent:
    delivered = msg.metadata.num_delivered if msg.metadata else 1
    envelope = events_pb2.EventEnvelope()
    try:
        envelope.ParseFromString(msg.data)
    except DecodeError as err:
        return ReceivedEvent(msg.subject, None, f"not an event envelope: {err}", msg, delivered)
    if not envelope.event_id:
        return ReceivedEvent(msg.subject, None, "event envelope without event_id", msg, delivered)
    return ReceivedEvent(msg.subject, envelope, None, msg, delivered)
