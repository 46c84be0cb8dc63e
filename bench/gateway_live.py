"""Gateway benchmark: live occupancy over REST and GraphQL, and publish -> subscription lag.

    .venv/bin/python bench/gateway_live.py [--clients 50] [--duration 10] [--crossings 300]

What it runs, all real: an embedded PostgreSQL and a nats-server (started here), and in a child process
the occupancy service plus the gateway assembled by `footfall.deploy.platform.serve` behind uvicorn. Then:

1. `--clients` concurrent clients (spread over `--procs` load processes) hammer
   `GET /api/occupancy/cameras/{id}/live` for `--duration` seconds, then the same number hammer the
   equivalent GraphQL query `liveOccupancy(cameraId)`; p50/p99 latency and requests/s for both.
2. A GraphQL subscription (graphql-transport-ws) watches the camera while `--crossings` LineCrossed
   events are published to NATS JetStream one by one; the lag is from just before each publish to the
   first pushed update whose `totalEntries` includes it (p50/p99).

Results print as a table; `--json PATH` also writes them (bench/results/ is git-ignored).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

ORG = "bench"
LIVE_QUERY = "query Live($id: ID!) { liveOccupancy(cameraId: $id) { cameraId currentOccupancy totalEntries totalExits uniquePersons lastUpdated } }"
SUBSCRIPTION = "subscription($id: ID!) { occupancy(cameraId: $id) { __typename ... on LiveOccupancy { totalEntries currentOccupancy } } }"


# The server (child process): occupancy service + gateway, exactly as `footfall serve`/`up` assemble them.


def serve_main() -> None:
    from footfall.services.core.config import Settings
    from footfall.services.core.logging import setup_logging
    from footfall.deploy.platform import serve

    setup_logging(os.environ.get("FOOTFALL_LOG_LEVEL", "WARNING"), False)
    asyncio.run(serve(Settings(), services=["occupancy"], gateway=True))


# Load generation (worker processes, so the client side is not the bottleneck)


def _load_worker(args: tuple[str, str, int, int, float, float]) -> dict[str, Any]:
    return asyncio.run(_load(*args))


async def _load(
    base: str, kind: str, camera_id: int, clients: int, start_at: float, duration: float
) -> dict[str, Any]:
    import httpx

    latencies: list[float] = []
    errors = 0
    headers = {"X-Footfall-Org": ORG}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=30) as client:
        if kind == "rest":

            async def one() -> bool:
                r = await client.get(f"/api/occupancy/cameras/{camera_id}/live")
                return r.status_code == 200 and "current_occupancy" in r.json()
        else:
            body = {"query": LIVE_QUERY, "variables": {"id": str(camera_id)}}

            async def one() -> bool:
                r = await client.post("/graphql", json=body)
                return r.status_code == 200 and not r.json().get("errors")

        while time.time() < start_at:  # all processes start together
            await asyncio.sleep(0.001)
        stop_at = start_at + duration

        async def run_client() -> None:
            nonlocal errors
            while time.time() < stop_at:
                t0 = time.perf_counter()
                try:
                    ok = await one()
                except Exception:  # noqa: BLE001 - counted, not fatal
                    ok = False
                if ok:
                    latencies.append(time.perf_counter() - t0)
                else:
                    errors += 1

        await asyncio.gather(*(run_client() for _ in range(clients)))
    return {"latencies": latencies, "errors": errors}


def run_load(
    base: str, kind: str, camera_id: int, clients: int, procs: int, duration: float
) -> dict[str, Any]:
    procs = max(1, min(procs, clients))
    shares = [clients // procs + (1 if i < clients % procs else 0) for i in range(procs)]
    start_at = time.time() + 1.0
    with mp.get_context("spawn").Pool(procs) as pool:
        parts = pool.map(_load_worker, [(base, kind, camera_id, n, start_at, duration) for n in shares])
    latencies = sorted(x for p in parts for x in p["latencies"])
    return {
        "kind": kind,
        "clients": clients,
        "duration_s": duration,
        "requests": len(latencies),
        "errors": sum(p["errors"] for p in parts),
        "rps": len(latencies) / duration,
        "p50_ms": _pct(latencies, 50) * 1000,
        "p99_ms": _pct(latencies, 99) * 1000,
        "mean_ms": (statistics.fmean(latencies) * 1000) if latencies else float("nan"),
    }


def _pct(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(p / 100 * (len(sorted_values) - 1))))
    return sorted_values[k]


# Publish -> live-visible lag over the GraphQL subscription


async def measure_lag(
    base: str, nats_url: str, camera_key: str, camera_id: int, line_id: int, count: int, interval_s: float
) -> dict[str, Any]:
    import websockets

    from footfall.v1 import common_pb2, events_pb2
    from footfall.services.core.events import EventBus

    bus = EventBus(nats_url)  # the platform's default stream and subject prefix, as the server uses
    await bus.connect()
    url = base.replace("http://", "ws://") + "/graphql"
    lags: list[float] = []
    sent: dict[int, float] = {}
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[attr-defined]
        await ws.send(json.dumps({"type": "connection_init", "payload": {"org": ORG}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(
            json.dumps(
                {
                    "type": "subscribe",
                    "id": "1",
                    "payload": {"query": SUBSCRIPTION, "variables": {"id": str(camera_id)}},
                }
            )
        )
        first = await _next_update(ws)
        base_entries = first["totalEntries"]
        seen = base_entries
        done = asyncio.Event()

        async def receive() -> None:
            nonlocal seen
            while seen < base_entries + count:
                update = await _next_update(ws)
                now = time.perf_counter()
                total = update.get("totalEntries")
                if total is None:
                    continue
                for n in range(seen + 1, total + 1):
                    t0 = sent.get(n - base_entries)
                    if t0 is not None:
                        lags.append(now - t0)
                seen = max(seen, total)
            done.set()

        receiver = asyncio.create_task(receive())
        for k in range(1, count + 1):
            crossing = events_pb2.LineCrossed(
                camera_id=camera_key,
                line_id=line_id,
                direction=common_pb2.CROSSING_DIRECTION_IN,
                track_id=f"t{k}",
                confidence=0.9,
            )
            sent[k] = time.perf_counter()
            await bus.emit(ORG, "vision", "crossing", crossing)
            await asyncio.sleep(interval_s)
        try:
            await asyncio.wait_for(done.wait(), 30)
        finally:
            receiver.cancel()
    await bus.close()
    lags.sort()
    return {
        "crossings": count,
        "observed": len(lags),
        "p50_ms": _pct(lags, 50) * 1000,
        "p99_ms": _pct(lags, 99) * 1000,
        "max_ms": (lags[-1] * 1000) if lags else float("nan"),
    }


async def _next_update(ws: Any) -> dict[str, Any]:
    while True:
        msg = json.loads(await ws.recv())
        if msg["type"] == "next":
            return msg["payload"]["data"]["occupancy"]
        if msg["type"] == "ping":
            await ws.send(json.dumps({"type": "pong"}))
        elif msg["type"] in ("error", "complete"):
            raise RuntimeError(f"subscription ended: {msg}")


# Orchestration


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument(
        "--procs", type=int, default=min(4, os.cpu_count() or 1), help="load-generating processes"
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per HTTP phase")
    parser.add_argument("--crossings", type=int, default=300)
    parser.add_argument("--interval", type=float, default=0.01, help="seconds between published crossings")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if args.serve:
        serve_main()
        return 0

    import httpx

    from footfall.services.core.embedded import EmbeddedPostgres, NatsServer, free_port
    from footfall.services.core.migrations import apply_migrations

    with tempfile.TemporaryDirectory(prefix="ffbench") as tmp:
        pg = EmbeddedPostgres(Path(tmp) / "pg", delete_on_stop=True)
        db_url = pg.start()
        apply_migrations(db_url)
        nats = NatsServer(Path(tmp) / "nats")
        nats.start()
        http_port, grpc_port = free_port(), free_port()
        env = {
            **os.environ,
            "FOOTFALL_DATABASE_URL": db_url,
            "FOOTFALL_NATS_URL": nats.url,
            "FOOTFALL_HTTP_PORT": str(http_port),
            "FOOTFALL_GRPC_PORT": str(grpc_port),
            "FOOTFALL_DATA_DIR": str(Path(tmp) / "data"),
            "FOOTFALL_LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(REPO),
        }
        server = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--serve"], env=env)
        base = f"http://127.0.0.1:{http_port}"
        try:
            _wait_healthy(base, server)
            key = f"BENCH_{uuid.uuid4().hex[:6].upper()}"
            with httpx.Client(base_url=base, headers={"X-Footfall-Org": ORG}, timeout=10) as c:
                camera = (
                    c.post(
                        "/api/occupancy/cameras",
                        json={"camera_id": key, "camera_name": "Bench gate", "camera_type": "entry_only"},
                    )
                    .raise_for_status()
                    .json()
                )
                line = (
                    c.post(
                        "/api/occupancy/lines",
                        json={
                            "camera_id": camera["id"],
                            "line_name": "door",
                            "x1": 0,
                            "y1": 300,
                            "x2": 1920,
                            "y2": 300,
                            "direction": "entry",
                            "confidence_threshold": 0.5,
                        },
                    )
                    .raise_for_status()
                    .json()
                )
            run_load(base, "rest", camera["id"], min(args.clients, 8), args.procs, 1.0)  # warm-up
            run_load(base, "graphql", camera["id"], min(args.clients, 8), args.procs, 1.0)
            rest = run_load(base, "rest", camera["id"], args.clients, args.procs, args.duration)
            gql = run_load(base, "graphql", camera["id"], args.clients, args.procs, args.duration)
            lag = asyncio.run(
                measure_lag(base, nats.url, key, camera["id"], line["id"], args.crossings, args.interval)
            )
        finally:
            server.terminate()
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                server.kill()
            nats.stop()
            pg.stop()

    results = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "rest": rest,
        "graphql": gql,
        "lag": lag,
    }
    print(
        f"\nGateway live occupancy, {args.clients} concurrent clients, {args.duration:.0f}s each "
        f"({args.procs} load processes, {os.cpu_count()} CPUs)"
    )
    print(f"{'':10}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}")
    for r in (rest, gql):
        print(f"{r['kind']:10}{r['rps']:>10.0f}{r['p50_ms']:>10.2f}{r['p99_ms']:>10.2f}{r['errors']:>8}")
    print(
        f"\nNATS publish -> GraphQL subscription update, {lag['observed']}/{lag['crossings']} crossings: "
        f"p50 {lag['p50_ms']:.1f} ms, p99 {lag['p99_ms']:.1f} ms, max {lag['max_ms']:.1f} ms"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))
    return 0


def _wait_healthy(base: str, server: subprocess.Popen[bytes], timeout: float = 90) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"server exited with {server.returncode}")
        try:
            if httpx.get(base + "/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError("the gateway did not become healthy")


if __name__ == "__main__":
    sys.exit(main())
