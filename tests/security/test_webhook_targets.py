"""Webhook targets: https only, no loopback/link-local/private/metadata unless allowed, checked at creation and
again when each delivery connects; the delivery log of a refused target says nothing about it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from footfall.services.core.config import Settings
from footfall.services.core.db import Database
from footfall.services.core.embedded import free_port
from footfall.services.core.errors import InvalidArgument
from footfall.services.customers.service import Customers, CustomersConfig
from footfall.services.customers.webhook_targets import NOT_ALLOWED
from footfall.services.customers.webhooks import Dispatcher
from tests.conftest import unique_org
from tests.customers.factories import tick, visit_events

T0 = 1_700_200_000.0
LOCAL = {"webhook_allow_http": True, "webhook_allowed_networks": ("127.0.0.0/8",)}


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[str]]]:
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            hits.append(self.path)
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(500)  # a body the log must never show
            self.end_headers()
            self.wfile.write(b"internal admin page: secret")

        def log_message(self, *args: object) -> None:
            pass

    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{port}/hook", hits
    server.shutdown()
    server.server_close()


def test_settings_reach_the_config() -> None:
    config = CustomersConfig.from_settings(Settings(webhook_allow_http=True, webhook_allowed_networks=["10.0.0.0/8"]))
    assert config.webhook_allow_http and config.webhook_allowed_networks == ("10.0.0.0/8",)
    assert config.webhook_policy.allows("10.1.1.1") and not config.webhook_policy.allows("127.0.0.1")
    assert not CustomersConfig.from_settings(Settings()).webhook_allow_http


async def test_creation_refuses_internal_targets(database: Database) -> None:
    org = unique_org()
    strict = Customers(database)
    with pytest.raises(InvalidArgument, match="https"):
        await strict.create_webhook(org, "http://8.8.8.8/hook")
    for url in ("https://169.254.169.254/latest/meta-data/", "https://127.0.0.1:8443/", "https://localhost/x",
                "https://[::1]/", "https://10.0.0.7/hook", "https://192.168.1.1/", "https://[fd00:ec2::254]/",
                "https://0.0.0.0/", "https://2130706433/"):
        with pytest.raises(InvalidArgument) as err:
            await strict.create_webhook(org, url)
        assert str(err.value) == NOT_ALLOWED, url
    for url in ("https://a b/", "https://x\\@127.0.0.1/", "https://:80/", "https://8.8.8.8:99999/"):
        with pytest.raises(InvalidArgument):
            await strict.create_webhook(org, url)
    hook, _ = await strict.create_webhook(org, "https://8.8.8.8/hook")  # public: fine
    assert hook.url == "https://8.8.8.8/hook"
    await strict.create_webhook(org, "https://not-resolvable-yet.invalid/hook")  # checked again at delivery
    allowed = Customers(database, config=CustomersConfig(**LOCAL))  # type: ignore[arg-type]
    await allowed.create_webhook(org, "http://127.0.0.1:9/hook")
    with pytest.raises(InvalidArgument):
        await allowed.create_webhook(org, "http://169.254.169.254/latest/meta-data/")  # metadata: never


async def test_delivery_rechecks_and_logs_no_details(database: Database, receiver: tuple[str, list[str]]) -> None:
    url, hits = receiver
    org = unique_org()
    fast = {"webhook_backoff_s": 0.05, "webhook_max_attempts": 3, "dispatch_interval_s": 0.05, "idle_flush_s": 3600,
            "webhook_timeout_s": 2}
    created_when_allowed = Customers(database, config=CustomersConfig(**fast, **LOCAL))  # type: ignore[arg-type]
    hook, _ = await created_when_allowed.create_webhook(org, url, ["customer_entry"])
    # Since then the name (or the configuration) changed: the target is refused when the delivery connects.
    customers = Customers(database, config=CustomersConfig(**fast, webhook_allow_http=True))  # type: ignore[arg-type]
    dispatcher = Dispatcher(customers, None)
    dispatcher.start()
    try:
        await customers.apply_vision_events(org, visit_events("CAM", "r1", T0, T0 + 30) + [tick("CAM", T0 + 40)])
        log: list = []  # type: ignore[type-arg]
        for _ in range(300):
            log, _ = await customers.list_deliveries(org, hook.id)
            if log and log[0].status == "failed":
                break
            await asyncio.sleep(0.05)
    finally:
        await dispatcher.stop()
    (delivery,) = log
    assert delivery.status == "failed" and delivery.attempts == 1 and delivery.last_status_code == 0
    assert delivery.last_error == "target address not allowed"
    assert hits == []
