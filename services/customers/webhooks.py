"""Webhooks and the outbox dispatcher.

The dispatcher runs two steps in a loop (woken at once when new events are committed):

1. **Publish**: unpublished rows of ``customer_events`` (the outbox) are staged in the platform outbox
   (services/core/outbox.py, whose relay publishes them to NATS as ``footfall.<org>.customers.<event>``)
   with their deterministic event id (so a re-publish after a crash is dropped by JetStream), and one
   delivery per subscribed webhook is queued; both happen in the transaction that marks the row published,
   so neither waits on NATS nor is lost when it is down.
2. **Deliver**: due deliveries are leased, POSTed with httpx, and recorded: delivered on a 2xx, retried
   with exponential back-off (``backoff_s * 2**(attempt-1)``, capped) on a network error, a 5xx, 408 or
   429, failed for good after ``max_attempts`` or on any other 4xx. Every attempt is in the delivery log.

Each POST carries the seed's JSON body and these headers:

* ``X-Footfall-Event``: ``customer_entry`` or ``journey_complete``;
* ``X-Footfall-Event-Id``: the event's id (the same on every retry: receivers deduplicate with it);
* ``X-Footfall-Delivery``: the delivery's id;
* ``X-Footfall-Timestamp``: Unix seconds when this attempt was signed;
* ``X-Footfall-Signature``: ``sha256=`` + hex HMAC-SHA256 of ``"<timestamp>.<body>"`` with the webhook's
  secret. :func:`verify_signature` checks it (and the timestamp's age) on the receiving side.

Deliveries connect through :class:`~footfall.services.core.netguard.GuardedTransport`: every address the
URL's host resolves to *at delivery time* is checked (webhook_targets.py says which are allowed), so a name
re-pointed at 127.0.0.1 or a metadata address after the webhook was created reaches nothing. A refused
target fails the delivery for good and the log says only ``target address not allowed``: no socket error
or response text that would make the delivery log a port scanner.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from footfall.v1 import customers_pb2

from footfall.services.core import outbox
from footfall.services.core.db import Database
from footfall.services.core.events import EventBus, make_envelope
from footfall.services.core.metrics import WEBHOOK_DELIVERIES
from footfall.services.core.netguard import REFUSED, GuardedTransport, refusal_of
from footfall.services.core.tasks import cancel_and_wait
from footfall.services.customers import store
from footfall.services.customers.models import CUSTOMER_ENTRY, JOURNEY_COMPLETE
from footfall.services.customers.service import Customers, CustomersConfig, backoff_s

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Footfall-Signature"
TIMESTAMP_HEADER = "X-Footfall-Timestamp"
EVENT_HEADER = "X-Footfall-Event"
EVENT_ID_HEADER = "X-Footfall-Event-Id"
DELIVERY_HEADER = "X-Footfall-Delivery"
SERVICE = "customers"

_PAYLOAD_TYPES = {CUSTOMER_ENTRY: customers_pb2.CustomerEntered, JOURNEY_COMPLETE: customers_pb2.JourneyCompleted}


def encode_body(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode("utf-8")


def sign(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(
    secret: str, body: bytes, timestamp: str | int, signature: str, *, tolerance_s: float = 300.0,
    now: float | None = None,
) -> bool:
    """Whether ``signature`` is ours for ``body`` and ``timestamp`` is within ``tolerance_s`` of now."""
    try:
        ts = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - ts) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, body, ts), signature or "")


def signed_headers(secret: str, body: bytes, event: str, event_id: str, delivery_id: int | str) -> dict[str, str]:
    ts = int(time.time())
    return {
        "Content-Type": "application/json", "User-Agent": "footfall-webhooks/1",
        EVENT_HEADER: event, EVENT_ID_HEADER: event_id, DELIVERY_HEADER: str(delivery_id),
        TIMESTAMP_HEADER: str(ts), SIGNATURE_HEADER: sign(secret, body, ts),
    }


def retryable(status_code: int) -> bool:
    return status_code >= 500 or status_code in (408, 425, 429)


@dataclass
class AttemptResult:
    delivered: bool
    status_code: int
    error: str
    # Not worth retrying whatever the status (the target is refused).
    final: bool = False


async def attempt(
    client: httpx.AsyncClient, url: str, body: bytes, headers: Mapping[str, str], *, allow_http: bool = True
) -> AttemptResult:
    if not allow_http and not url.lower().startswith("https://"):
        return AttemptResult(False, 0, REFUSED, final=True)
    try:
        response = await client.post(url, content=body, headers=dict(headers))
    except httpx.HTTPError as err:
        refusal = refusal_of(err)
        if refusal is not None:
            return AttemptResult(False, 0, refusal, final=refusal == REFUSED)
        return AttemptResult(False, 0, f"{type(err).__name__}: {err}"[:500] or type(err).__name__)
    if 200 <= response.status_code < 300:
        return AttemptResult(True, response.status_code, "")
    return AttemptResult(False, response.status_code, f"HTTP {response.status_code}: {response.text[:200]}")


def post_sync(
    url: str, body: Mapping[str, Any], *, secret: str = "", event: str = "", event_id: str = "",
    max_attempts: int = 5, backoff: float = 1.0, backoff_max: float = 60.0, timeout: float = 10.0,
) -> AttemptResult:
    """POST one webhook body now, retrying with exponential back-off (the offline ``CustomerTracker``)."""
    data = encode_body(body)
    result = AttemptResult(False, 0, "not attempted")
    with httpx.Client(timeout=timeout) as client:
        for n in range(1, max_attempts + 1):
            headers = signed_headers(secret, data, event or str(body.get("event", "")), event_id, n)
            try:
                response = client.post(url, content=data, headers=headers)
                if 200 <= response.status_code < 300:
                    return AttemptResult(True, response.status_code, "")
                result = AttemptResult(False, response.status_code, f"HTTP {response.status_code}")
                if not retryable(response.status_code):
                    return result
            except httpx.HTTPError as err:
                result = AttemptResult(False, 0, f"{type(err).__name__}: {err}")
            if n < max_attempts:
                time.sleep(backoff_s(n, backoff, backoff_max))
    return result


class Dispatcher:
    """Publishes the outbox to NATS, fans it out to webhooks and delivers them (see the module docstring)."""

    def __init__(
        self, customers: Customers, bus: EventBus | None, *, config: CustomersConfig | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.customers = customers
        self.db: Database = customers.db
        self.bus = bus
        self.config = config or customers.config
        self._client = client
        self._own_client = client is None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._inflight: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self._stopping = False
        if self._client is None:
            self._client = httpx.AsyncClient(
                transport=GuardedTransport(self.config.webhook_policy), timeout=self.config.webhook_timeout_s,
                follow_redirects=False, trust_env=False,
            )
        self._task = asyncio.create_task(self._run(), name="customers:dispatcher")

    async def stop(self) -> None:
        """Finish the step in progress (an attempt in flight is recorded), then stop."""
        self._stopping = True
        self.customers.outbox_signal.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), self.config.webhook_timeout_s + 5)
            except (TimeoutError, asyncio.CancelledError):
                await cancel_and_wait(self._task)
            except Exception:
                log.exception("customers dispatcher ended with an error")
            self._task = None
        for task in list(self._inflight):
            task.cancel()
        if self._inflight:
            await asyncio.gather(*self._inflight, return_exceptions=True)
        if self._own_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _run(self) -> None:
        signal = self.customers.outbox_signal
        last_flush = 0.0
        while not self._stopping:
            try:
                signal.clear()
                await self.publish_pending()
                await self.deliver_due()
                loop = asyncio.get_running_loop()
                if loop.time() - last_flush >= 1.0:
                    last_flush = loop.time()
                    if await self.customers.flush_quiet_cameras():
                        continue
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("customers dispatcher step failed; retrying")
            if self._stopping:
                return
            try:
                await asyncio.wait_for(signal.wait(), self.config.dispatch_interval_s)
            except TimeoutError:
                pass

    async def publish_pending(self, limit: int = 200) -> int:
        """Publish and fan out the outbox; returns the number of events handled."""
        handled = 0
        while True:
            async with self.db.system() as conn:
                rows = await store.unpublished_events_system(conn, limit)
                for row in rows:
                    if self.bus is not None:
                        payload = _PAYLOAD_TYPES[row["event"]].FromString(bytes(row["payload"]))
                        envelope = make_envelope(
                            row["org_id"], SERVICE, row["event"], payload, event_id=row["event_id"],
                            occurred_at=row["occurred_at"],
                        )
                        await outbox.stage(conn, self.bus, envelope)
                    await store.fan_out_system(conn, row["org_id"], row["event_id"], row["event"], row["body"])
            handled += len(rows)
            if len(rows) < limit:
                return handled

    async def deliver_due(self, limit: int = 50) -> int:
        """Attempt every due delivery once (concurrently); returns how many were attempted."""
        async with self.db.system() as conn:
            leased = await store.lease_due_deliveries_system(conn, limit, lease_s=self.config.webhook_timeout_s + 30)
        if not leased:
            return 0
        await asyncio.gather(*(self._deliver(row) for row in leased))
        return len(leased)

    async def _deliver(self, row: Mapping[str, Any]) -> None:
        assert self._client is not None
        body = encode_body(row["body"])
        headers = signed_headers(row["secret"], body, row["event"], row["event_id"], row["id"])
        result = await attempt(self._client, row["url"], body, headers, allow_http=self.config.webhook_allow_http)
        number = int(row["attempts"]) + 1
        retry_in: float | None = None
        if not result.delivered and not result.final and number < self.config.webhook_max_attempts and (
            result.status_code == 0 or retryable(result.status_code)
        ):
            retry_in = backoff_s(number, self.config.webhook_backoff_s, self.config.webhook_backoff_max_s)
        if not result.delivered:
            log.info("webhook delivery %s to %s failed (attempt %d): %s", row["id"], row["url"], number, result.error)
        async with self.db.system() as conn:
            await store.record_attempt_system(
                conn, int(row["id"]), delivered=result.delivered, status_code=result.status_code,
                error=result.error, retry_in_s=retry_in,
            )
        outcome = "delivered" if result.delivered else "retried" if retry_in is not None else "failed"
        WEBHOOK_DELIVERIES.labels(row["event"], outcome).inc()
        if retry_in is not None:
            self._wake_after(retry_in)

    def _wake_after(self, delay: float) -> None:
        async def wake() -> None:
            await asyncio.sleep(delay + 0.01)
            self.customers.outbox_signal.set()

        task = asyncio.create_task(wake())
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)
