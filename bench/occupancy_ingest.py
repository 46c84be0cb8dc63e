"""Occupancy ingest benchmark: NATS publish -> committed rows, and publish -> live-visible lag.

    .venv/bin/python bench/occupancy_ingest.py                 # 200k events, 20 cameras
    .venv/bin/python bench/occupancy_ingest.py --events 50000 --cameras 5 --json bench/results/occ.json
    .venv/bin/python bench/occupancy_ingest.py --events 20000 --consumers 2   # + 1 vs 2 consumer processes

Starts an embedded PostgreSQL and a nats-server in a temporary directory, migrates, creates cameras with
one bidirectional line each and runs three phases. Publishing runs in a separate process (as vision
workers would), so the service process only consumes:

1. backlog: N crossings are published with no consumer running, then the occupancy runtime starts; the
   rate is N / (time from start to the last committed row). This is the consumer's sustained throughput.
2. end to end: the runtime runs while another N crossings are published as fast as JetStream acks them;
   the rate is N / (first publish -> last committed row).
3. lag: the publisher sends background load at --lag-rate events/s while the benchmark publishes probe
   crossings on a probe camera and watches it with `OccupancyService.watch` (what WatchOccupancy and the
   GraphQL subscription use); the lag is probe publish -> the watch yielding the probe's count.
4. consumer group (`--consumers 1|2`): for 1, then up to that many consumer *processes* (each its own
   runtime, database pool and NATS connection, sharing the durable consumer as `footfall serve occupancy`
   replicas do), a fresh backlog of N crossings is drained; the rates are printed side by side with their
   ratio (on a machine with fewer free cores than processes, expect no gain).

Only loopback addresses are used; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import multiprocessing as mp
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "proto"))

from footfall.v1 import common_pb2, events_pb2

from footfall.services.core.config import Settings
from footfall.services.core.db import Database
from footfall.services.core.embedded import EmbeddedPostgres, NatsServer
from footfall.services.core.events import EventBus, make_envelope
from footfall.services.core.migrations import apply_migrations
from footfall.services.occupancy import start_occupancy
from footfall.services.occupancy.domain import LineDirection, NewCamera, NewLine
from footfall.services.occupancy.service import OccupancyService

ORG = "bench"
STREAM = "BENCH"
PREFIX = "bench"


def _envelopes(n: int, cameras: int, seed: int) -> list[tuple[str, bytes, str]]:
    rng = random.Random(seed)
    out = []
    now = datetime.now(UTC)
    for i in range(n):
        cam = i % cameras
        payload = events_pb2.LineCrossed(
            camera_id=f"CAM_{cam:03d}", line_name="door",
            direction=common_pb2.CROSSING_DIRECTION_IN if rng.random() < 0.55 else common_pb2.CROSSING_DIRECTION_OUT,
            track_id=f"{seed}-{i // 2}", confidence=0.9,
        )
        payload.occurred_at.FromDatetime(now)
        env = make_envelope(ORG, "vision", "crossing", payload)
        out.append((f"{PREFIX}.{ORG}.vision.crossing", env.SerializeToString(), env.event_id))
    return out


async def _publish(url: str, n: int, cameras: int, seed: int, rate: float, duration_s: float) -> dict[str, float]:
    import nats

    msgs = _envelopes(n, cameras, seed)
    nc = await nats.connect(url)
    js = nc.jetstream(timeout=10)
    started = time.time()
    sent = 0
    loop_start = time.perf_counter()
    for subject, data, event_id in msgs:  # pipelined publishes; JetStream acks each (publish_async)
        if rate > 0:
            due = loop_start + sent / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if time.perf_counter() - loop_start > duration_s:
                break
        await js.publish_async(subject, data, headers={"Nats-Msg-Id": event_id})
        sent += 1
    await asyncio.wait_for(js.publish_async_completed(), 120)
    finished = time.time()
    await nc.close()
    return {"started": started, "finished": finished, "sent": sent}


def _publisher_main(url: str, n: int, cameras: int, seed: int, rate: float, duration_s: float, out: mp.Queue) -> None:
    out.put(asyncio.run(_publish(url, n, cameras, seed, rate, duration_s)))


def _spawn_publisher(url: str, n: int, cameras: int, seed: int, rate: float = 0.0,
                     duration_s: float = 3600.0) -> tuple[mp.Process, mp.Queue]:
    ctx = mp.get_context("spawn")
    queue: mp.Queue = ctx.Queue()
    proc = ctx.Process(target=_publisher_main, args=(url, n, cameras, seed, rate, duration_s, queue), daemon=True)
    proc.start()
    return proc, queue


def _consumer_main(db_url: str, nats_url: str, batch: int, ready: object, go: object, stop: object) -> None:
    """One consumer process of the group phase: ready once imported and connected, consumes from `go`."""
    asyncio.run(_consume(db_url, nats_url, batch, ready, go, stop))


async def _consume(db_url: str, nats_url: str, batch: int, ready, go, stop) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(timezone="UTC", ingest_batch_size=batch, equipment_timeout_s=0,
                        anomaly_crossings_per_minute=10**9)
    db = Database(db_url, max_size=4)
    await db.open()
    bus = EventBus(nats_url, stream=STREAM, subject_prefix=PREFIX)
    await bus.connect()
    ready.set()
    while not go.is_set():
        await asyncio.sleep(0.01)
    runtime = await start_occupancy(settings, db, bus, None, schedule=False)
    while not stop.is_set():
        await asyncio.sleep(0.05)
    await runtime.stop()
    await bus.close()
    await db.close()


async def _group(db: Database, db_url: str, nats_url: str, args: argparse.Namespace) -> dict[str, object]:
    """Phase 4: backlog drain rates of 1..args.consumers consumer processes."""
    ctx = mp.get_context("spawn")
    rates: dict[str, int] = {}
    for k in range(1, args.consumers + 1):
        proc, queue = _spawn_publisher(nats_url, args.events, args.cameras, seed=10 + k)
        await _wait_queue(queue, proc, 600)
        proc.join()
        target = await _counted(db) + args.events
        ready, go, stop = [ctx.Event() for _ in range(k)], ctx.Event(), ctx.Event()
        procs = [ctx.Process(target=_consumer_main, args=(db_url, nats_url, args.batch, r, go, stop), daemon=True)
                 for r in ready]
        for consumer in procs:
            consumer.start()
        try:
            deadline = time.monotonic() + 120
            while not all(r.is_set() for r in ready):
                if time.monotonic() > deadline or not all(c.is_alive() for c in procs):
                    raise RuntimeError("a consumer process did not get ready")
                await asyncio.sleep(0.05)
            t0 = time.time()
            go.set()
            rates[str(k)] = round(args.events / (await _wait_counted(db, target, 600) - t0))
        finally:
            stop.set()
            for consumer in procs:
                consumer.join(60)
    out: dict[str, object] = {"consumer_processes_events_per_s": rates}
    if "1" in rates and len(rates) > 1:
        out["consumer_processes_speedup"] = round(rates[str(args.consumers)] / rates["1"], 2)
    print("backlog drain by consumer processes: " + " | ".join(f"{k}: {v} events/s" for k, v in rates.items())
          + (f" (x{out['consumer_processes_speedup']})" if "consumer_processes_speedup" in out else ""),
          file=sys.stderr)
    return out


def _cpu_seconds(pg_dir: Path, nats_pid: int | None) -> dict[str, float]:
    """CPU seconds used so far by this process, this benchmark's PostgreSQL (postmaster and backends) and
    its nats-server (other servers on the machine are not counted)."""
    out = {"service": time.process_time(), "postgres": 0.0, "nats": 0.0}
    try:
        import psutil
    except ImportError:
        return out

    def total(proc: psutil.Process) -> float:
        t = proc.cpu_times()
        return t.user + t.system

    for proc in psutil.process_iter(["name", "cmdline"]):
        try:
            if proc.info["name"] == "postgres" and str(pg_dir) in " ".join(proc.info["cmdline"] or []):
                out["postgres"] += total(proc) + sum(total(c) for c in proc.children(recursive=True))
            elif nats_pid is not None and proc.pid == nats_pid:
                out["nats"] += total(proc)
        except psutil.Error:
            continue
    return out


async def _counted(db: Database) -> int:
    async with db.tenant(ORG) as conn:
        cur = await conn.execute("SELECT coalesce(sum(total_entries + total_exits), 0) AS n FROM occupancy_state")
        return int((await cur.fetchone())["n"])


async def _wait_counted(db: Database, target: int, timeout_s: float) -> float:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await _counted(db) >= target:
            return time.time()
        await asyncio.sleep(0.02)
    raise TimeoutError(f"only {await _counted(db)} of {target} crossings committed in {timeout_s}s")


async def _wait_queue(queue: mp.Queue, proc: mp.Process, timeout_s: float) -> dict[str, float]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            return queue.get_nowait()
        except Exception:
            if not proc.is_alive() and queue.empty():
                raise RuntimeError("publisher died") from None
            await asyncio.sleep(0.05)
    raise TimeoutError("publisher did not finish")


async def run(args: argparse.Namespace) -> dict[str, object]:
    logging.basicConfig(level=logging.WARNING)
    results: dict[str, object] = {"events": args.events, "cameras": args.cameras, "batch": args.batch,
                                  "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="occbench") as tmp:
        pg = EmbeddedPostgres(Path(tmp) / "pg", delete_on_stop=True)
        url = pg.start()
        nats_server = NatsServer(Path(tmp) / "nats")
        nats_server.start()
        try:
            apply_migrations(url)
            settings = Settings(timezone="UTC", ingest_batch_size=args.batch, equipment_timeout_s=0,
                                anomaly_crossings_per_minute=10**9)
            db = Database(url, max_size=8)
            await db.open()
            bus = EventBus(nats_server.url, stream=STREAM, subject_prefix=PREFIX)
            await bus.connect()
            setup = OccupancyService(db, settings, bus)
            for i in range(args.cameras + 1):
                key = f"CAM_{i:03d}" if i < args.cameras else "PROBE"
                cam = await setup.create_camera(ORG, NewCamera(camera_id=key, max_occupancy=0))
                await setup.create_line(ORG, NewLine(cam.id, "door", 0, 100, 640, 100, LineDirection.BIDIRECTIONAL))
            probe_id = cam.id

            # 1. backlog drain
            proc, queue = _spawn_publisher(nats_server.url, args.events, args.cameras, seed=1)
            pub = await _wait_queue(queue, proc, 600)
            proc.join()
            results["publish_only_events_per_s"] = round(pub["sent"] / (pub["finished"] - pub["started"]))
            results["load_average_before"] = round(os.getloadavg()[0], 2)
            cpu0 = _cpu_seconds(Path(tmp) / "pg", nats_server._proc.pid if nats_server._proc else None)
            t0 = time.time()
            runtime = await start_occupancy(settings, db, bus, None, schedule=False)
            t1 = await _wait_counted(db, args.events, 600)
            cpu1 = _cpu_seconds(Path(tmp) / "pg", nats_server._proc.pid if nats_server._proc else None)
            results["backlog_events_per_s"] = round(args.events / (t1 - t0))
            for part in ("service", "postgres", "nats"):  # CPU time per event, whatever the machine's load
                results[f"backlog_cpu_us_per_event_{part}"] = round(1e6 * (cpu1[part] - cpu0[part]) / args.events, 1)

            # 2. end to end while publishing
            proc, queue = _spawn_publisher(nats_server.url, args.events, args.cameras, seed=2)
            t_end = await _wait_counted(db, 2 * args.events, 600)
            pub = await _wait_queue(queue, proc, 60)
            proc.join()
            results["end_to_end_events_per_s"] = round(args.events / (t_end - pub["started"]))
            results["end_to_end_publish_events_per_s"] = round(pub["sent"] / (pub["finished"] - pub["started"]))

            # 3. publish -> live-visible lag under background load
            results.update(await _lag(runtime.service, bus, nats_server.url, probe_id, args))
            results["load_average_after"] = round(os.getloadavg()[0], 2)
            await runtime.stop()

            # 4. consumer processes sharing the durable (the runtime above has stopped)
            if args.consumers:
                results.update(await _group(db, url, nats_server.url, args))
            await bus.close()
            await db.close()
        finally:
            nats_server.stop()
            pg.stop()
    return results


async def _lag(service: OccupancyService, bus: EventBus, url: str, probe_id: int,
               args: argparse.Namespace) -> dict[str, object]:
    load_n = int(args.lag_rate * args.lag_seconds)
    proc, queue = _spawn_publisher(url, load_n, args.cameras, seed=3, rate=args.lag_rate,
                                   duration_s=args.lag_seconds) if load_n else (None, None)
    lags: list[float] = []
    watch = service.watch(ORG, probe_id).__aiter__()
    current = await anext(watch)
    counted = current.total_entries + current.total_exits
    await asyncio.sleep(0.5)  # let the background load start
    loop = asyncio.get_running_loop()
    stop_at = loop.time() + args.lag_seconds - 1
    while loop.time() < stop_at and len(lags) < args.probes:
        payload = events_pb2.LineCrossed(camera_id="PROBE", line_name="door",
                                         direction=common_pb2.CROSSING_DIRECTION_IN, track_id=uuid.uuid4().hex,
                                         confidence=0.9)
        payload.occurred_at.FromDatetime(datetime.now(UTC))
        env = make_envelope(ORG, "vision", "crossing", payload)
        sent = time.perf_counter()
        await bus.publish(env)
        counted += 1
        while True:
            update = await asyncio.wait_for(anext(watch), 30)
            if getattr(update, "total_entries", -1) + getattr(update, "total_exits", 0) >= counted:
                break
        lags.append((time.perf_counter() - sent) * 1000)
        await asyncio.sleep(0.02)
    await watch.aclose()
    if proc is not None:
        await _wait_queue(queue, proc, 120)
        proc.join()
    lags.sort()
    return {
        "lag_background_events_per_s": args.lag_rate,
        "lag_probes": len(lags),
        "lag_ms_p50": round(statistics.median(lags), 1) if lags else None,
        "lag_ms_p99": round(lags[min(len(lags) - 1, int(len(lags) * 0.99))], 1) if lags else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--cameras", type=int, default=20)
    parser.add_argument("--batch", type=int, default=1000, help="consumer fetch batch (settings.ingest_batch_size)")
    parser.add_argument("--lag-rate", type=float, default=5000, help="background events/s during the lag phase")
    parser.add_argument("--lag-seconds", type=float, default=15)
    parser.add_argument("--probes", type=int, default=300)
    parser.add_argument("--consumers", type=int, choices=(1, 2),
                        help="also drain a backlog with 1, then up to this many consumer processes (phase 4)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    results = asyncio.run(run(args))
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
