"""Never two servers on one store: a start that finds the embedded PostgreSQL or nats-server an earlier process
left running on its data directory (that process killed with -9, so it stopped nothing) stops it first; a
directory a live process still uses is refused."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import nats
import psycopg
import pytest
from footfall.services.core.embedded import DirectoryInUse, EmbeddedPostgres, NatsServer

# Starts both servers on the data dir given, says so, and waits to be killed.
_OWNER = textwrap.dedent("""
    import signal, sys
    from pathlib import Path
    from footfall.services.core.embedded import EmbeddedPostgres, NatsServer
    root = Path(sys.argv[1])
    EmbeddedPostgres(root / "postgres").start()
    NatsServer(root / "nats").start()
    print("ready", flush=True)
    signal.pause()
""")


def _servers_on(root: Path) -> list[str]:
    """The postmaster and nats-server processes whose command line names a directory under `root`."""
    out = subprocess.run(["ps", "-ww", "-eo", "pid,args"], capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines()
            if str(root) in line and ("nats-server" in line or "bin/postgres" in line) and " ps -ww " not in line]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


def _leave_orphans(root: Path) -> tuple[int, int]:
    """Run an owner of both servers in a subprocess, kill -9 it (the parent only) and return the orphans' pids."""
    owner = subprocess.Popen([sys.executable, "-c", _OWNER, str(root)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = owner.stdout.readline()  # type: ignore[union-attr]
        assert line.strip() == b"ready", owner.stderr.read().decode()[-2000:]  # type: ignore[union-attr]
    finally:
        owner.kill()
        owner.wait()
    pg_pid = int((root / "postgres" / "postmaster.pid").read_text().split()[0])
    nats_pid = int((root / "nats" / NatsServer.PID_NAME).read_text().split()[0])
    assert _alive(pg_pid) and _alive(nats_pid), "kill -9 of the owner should leave both servers running"
    return pg_pid, nats_pid


async def _nats_round_trip(url: str) -> None:
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        await js.add_stream(name="STALE", subjects=["stale.>"])
        ack = await js.publish("stale.x", b"1")
        assert ack.stream == "STALE"
    finally:
        await nc.close()


def test_a_start_stops_the_servers_an_orphan_left_on_its_data_dir(tmp_path: Path) -> None:
    root = tmp_path / "data"
    pg_pid, nats_pid = _leave_orphans(root)
    assert len(_servers_on(root)) == 2
    pg, server = EmbeddedPostgres(root / "postgres"), NatsServer(root / "nats")
    try:
        url = pg.start()
        assert not _alive(pg_pid), "the orphaned PostgreSQL is still running"
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        server.start()
        assert not _alive(nats_pid), "the orphaned nats-server is still running"
        asyncio.run(_nats_round_trip(server.url))
        running = _servers_on(root)
        assert len(running) == 2, running  # one postmaster, one nats-server: never two on one store
        assert str(pg_pid) not in " ".join(running) and str(nats_pid) not in " ".join(running)
    finally:
        server.stop()
        pg.stop()
    assert _servers_on(root) == [], "stopping should leave nothing running (stale handles included)"


def test_a_directory_in_use_by_a_live_process_is_refused(tmp_path: Path) -> None:
    with NatsServer(tmp_path / "nats") as first:
        with pytest.raises(DirectoryInUse, match=str(os.getpid())):
            NatsServer(tmp_path / "nats").start()
        assert first.running
    again = NatsServer(tmp_path / "nats")  # once released, the directory can be used again
    try:
        again.start()
    finally:
        again.stop()

