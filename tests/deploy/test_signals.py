"""`footfall up` stops cleanly on SIGTERM (docker, Kubernetes, systemd) and SIGINT (Ctrl-C): the process exits and
the embedded PostgreSQL and nats-server it started do not outlive it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from footfall.services.core.embedded import free_port


def _processes_using(path: Path) -> list[str]:
    # -ww: without a terminal ps cuts command lines at 80 columns, before the data dir shows
    out = subprocess.run(["ps", "-ww", "-eo", "pid,args"], capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if str(path) in line and " ps -ww " not in line]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_up_stops_everything_it_started(tmp_path: Path, sig: signal.Signals) -> None:
    data_dir = tmp_path / "data"
    http_port, grpc_port = free_port(), free_port()
    env = {**os.environ, "FOOTFALL_DATA_DIR": str(data_dir), "FOOTFALL_ADMIN_PASSWORD": "signal-test-password",
           "FOOTFALL_LOG_LEVEL": "WARNING"}
    env.pop("FOOTFALL_DATABASE_URL", None)
    env.pop("FOOTFALL_NATS_URL", None)
    footfall = Path(sys.executable).parent / "footfall"
    proc = subprocess.Popen([str(footfall), "up", "--demo", "--port", str(http_port), "--grpc-port", str(grpc_port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]  # type: ignore[union-attr]
            try:
                if httpx.get(f"http://127.0.0.1:{http_port}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        else:
            pytest.fail("footfall up did not become healthy")
        assert _processes_using(data_dir), "the embedded servers should be running under the data dir"
        proc.send_signal(sig)
        asked = time.monotonic()
        proc.wait(timeout=90)
        print(f"footfall up stopped {time.monotonic() - asked:.1f} s after {sig.name}")
        assert not _processes_using(data_dir), "embedded servers outlived footfall up"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        for line in _processes_using(data_dir):  # never leave servers behind, even when the test failed
            os.kill(int(line.split(None, 1)[0]), signal.SIGTERM)
