"""Start and stop the tritonserver bundled in nvidia-pytriton, for tests and CPU development.

nvidia-pytriton pins ``numpy<2`` and its python-backend stub needs numpy 1.x, so it lives in its own
virtualenv (``inference/triton/setup_test_server.sh`` creates ``<repo>/.venv-triton``; override with
``FOOTFALL_TRITON_VENV``). This module only needs the standard library and ``tritonclient`` (to wait for
readiness); the server runs as a child process with:

- ``LD_LIBRARY_PATH`` = pytriton's bundled libs + the venv interpreter's ``LIBDIR`` (without the latter,
  python-backend models fail to load with ``'_thread.RLock' object has no attribute '_recursion_count'``);
- ``PATH`` starting with the venv's ``bin`` so the stub's embedded Python uses that venv (numpy<2,
  onnxruntime);
- a backend directory holding pytriton's python backend plus the stub for the venv's Python version;
- fixed gRPC/HTTP/metrics ports picked by :func:`find_free_ports` (tritonserver does not accept port 0).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Self

REPO_ROOT = Path(__file__).resolve().parents[2]
SETUP_SCRIPT = Path(__file__).resolve().parent / "setup_test_server.sh"


@dataclass(frozen=True)
class TritonInstall:
    venv: Path
    binary: Path
    backends: Path  # pytriton's tritonserver/backends
    stub: Path  # triton_python_backend_stub for the venv's Python
    libs: Path  # nvidia_pytriton.libs
    python_libdir: Path  # sysconfig LIBDIR of the venv's interpreter


def default_venv() -> Path:
    return Path(os.environ.get("FOOTFALL_TRITON_VENV", REPO_ROOT / ".venv-triton"))


def find_install(venv: Path | None = None) -> TritonInstall:
    """Locate tritonserver inside the test venv; ``FileNotFoundError`` says how to install it."""
    venv = default_venv() if venv is None else venv
    python = venv / "bin" / "python"
    if not python.exists():
        raise FileNotFoundError(f"no Triton test venv at {venv}: run {SETUP_SCRIPT}")
    probe = (
        "import sys, sysconfig, pathlib, pytriton; "
        "print(pathlib.Path(pytriton.__file__).parent); "
        "print(sysconfig.get_config_var('LIBDIR')); "
        "print(f'{sys.version_info[0]}.{sys.version_info[1]}')"
    )
    try:
        out = subprocess.run([str(python), "-c", probe], check=True, capture_output=True, text=True).stdout
    except subprocess.CalledProcessError as exc:
        raise FileNotFoundError(
            f"nvidia-pytriton is not importable in {venv}: run {SETUP_SCRIPT}\n{exc.stderr}"
        ) from exc
    package, libdir, version = (Path(line) for line in out.split())
    dist = package / "tritonserver"
    install = TritonInstall(
        venv=venv,
        binary=dist / "bin" / "tritonserver",
        backends=dist / "backends",
        stub=dist / "python_backend_stubs" / str(version) / "triton_python_backend_stub",
        libs=package.parent / "nvidia_pytriton.libs",
        python_libdir=libdir,
    )
    for path in (install.binary, install.backends, install.stub):
        if not path.exists():
            raise FileNotFoundError(f"{path} is missing from nvidia-pytriton in {venv}")
    return install


def find_free_ports(count: int = 3, start: int = 18000, end: int = 28000) -> list[int]:
    """``count`` loopback TCP ports that are free now, probed from a per-process offset."""
    ports: list[int] = []
    candidate = start + (os.getpid() * 7) % (end - start)
    for _ in range(end - start):
        candidate = start + (candidate + 1 - start) % (end - start)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("0.0.0.0", candidate))
            except OSError:
                continue
        ports.append(candidate)
        if len(ports) == count:
            return ports
    raise RuntimeError(f"no {count} free ports in {start}..{end}")


class LocalTritonServer:
    """``with LocalTritonServer(repo) as server: server.grpc_url`` - started, ready, always stopped."""

    def __init__(
        self,
        model_repository: Path,
        *,
        venv: Path | None = None,
        ports: tuple[int, int, int] | None = None,
        log_path: Path | None = None,
    ) -> None:
        self.model_repository = Path(model_repository)
        self.install = find_install(venv)
        grpc, http, metrics = ports or tuple(find_free_ports(3))
        self.grpc_port, self.http_port, self.metrics_port = grpc, http, metrics
        self._workdir = Path(tempfile.mkdtemp(prefix="footfall-triton-"))
        self.log_path = log_path or self._workdir / "tritonserver.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def grpc_url(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    def start(self, timeout_s: float = 120.0) -> None:
        backends = self._workdir / "backends"
        shutil.copytree(self.install.backends, backends)
        shutil.copy2(self.install.stub, backends / "python" / "triton_python_backend_stub")
        env = dict(os.environ)
        env["LD_LIBRARY_PATH"] = os.pathsep.join(
            p
            for p in (str(self.install.libs), str(self.install.python_libdir), env.get("LD_LIBRARY_PATH"))
            if p
        )
        env["PATH"] = os.pathsep.join([str(self.install.venv / "bin"), env.get("PATH", "")])
        env.pop("PYTHONPATH", None)
        env.pop("PYTHONHOME", None)
        command = [
            str(self.install.binary),
            f"--model-repository={self.model_repository}",
            f"--backend-directory={backends}",
            f"--grpc-port={self.grpc_port}",
            f"--http-port={self.http_port}",
            f"--metrics-port={self.metrics_port}",
            "--allow-metrics=false",
            "--exit-on-error=true",
            "--disable-auto-complete-config",
            "--exit-timeout-secs=5",
            f"--backend-config=python,shm-region-prefix-name=footfall{os.getpid()}_{self.grpc_port}",
        ]
        log = self.log_path.open("wb")
        self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        log.close()
        try:
            self._wait_ready(timeout_s)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, timeout_s: float) -> None:
        import tritonclient.grpc as grpcclient
        from tritonclient.utils import InferenceServerException

        client = grpcclient.InferenceServerClient(url=self.grpc_url)
        deadline = time.monotonic() + timeout_s
        try:
            while time.monotonic() < deadline:
                assert self._process is not None
                if self._process.poll() is not None:
                    raise RuntimeError(f"tritonserver exited with {self._process.returncode}:\n{self.logs()}")
                with contextlib.suppress(InferenceServerException):  # not listening yet
                    if client.is_server_ready(client_timeout=2.0):
                        return
                time.sleep(0.25)
        finally:
            client.close()
        raise TimeoutError(f"tritonserver not ready after {timeout_s:.0f} s:\n{self.logs()}")

    def logs(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-6000:]
        except OSError:
            return ""

    def stop(self, timeout_s: float = 30.0) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(self._workdir / "backends", ignore_errors=True)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
