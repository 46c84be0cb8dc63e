"""The embedded servers never outlive `footfall up`, whichever way it ends: a signal in the middle of its start,
or a start that fails after they were started (test_signals.py covers a signal once it is up)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from footfall.services.core.embedded import free_port

from tests.deploy.test_signals import _processes_using


def _up(data_dir: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "FOOTFALL_DATA_DIR": str(data_dir), "FOOTFALL_ADMIN_PASSWORD": "exit-path-test-password",
           "FOOTFALL_LOG_LEVEL": "WARNING"}
    env.pop("FOOTFALL_DATABASE_URL", None)
    env.pop("FOOTFALL_NATS_URL", None)
    footfall = Path(sys.executable).parent / "footfall"
    return subprocess.Popen([str(footfall), "up", "--port", str(free_port()), *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)


def _cleanup(proc: subprocess.Popen[bytes], data_dir: Path) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    for line in _processes_using(data_dir):  # never leave servers behind, even when the test failed
        os.kill(int(line.split(None, 1)[0]), signal.SIGTERM)


def test_a_signal_during_the_start_stops_what_was_started(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    proc = _up(data_dir, "--grpc-port", str(free_port()))
    try:
        deadline = time.monotonic() + 180
        while not (data_dir / "postgres" / "postmaster.pid").exists():  # PostgreSQL is starting or started
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "footfall up never started PostgreSQL"
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=90)
        assert not _processes_using(data_dir), "embedded servers outlived a start cut short by SIGTERM"
    finally:
        _cleanup(proc, data_dir)


def test_a_failed_start_stops_the_servers_it_had_started(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with socket.socket() as taken:  # the gRPC port is in use: the start fails after PostgreSQL and NATS are up
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = _up(data_dir, "--grpc-port", str(port))
        try:
            assert proc.wait(timeout=180) != 0
            assert f"127.0.0.1:{port}".encode() in proc.stderr.read()  # type: ignore[union-attr]  # failed to bind
            assert (data_dir / "postgres" / "PG_VERSION").exists(), "the start should have got as far as PostgreSQL"
            assert not _processes_using(data_dir), "embedded servers outlived a failed start"
        finally:
            _cleanup(proc, data_dir)
