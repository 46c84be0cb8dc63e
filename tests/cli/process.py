"""`footfall` run as a real subprocess: started, waited on until healthy, signalled, and always reaped."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO

import httpx

FOOTFALL = str(Path(sys.executable).parent / "footfall")


def clean_env(**overrides: str) -> dict[str, str]:
    """This environment without any FOOTFALL_* setting of the caller's shell, plus `overrides`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOOTFALL_")}
    env.update(FOOTFALL_LOG_LEVEL="WARNING", **overrides)
    return env


@contextlib.contextmanager
def data_dir() -> Iterator[Path]:
    """A data directory for embedded servers, outside pytest's tmp_path: embedded PostgreSQL runs as another user
    when started as root and must traverse every parent, and a second pytest starting on the machine resets
    /tmp/pytest-of-<user> to 0700 under it."""
    with tempfile.TemporaryDirectory(prefix="ffcli") as tmp:
        yield Path(tmp) / "data"


def run(args: Sequence[str], env: Mapping[str, str], timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([FOOTFALL, *args], env=dict(env), capture_output=True, text=True, timeout=timeout, check=False)


class Footfall:
    """One long-running `footfall ...` process in its own session (so a test can send it Ctrl-C alone)."""

    def __init__(self, args: Sequence[str], env: Mapping[str, str], log_path: Path) -> None:
        self.args = list(args)
        self.log_path = log_path
        self._log: IO[bytes] = open(log_path, "ab")  # noqa: SIM115 - the process writes it until stop()
        self.proc = subprocess.Popen([FOOTFALL, *self.args], env=dict(env), stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def wait_healthy(self, base_url: str, timeout: float = 180) -> None:
        """Until GET /health answers 200 (the process must stay up meanwhile)."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while True:
            assert self.proc.poll() is None, f"footfall {self.args[0]} exited early:\n{self.output()}"
            try:
                r = httpx.get(f"{base_url}/health", timeout=2)
                if r.status_code == 200:
                    return
                last = f"{r.status_code} {r.text}"
            except httpx.HTTPError as exc:
                last = repr(exc)
            assert time.monotonic() < deadline, \
                f"footfall {self.args[0]} not healthy in {timeout}s ({last}):\n{self.output()}"
            time.sleep(0.2)

    def stop(self, sig: signal.Signals = signal.SIGINT, timeout: float = 90) -> int:
        """Send `sig` (SIGINT is what Ctrl-C sends) and wait for the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(timeout)
        self._log.close()
        return code

    def kill(self) -> None:
        """Never leave a process behind, even when the test failed."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self._log.close()
