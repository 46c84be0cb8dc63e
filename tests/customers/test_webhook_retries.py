"""The webhook retry policy against a real local HTTP receiver: 408, 429, 5xx and network errors are retried,
every other 4xx fails at once, and the back-off doubles up to its cap. The dispatcher is stepped by hand
(`publish_pending`, `deliver_due`) and deliveries are made due in the database, so nothing waits on a clock."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from footfall.services.core.db import Database
from footfall.services.core.netguard import GuardedTransport
from footfall.services.customers.service import Customers, CustomersConfig, backoff_s
from footfall.services.customers.webhooks import Dispatcher, retryable

from tests.conftest import refusing_port, unique_org
from tests.customers.factories import visit_events

T0 = 1_700_200_000.0
LOCAL_RECEIVERS = {"webhook_allow_http": True, "webhook_allowed_networks": ("127.0.0.0/8",)}
RETRIED = [408, 429, 500, 502, 503, 504]
FINAL = [400, 401, 403, 404, 409, 410, 422]


@dataclass
class Receiver:
    """POST /s/<code> answers <code> the first time per event id, 200 after; /down always answers 503."""

    url: str = ""
    hits: list[tuple[str, str]] = field(default_factory=list)  # (path, event id)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, path: str) -> int:
        with self.lock:
            return sum(p == path for p, _ in self.hits)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            event_id = self.headers.get("X-Footfall-Event-Id", "")
            with r.lock:
                first = (self.path, event_id) not in r.hits
                r.hits.append((self.path, event_id))
            status = 503 if self.path == "/down" else int(self.path.rsplit("/", 1)[1]) if first else 200
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        request_queue_size = 128  # every delivery of a step connects at once (the default backlog is 5)

    server = Server(("127.0.0.1", 0), Handler)  # port 0: the kernel's pick, ours until closed
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    r.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield r
    server.shutdown()
    server.server_close()


def _stepper(svc: Customers) -> tuple[Dispatcher, httpx.AsyncClient]:
    client = httpx.AsyncClient(transport=GuardedTransport(svc.config.webhook_policy), timeout=30, trust_env=False)
    return Dispatcher(svc, None, client=client), client


async def _make_due(database: Database, org: str) -> None:
    async with database.system() as conn:
        await conn.execute("UPDATE webhook_deliveries SET next_attempt_at = now() WHERE org_id = %s AND "
                           "status = 'pending'", (org,))


def test_which_statuses_are_retried() -> None:
    assert all(retryable(code) for code in RETRIED + [425, 501, 599])
    assert not any(retryable(code) for code in FINAL + [200, 204, 301, 302])


def test_back_off_doubles_up_to_its_cap() -> None:
    assert [backoff_s(n, 2.0, 30.0) for n in range(1, 7)] == [2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert backoff_s(0, 2.0, 30.0) == 2.0


async def test_retried_and_final_statuses_end_to_end(database: Database, receiver: Receiver) -> None:
    org = unique_org()
    svc = Customers(database, config=CustomersConfig(webhook_backoff_s=60, webhook_backoff_max_s=600,
                                                     webhook_max_attempts=5, **LOCAL_RECEIVERS))
    hooks = {code: (await svc.create_webhook(org, f"{receiver.url}/s/{code}", ["customer_entry"]))[0]
             for code in RETRIED + FINAL}
    with refusing_port() as port:
        hooks[0] = (await svc.create_webhook(org, f"http://127.0.0.1:{port}/nobody", ["customer_entry"]))[0]
        dispatcher, client = _stepper(svc)
        try:
            await svc.apply_vision_events(org, visit_events("CAM", "r1", T0, T0 + 30))
            assert await dispatcher.publish_pending() >= 1
            assert await dispatcher.deliver_due() == len(hooks)
            assert await dispatcher.deliver_due() == 0  # nothing is due again before its back-off
            for code, hook in hooks.items():
                [delivery], _ = await svc.list_deliveries(org, hook.id)
                assert delivery.attempts == 1 and delivery.last_status_code == code, code
                assert delivery.status == ("failed" if code in FINAL else "pending"), (code, delivery.status)
                if code in FINAL:
                    assert str(code) in delivery.last_error
            await _make_due(database, org)
            assert await dispatcher.deliver_due() == len(RETRIED) + 1
        finally:
            await client.aclose()
    for code in RETRIED:
        [delivery], _ = await svc.list_deliveries(org, hooks[code].id)
        assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 2, 200), code
        assert receiver.count(f"/s/{code}") == 2
    for code in FINAL:
        assert receiver.count(f"/s/{code}") == 1, code  # never asked again
    [unreachable], _ = await svc.list_deliveries(org, hooks[0].id)
    assert (unreachable.status, unreachable.attempts) == ("pending", 2)


async def test_back_off_is_capped_and_attempts_end(database: Database, receiver: Receiver) -> None:
    org = unique_org()
    svc = Customers(database, config=CustomersConfig(webhook_backoff_s=100, webhook_backoff_max_s=250,
                                                     webhook_max_attempts=5, **LOCAL_RECEIVERS))
    hook, _ = await svc.create_webhook(org, f"{receiver.url}/down", ["customer_entry"])
    dispatcher, client = _stepper(svc)
    scheduled: list[float] = []
    try:
        await svc.apply_vision_events(org, visit_events("CAM", "r2", T0, T0 + 30))
        await dispatcher.publish_pending()
        for _ in range(5):
            assert await dispatcher.deliver_due() == 1
            [delivery], _ = await svc.list_deliveries(org, hook.id)
            if delivery.status == "pending":
                async with database.system() as conn:
                    cur = await conn.execute("SELECT extract(epoch FROM next_attempt_at - now()) AS s "
                                             "FROM webhook_deliveries WHERE id = %s", (delivery.id,))
                    scheduled.append(float((await cur.fetchone())["s"]))
                await _make_due(database, org)
    finally:
        await client.aclose()
    # 100, 200, then the 250 s cap; the seconds since each attempt only shorten what is left.
    assert [round(s, -1) for s in scheduled] == [100, 200, 250, 250], scheduled
    assert all(s <= want for s, want in zip(scheduled, [100, 200, 250, 250]))
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("failed", 5, 503)
    assert receiver.count("/down") == 5
