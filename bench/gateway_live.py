"""Gateway benchmark: authenticated live occupancy over REST and GraphQL against a bare endpoint, and
publish -> subscription lag.

    .venv/bin/python bench/gateway_live.py [--connections 50] [--duration 10] [--rounds 1] [--crossings 300]

Needs `wrk` (apt-get install wrk): a Python load generator is slower than the gateway it measures.
What it runs, all real: an embedded PostgreSQL and a nats-server (started here); in a child process every
service and the gateway exactly as `footfall up` assembles them (uvicorn, rate
limits and every hardening layer on, the budget raised so that it never refuses); in another child a bare
Starlette JSON endpoint under the same uvicorn settings. Then, one after another in the same run:

1. wrk with `--connections` keep-alive connections for `--duration` seconds on the bare endpoint,
   `GET /api/occupancy/cameras/{id}/live` and the GraphQL `liveOccupancy` query, both with a bearer token
   from `POST /admin/login`; req/s, p50/p99, and each as a ratio of the bare endpoint's rate.
2. A GraphQL subscription (graphql-transport-ws, authenticated in `connection_init`) watches the camera
   while `--crossings` LineCrossed events are published to NATS JetStream one by one; the lag is from just
   before each publish to the first pushed update that includes it (p50/p99).

Results print as a table; `--json PATH` also writes them (bench/results/ is git-ignored). On a shared machine,
`--rounds 3` repeats the three loads interleaved and reports the median of the rounds' ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import json
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
sys.path.insert(0, str(Path(__file__).resolve().parent))

from wrk import LoadResult, run_wrk  # noqa: E402  (bench/wrk.py)

ORG = "bench"
LIVE_QUERY = "query Live($id: ID!) { liveOccupancy(cameraId: $id) { cameraId currentOccupancy totalEntries totalExits uniquePersons lastUpdated } }"
SUBSCRIPTION = "subscription($id: ID!) { occupancy(cameraId: $id) { __typename ... on LiveOccupancy { totalEntries currentOccupancy } } }"


# The servers (child processes): the platform as `footfall up` assembles it, and a bare endpoint.

ADMIN_PASSWORD = "bench-" + uuid.uuid4().hex


def serve_main() -> None:
    from footfall.deploy.platform import run
    from footfall.services.core.config import Settings
    from footfall.services.core.logging import setup_logging

    setup_logging(os.environ.get("FOOTFALL_LOG_LEVEL", "WARNING"), False)
    run(Settings(), gateway=True)  # every service, as `footfall up` (its event loop included)


def bare_main(port: int) -> None:
    """The reference: a Starlette JSON endpoint of the same size under the same uvicorn settings."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    body = {"camera_id": 1, "current_occupancy": 3, "total_entries": 10, "total_exits": 7, "unique_persons": 9,
            "last_updated": "2025-01-15T10:30:45Z"}

    async def live(request: Any) -> JSONResponse:
        return JSONResponse(body)

    app = Starlette(routes=[Route("/live", live)])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", ws="websockets-sansio", proxy_headers=False)


def load(name: str, url: str, args: argparse.Namespace, **kw: Any) -> LoadResult:
    run_wrk(name, url, connections=min(args.connections, 8), duration_s=1, **kw)  # warm-up
    return run_wrk(name, url, connections=args.connections, threads=args.threads, duration_s=args.duration, **kw)


def _pct(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(p / 100 * (len(sorted_values) - 1))))
    return sorted_values[k]


# Publish -> live-visible lag over the GraphQL subscription


