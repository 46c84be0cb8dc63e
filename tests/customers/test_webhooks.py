"""Webhooks against a real local HTTP server that fails first: retries, back-off, signatures, delivery log."""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from footfall.services.core.db import Database
from footfall.services.core.embedded import free_port
from footfall.services.core.errors import InvalidArgument, NotFound
from footfall.services.customers.service import Customers, CustomersConfig
from footfall.services.customers.webhooks import (
    EVENT_HEADER,
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Dispatcher,
    post_sync,
    verify_signature,
)
from tests.conftest import unique_org
from tests.customers.factories import tick, visit_events

T0 = 1_700_100_000.0
# The receivers here listen on 127.0.0.1 over plain http, which webhooks refuse unless allowed.
LOCAL_RECEIVERS: dict[str, Any] = {"webhook_allow_http": True, "webhook_allowed_networks": ("127.0.0.0/8",)}


@dataclass
class Receiver:
    """An http.server that answers 503 to the first `fail_first` POSTs per (path, event id), then 200."""

    fail_first: int = 2
    status_after: int = 200
    hits: list[dict] = field(default_factory=list)  # type: ignore[type-arg]
    url: str = ""

    def handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                event_id = self.headers.get(EVENT_ID_HEADER, "")
                earlier = sum(1 for h in receiver.hits if h["event_id"] == event_id and h["path"] == self.path)
                status = 503 if earlier < receiver.fail_first else receiver.status_after
                receiver.hits.append({"at": time.monotonic(), "event_id": event_id, "body": body,
                                      "headers": dict(self.headers), "status": status, "path": self.path})
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok" if status == 200 else b"try later")

            def log_message(self, *args: object) -> None:
                pass

        return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), r.handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    r.url = f"http://127.0.0.1:{port}/hooks/footfall"
    yield r
    server.shutdown()
    server.server_close()


async def test_deliveries_retry_with_backoff_until_the_server_accepts(database: Database, receiver: Receiver) -> None:
    org = unique_org()
    config = CustomersConfig(webhook_backoff_s=0.3, webhook_backoff_max_s=5, webhook_max_attempts=5,
                             dispatch_interval_s=0.05, idle_flush_s=3600, **LOCAL_RECEIVERS)
    svc = Customers(database, config=config)
    hook, secret = await svc.create_webhook(org, receiver.url, secret="s3cret")
    assert secret == "s3cret" and hook.events == ["customer_entry", "journey_complete"]
    only_done, _ = await svc.create_webhook(org, receiver.url + "?only=complete", ["journey_complete"])
    dispatcher = Dispatcher(svc, None)
    dispatcher.start()
    try:
        out = await svc.apply_vision_events(org, visit_events("CAM", "w1", T0, T0 + 90, [("checkout", T0 + 10, T0 + 80)])
                                            + [tick("CAM", T0 + 110)])
        assert len(out) == 2
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and sum(h["status"] == 200 for h in receiver.hits) < 3:
            await asyncio.sleep(0.05)
    finally:
        await dispatcher.stop()
    ok = [h for h in receiver.hits if h["status"] == 200]
    assert len(ok) == 3  # entry + completion to the first hook, completion to the second
    bodies = sorted((json.loads(h["body"]) for h in ok if h["path"] == "/hooks/footfall"), key=lambda b: b["event"])
    entry, done = bodies
    assert entry == {"event": "customer_entry", "customer_id": entry["customer_id"], "timestamp": T0}
    assert done == {"event": "journey_complete", "customer_id": entry["customer_id"], "duration": 90.0,
                    "behavior": "browser", "conversion": "No Purchase"}
    assert [json.loads(h["body"])["event"] for h in ok if h["path"] != "/hooks/footfall"] == ["journey_complete"]
    for h in receiver.hits:
        headers = {k.lower(): v for k, v in h["headers"].items()}
        assert headers[EVENT_HEADER.lower()] == json.loads(h["body"])["event"]
        key = "s3cret" if h["path"] == "/hooks/footfall" else None
        if key:
            assert verify_signature(key, h["body"], headers[TIMESTAMP_HEADER.lower()], headers[SIGNATURE_HEADER.lower()])
            assert not verify_signature("wrong", h["body"], headers[TIMESTAMP_HEADER.lower()],
                                        headers[SIGNATURE_HEADER.lower()])
    # Each event: two 503s, then 200, spaced by the exponential back-off (0.3 s, then 0.6 s).
    for event_id in {h["event_id"] for h in receiver.hits}:
        tries = [h for h in receiver.hits if h["event_id"] == event_id and h["path"] == "/hooks/footfall"]
        if not tries:
            continue
        assert [t["status"] for t in tries] == [503, 503, 200]
        gaps = [b["at"] - a["at"] for a, b in itertools.pairwise(tries)]
        assert gaps[0] >= 0.29 and gaps[1] >= 0.59, gaps
    log, token = await svc.list_deliveries(org, hook.id)
    assert token == "" and len(log) == 2
    assert all(d.status == "delivered" and d.attempts == 3 and d.last_status_code == 200 for d in log)
    assert {d.event for d in log} == {"customer_entry", "journey_complete"}
    second_log, _ = await svc.list_deliveries(org, only_done.id)
    assert [d.event for d in second_log] == ["journey_complete"]
    with pytest.raises(NotFound):
        await svc.list_deliveries(unique_org(), hook.id)


