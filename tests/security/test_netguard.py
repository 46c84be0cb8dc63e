"""The outbound-target rule (services/core/netguard.py), and its httpx transport against a real local server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from footfall.services.core.embedded import free_port
from footfall.services.core.netguard import REFUSED, GuardedTransport, TargetPolicy, TargetRefused, refusal_of

PUBLIC_ONLY = TargetPolicy.of(allow_private=False)
CAMERAS = TargetPolicy.of(allow_private=True)
LOOPBACK_LISTED = TargetPolicy.of(allow_private=False, allowed_networks=["127.0.0.0/8", "169.254.0.0/16"])


@pytest.mark.parametrize("address,public_only,cameras,loopback_listed", [
    ("8.8.8.8", True, True, True),
    ("2606:4700::1111", True, True, True),
    ("10.1.2.3", False, True, False),
    ("192.168.0.10", False, True, False),
    ("100.64.0.1", False, True, False),  # carrier-grade NAT
    ("fd12::1", False, True, False),
    ("127.0.0.1", False, False, True),
    ("::1", False, False, False),
    ("169.254.10.10", False, False, True),
    ("fe80::1", False, False, False),
    ("169.254.169.254", False, False, False),  # metadata: never, even inside an allowed network
    ("fd00:ec2::254", False, False, False),
    ("0.0.0.0", False, False, False),
    ("224.0.0.251", False, False, False),
    ("255.255.255.255", False, False, False),
    ("::ffff:127.0.0.1", False, False, False),  # IPv4-mapped loopback
    ("64:ff9b::a9fe:a9fe", False, False, False),  # NAT64 of 169.254.169.254
])
def test_the_rule(address: str, public_only: bool, cameras: bool, loopback_listed: bool) -> None:
    assert PUBLIC_ONLY.allows(address) is public_only
    assert CAMERAS.allows(address) is cameras
    assert LOOPBACK_LISTED.allows(address) is loopback_listed


@pytest.mark.parametrize("host", ["localhost", "127.1", "2130706433", "[::1]", "0x7f.0.0.1"])
async def test_names_and_odd_spellings_are_judged_by_what_they_resolve_to(host: str) -> None:
    with pytest.raises(TargetRefused):
        await CAMERAS.check_host(host, 80)


@pytest.fixture
def local_server() -> Iterator[tuple[int, list[str]]]:
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            hits.append(self.path)
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield port, hits
    server.shutdown()
    server.server_close()


async def test_the_transport_checks_the_address_it_connects_to(local_server: tuple[int, list[str]]) -> None:
    port, hits = local_server
    async with httpx.AsyncClient(transport=GuardedTransport(LOOPBACK_LISTED)) as allowed:
        assert (await allowed.post(f"http://localhost:{port}/ok", content=b"{}")).status_code == 204
    async with httpx.AsyncClient(transport=GuardedTransport(PUBLIC_ONLY)) as guarded:
        for url in (f"http://127.0.0.1:{port}/no", f"http://localhost:{port}/no", f"http://[::ffff:127.0.0.1]:{port}/"):
            with pytest.raises(httpx.ConnectError) as err:
                await guarded.post(url, content=b"{}")
            assert refusal_of(err.value) == REFUSED
    assert hits == ["/ok"]
