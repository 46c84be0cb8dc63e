"""Ports for servers that must be told theirs before they start: handed out outside the kernel's ephemeral range
(where bind(0) and outgoing connections take theirs), never twice in one process, and a nats-server whose port
was taken meanwhile starts again elsewhere instead of "starting" against someone else's listener."""

from __future__ import annotations

import socket
import tempfile
from pathlib import Path

import pytest

from footfall.services.core import embedded
from footfall.services.core.embedded import NatsServer, free_port


def _ephemeral_range() -> range:
    low, high = (int(v) for v in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    return range(low, high + 1)


def test_free_ports_are_distinct_and_outside_the_ephemeral_range() -> None:
    ports = [free_port() for _ in range(200)]
    assert len(set(ports)) == len(ports)
    assert len({free_port() for _ in range(3000)} | set(ports)) == 3200  # 3200 in a row, every one new
    later = [free_port() for _ in range(10000)]  # a long session: ports come round again, never from the kernel's
    assert not any(p in _ephemeral_range() for p in later)
    ephemeral = _ephemeral_range()
    assert not any(p in ephemeral for p in ports)
    for port in ports[:20]:  # and really free: bindable now
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


def test_nats_moves_to_another_port_when_its_own_was_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as squatter, tempfile.TemporaryDirectory(prefix="ffports") as tmp:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        handed = [taken]  # the first port "free a moment ago" is someone else's by the time nats-server binds
        real = embedded.free_port
        monkeypatch.setattr(embedded, "free_port", lambda host="127.0.0.1": handed.pop() if handed else real(host))
        server = NatsServer(Path(tmp) / "nats")
        try:
            server.start()
            assert server.port != taken and server.running
            with socket.create_connection(("127.0.0.1", server.port), timeout=5) as conn:
                assert conn.recv(4).startswith(b"INFO")  # nats-server itself answers there
        finally:
            server.stop()


def test_nats_on_a_port_given_and_taken_fails_clearly() -> None:
    with socket.socket() as squatter, tempfile.TemporaryDirectory(prefix="ffports") as tmp:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()  # a bare connect would succeed here: start must not take it for nats-server
        server = NatsServer(Path(tmp) / "nats", port=squatter.getsockname()[1])
        with pytest.raises(RuntimeError, match="address already in use"):
            server.start()
        assert not server.running