async def test_permanent_errors_and_unreachable_hosts_end_failed(database: Database, receiver: Receiver) -> None:
    org = unique_org()
    receiver.fail_first, receiver.status_after = 0, 404
    config = CustomersConfig(webhook_backoff_s=0.05, webhook_max_attempts=3, dispatch_interval_s=0.05,
                             idle_flush_s=3600, webhook_timeout_s=2, **LOCAL_RECEIVERS)
    svc = Customers(database, config=config)
    gone, _ = await svc.create_webhook(org, receiver.url, ["customer_entry"])
    dead, _ = await svc.create_webhook(org, f"http://127.0.0.1:{free_port()}/nobody", ["customer_entry"])
    dispatcher = Dispatcher(svc, None)
    dispatcher.start()
    try:
        await svc.apply_vision_events(org, visit_events("CAM", "f1", T0, T0 + 30) + [tick("CAM", T0 + 40)])
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            logs = [(await svc.list_deliveries(org, h.id))[0] for h in (gone, dead)]
            if all(lg and lg[0].status == "failed" for lg in logs):
                break
            await asyncio.sleep(0.1)
    finally:
        await dispatcher.stop()
    (g,), (d,) = logs
    assert g.status == "failed" and g.attempts == 1 and g.last_status_code == 404  # 4xx: not retried
    assert d.status == "failed" and d.attempts == 3 and d.last_status_code == 0 and d.last_error


async def test_webhook_validation_and_crud(database: Database) -> None:
    svc, org = Customers(database), unique_org()
    with pytest.raises(InvalidArgument):
        await svc.create_webhook(org, "ftp://example.com/x")
    with pytest.raises(InvalidArgument):
        await svc.create_webhook(org, "https://example.com/x", ["customer_exit"])
    hooks = [(await svc.create_webhook(org, f"https://example.com/{i}"))[0] for i in range(3)]
    page, token = await svc.list_webhooks(org, 2)
    rest, token2 = await svc.list_webhooks(org, 2, token)
    assert [h.id for h in page + rest] == [h.id for h in hooks] and token2 == ""
    assert len((await svc.create_webhook(org, "https://example.com/x"))[1]) >= 32  # a generated secret
    await svc.delete_webhook(org, hooks[0].id)
    with pytest.raises(NotFound):
        await svc.delete_webhook(org, hooks[0].id)
    with pytest.raises(NotFound):
        await svc.delete_webhook(unique_org(), hooks[1].id)


def test_post_sync_retries(receiver: Receiver) -> None:
    result = post_sync(receiver.url, {"event": "customer_entry", "customer_id": "c1", "timestamp": 1.0},
                       secret="k", max_attempts=4, backoff=0.05)
    assert result.delivered and [h["status"] for h in receiver.hits] == [503, 503, 200]