async def measure_lag(
    base: str, nats_url: str, token: str, camera_key: str, camera_id: int, line_id: int, count: int,
    interval_s: float,
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
        await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(
            json.dumps(
                {
                    "type": "subscribe",
                    "id": "1",
                    "payload": {"query": SUBSCRIPTION, "variables": {"id": camera_key}},  # the public id: the key
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
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve-bare", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--connections", type=int, default=50, help="wrk keep-alive connections (default 50)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per load phase (default 10)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="bare/REST/GraphQL rounds, interleaved; the median ratio is reported (default 1)")
    parser.add_argument("--crossings", type=int, default=300, help="crossings published for the lag (default 300)")
    parser.add_argument("--interval", type=float, default=0.01, help="seconds between published crossings")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if args.serve:
        serve_main()
        return 0
    if args.serve_bare:
        bare_main(args.serve_bare)
        return 0

    import httpx

    from footfall.services.core.embedded import EmbeddedPostgres, NatsServer, free_port
    from footfall.services.core.migrations import apply_migrations

    load_before = os.getloadavg()  # the machine's load, reported with the figures: the ratios depend on it
    children: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory(prefix="ffbench") as tmp:
        pg = EmbeddedPostgres(Path(tmp) / "pg", delete_on_stop=True)
        db_url = pg.start()
        apply_migrations(db_url)
        nats = NatsServer(Path(tmp) / "nats")
        nats.start()
        http_port, grpc_port, bare_port = free_port(), free_port(), free_port()
        env = {
            **os.environ,
            "FOOTFALL_DATABASE_URL": db_url,
            "FOOTFALL_NATS_URL": nats.url,
            "FOOTFALL_HTTP_PORT": str(http_port),
            "FOOTFALL_GRPC_PORT": str(grpc_port),
            "FOOTFALL_DATA_DIR": str(Path(tmp) / "data"),
            "FOOTFALL_DEFAULT_ORG": ORG,
            "FOOTFALL_ADMIN_PASSWORD": ADMIN_PASSWORD,
            # The limiter stays in the path (its cost is measured); the budget is raised so it never refuses.
            "FOOTFALL_RATE_LIMIT_DEFAULT": "1000000000/hour",
            "FOOTFALL_LOG_LEVEL": "WARNING",
        }
        me = str(Path(__file__).resolve())
        children.append(subprocess.Popen([sys.executable, me, "--serve"], env=env))
        children.append(subprocess.Popen([sys.executable, me, "--serve-bare", str(bare_port)], env=env))
        base = f"http://127.0.0.1:{http_port}"
        try:
            _wait_up(f"http://127.0.0.1:{bare_port}/live", children[1])
            _wait_up(base + "/health", children[0])
            with httpx.Client(base_url=base, timeout=10) as c:
                token = c.post("/admin/login", json={"username": "admin", "password": ADMIN_PASSWORD}) \
                    .raise_for_status().json()["access_token"]
                c.headers["Authorization"] = f"Bearer {token}"
                key = f"BENCH_{uuid.uuid4().hex[:6].upper()}"
                camera = c.post("/api/occupancy/cameras", json={
                    "camera_id": key, "camera_name": "Bench gate", "camera_type": "entry_only"}).raise_for_status().json()
                line = c.post("/api/occupancy/lines", json={
                    "camera_id": camera["id"], "line_name": "door", "x1": 0, "y1": 300, "x2": 1920, "y2": 300,
                    "direction": "entry", "confidence_threshold": 0.5}).raise_for_status().json()
            auth = {"Authorization": f"Bearer {token}"}
            rounds: list[tuple[LoadResult, LoadResult, LoadResult]] = []
            for _ in range(args.rounds):  # interleaved, so each round's ratios share one moment of the machine
                rounds.append((
                    load("bare", f"http://127.0.0.1:{bare_port}/live", args),
                    load("rest", f"{base}/api/occupancy/cameras/{camera['id']}/live", args, headers=auth),
                    load("graphql", f"{base}/graphql", args, method="POST", headers=auth,
                         body={"query": LIVE_QUERY, "variables": {"id": key}}),
                ))
            lag = asyncio.run(measure_lag(base, nats.url, token, key, camera["id"], line["id"], args.crossings,
                                          args.interval))
        finally:
            for child in children:
                child.terminate()
            for child in children:
                try:
                    child.wait(20)
                except subprocess.TimeoutExpired:
                    child.kill()
            nats.stop()
            pg.stop()

    ratios = [{"rest": r.rps / b.rps, "graphql": g.rps / b.rps} for b, r, g in rounds]
    median = {k: statistics.median(x[k] for x in ratios) for k in ("rest", "graphql")}
    results = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform(),
                    "load_before": load_before, "load_after": os.getloadavg()},
        "rounds": [{"bare": b.as_dict(), "rest": r.as_dict(), "graphql": g.as_dict(), "ratio": q}
                   for (b, r, g), q in zip(rounds, ratios, strict=True)],
        "lag": lag,
        "ratio": median,  # the median over the rounds of each round's ratio
    }
    print(f"\nLive occupancy, authenticated, wrk {args.connections} connections x {args.duration:.0f}s, "
          f"{os.cpu_count()} CPUs (load generator on the same machine), load average "
          f"{load_before[0]:.2f} before, {results['machine']['load_after'][0]:.2f} after")
    for n, (bare, rest, gql) in enumerate(rounds, 1):
        if len(rounds) > 1:
            print(f"round {n}")
        print(f"{'':10}{'req/s':>10}{'ratio':>8}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}")
        for r in (bare, rest, gql):
            print(f"{r.name:10}{r.rps:>10.0f}{r.rps / bare.rps:>8.2f}{r.p50_ms:>10.2f}{r.p99_ms:>10.2f}{r.errors:>8}")
    if len(rounds) > 1:
        print(f"median ratio over {len(rounds)} rounds: rest {median['rest']:.2f}, graphql {median['graphql']:.2f}")
    print(f"\nNATS publish -> GraphQL subscription update, {lag['observed']}/{lag['crossings']} crossings: "
          f"p50 {lag['p50_ms']:.1f} ms, p99 {lag['p99_ms']:.1f} ms, max {lag['max_ms']:.1f} ms")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))
    return 0


def _wait_up(url: str, child: subprocess.Popen[bytes], timeout: float = 120) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise RuntimeError(f"server exited with {child.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not come up")


if __name__ == "__main__":
    sys.exit(main())
