"""Seed 004 analytics benchmark: p50/p95 of the five analytics endpoints on 10k customers and 1M interactions.

    .venv/bin/python bench/customer_analytics.py                          # 10k customers, 1M interactions
    .venv/bin/python bench/customer_analytics.py --customers 2000 --interactions 100000 --requests 50

Starts an embedded PostgreSQL in a temporary directory, migrates, and generates the data with SQL
`generate_series` (interactions spread over the last 365 days, six types, four statuses; every customer in one
or two of six segments). The generation time includes the upkeep of migration 0013's per-day rollups, which
the segment, organisation and dashboard figures read (its triggers run on the bulk inserts like on any write).
Then, for each endpoint, it measures sequential requests at two levels:

* `python`: the in-process API, `CustomerAnalyticsService(db, org)` (the SQL alone);
* `rest`: `GET /api/v1/analytics/...` through the whole stack: uvicorn, the gateway's login check, gRPC to the
  customers service (authenticating again), the SQL, and the audit record through the accounts service.

Only loopback addresses are used; every loop is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "proto"))

ORG = "bench"
PASSWORD = "bench password 123"

GENERATE = """
INSERT INTO customers (org_id, name, email, loyalty_status)
SELECT %(org)s, 'Customer ' || g, 'c' || g || '@bench.example',
       (ARRAY['bronze', 'silver', 'gold', 'platinum'])[1 + g %% 4]
FROM generate_series(1, %(customers)s) g;

INSERT INTO customer_interactions (org_id, customer_id, interaction_type, subject, status, interaction_date)
SELECT %(org)s, f.first_id + (g %% %(customers)s),
       (ARRAY['call', 'email', 'meeting', 'support_ticket', 'complaint', 'feedback'])[1 + (g * 7) %% 6],
       'Subject ' || g,
       (ARRAY['pending', 'in_progress', 'completed', 'cancelled'])[1 + (g * 13) %% 4],
       now() - random() * interval '365 days'
FROM generate_series(0, %(interactions)s - 1) g,
     (SELECT min(id) AS first_id FROM customers WHERE org_id = %(org)s) f;

INSERT INTO customer_segments (org_id, customer_id, segment_name, segment_value, description, assigned_date)
SELECT %(org)s, id, (ARRAY['premium', 'vip', 'regular', 'new', 'at_risk', 'high_value'])[1 + id %% 6],
       (id %% 500)::float, 'generated', now() - (id %% 300) * interval '1 day'
FROM customers WHERE org_id = %(org)s;

INSERT INTO customer_segments (org_id, customer_id, segment_name, segment_value, description, assigned_date)
SELECT %(org)s, id, 'regular', NULL, 'generated', now() - interval '10 days'
FROM customers WHERE org_id = %(org)s AND id %% 3 = 0
ON CONFLICT (customer_id, segment_name) DO NOTHING;
"""


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


async def _time(n: int, call: Callable[[int], Awaitable[Any]]) -> dict[str, float]:
    await call(0)  # warm caches and connections
    seconds = []
    for i in range(n):
        start = time.perf_counter()
        await call(i)
        seconds.append(time.perf_counter() - start)
    ms = [s * 1000 for s in seconds]
    return {"p50_ms": round(statistics.median(ms), 2), "p95_ms": round(_pct(ms, 95), 2),
            "max_ms": round(max(ms), 2)}


async def run(args: argparse.Namespace, db_url: str, data_dir: Path) -> dict[str, Any]:
    import grpc
    import httpx
    import psycopg
    import uvicorn
    from footfall.graph import accounts as accounts_domain
    from footfall.graph import customers as customers_domain
    from footfall.graph.app import create_app
    from footfall.services.accounts.runtime import start_accounts
    from footfall.services.core.config import Settings
    from footfall.services.core.db import Database
    from footfall.services.core.embedded import free_port
    from footfall.services.core.grpc import GrpcServer
    from footfall.services.core.principal import Role
    from footfall.services.customers.records import CustomerAnalyticsService
    from footfall.services.customers.runtime import start_customers

    start = time.perf_counter()
    with psycopg.connect(db_url, autocommit=True) as conn:
        params = {"org": ORG, "customers": args.customers, "interactions": args.interactions}
        for statement in filter(str.strip, GENERATE.split(";")):
            conn.execute(statement, params)
        # What autovacuum does soon after a bulk load: statistics and the visibility map (index-only scans).
        conn.execute("VACUUM ANALYZE customers, customer_interactions, customer_segments")
        first_id = conn.execute("SELECT min(id) FROM customers WHERE org_id = %s", (ORG,)).fetchone()[0]  # type: ignore[index]
    generated_s = time.perf_counter() - start

    settings = Settings(data_dir=data_dir, database_url=db_url, jwt_secret=uuid.uuid4().hex, default_org=ORG,
                        rate_limit_enabled=False, grpc_host="127.0.0.1", grpc_port=0)
    db = Database(db_url, max_size=10)
    await db.open()
    from footfall.services.accounts.runtime import build_accounts

    _, authenticator = build_accounts(settings, db)
    server = GrpcServer("127.0.0.1", 0, authenticator=authenticator)
    accounts_rt = await start_accounts(settings, db, None, server)
    customers_rt = await start_customers(settings, db, None, server, consume=False)
    port = await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    await accounts_rt.accounts.ensure_org(ORG)
    await accounts_rt.accounts.create_user(None, ORG, username="bench", email="bench@bench.example",
                                           full_name="Bench", password=PASSWORD, role=Role.ANALYST)
    app = create_app(settings, channel, domains=(accounts_domain.DOMAIN, customers_domain.DOMAIN))
    http_port = free_port()
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=http_port, lifespan="off", log_level="warning"))
    uv.capture_signals = contextlib.nullcontext  # type: ignore[method-assign]
    task = asyncio.create_task(uv.serve())
    for _ in range(1000):
        if uv.started:
            break
        await asyncio.sleep(0.01)

    rng = random.Random(4)
    ids = [first_id + rng.randrange(args.customers) for _ in range(args.requests + 1)]
    analytics = CustomerAnalyticsService(db, ORG)
    python_calls: dict[str, Callable[[int], Awaitable[Any]]] = {
        "customer analytics": lambda i: analytics.get_customer_metrics(ids[i]),
        "segment analytics": lambda i: analytics.get_segment_analytics(("premium", "regular", "vip")[i % 3]),
        "list segments": lambda i: analytics.get_available_segments(),
        "organization summary": lambda i: analytics.get_organization_summary(),
        "dashboard metrics": lambda i: analytics.get_dashboard_metrics(),
    }
    paths: dict[str, Callable[[int], str]] = {
        "customer analytics": lambda i: f"/api/v1/analytics/customers/{ids[i]}/analytics",
        "segment analytics": lambda i: f"/api/v1/analytics/segments/{('premium', 'regular', 'vip')[i % 3]}/analytics",
        "list segments": lambda i: "/api/v1/analytics/segments",
        "organization summary": lambda i: "/api/v1/analytics/organization/summary",
        "dashboard metrics": lambda i: "/api/v1/analytics/dashboard/metrics",
    }
    results: dict[str, Any] = {"customers": args.customers, "interactions": args.interactions,
                               "requests_each": args.requests, "generate_s": round(generated_s, 1), "python": {},
                               "rest": {}}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{http_port}", timeout=60) as http:
        r = await http.post("/admin/login", json={"username": "bench", "password": PASSWORD})
        r.raise_for_status()
        http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"

        async def rest_call(path: str) -> None:
            reply = await http.get(path)
            reply.raise_for_status()

        for name, call in python_calls.items():
            results["python"][name] = await _time(args.requests, call)
        for name, path in paths.items():
            results["rest"][name] = await _time(args.requests, lambda i, p=path: rest_call(p(i)))  # type: ignore[misc]

    uv.should_exit = True
    await asyncio.wait_for(task, 10)
    await channel.close()
    await customers_rt.stop()
    await accounts_rt.stop()
    await server.stop(0)
    await db.close()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--interactions", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=100, help="requests per endpoint and level")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    from footfall.services.core.embedded import EmbeddedPostgres
    from footfall.services.core.migrations import apply_migrations

    with tempfile.TemporaryDirectory(prefix="ffcrm") as tmp:
        pg = EmbeddedPostgres(Path(tmp) / "pg", delete_on_stop=True)
        db_url = pg.start()
        try:
            apply_migrations(db_url)
            results = asyncio.run(run(args, db_url, Path(tmp) / "data"))
        finally:
            pg.stop()
    print(f"{results['customers']} customers, {results['interactions']} interactions "
          f"(generated in {results['generate_s']} s), {results['requests_each']} sequential requests each")
    print(f"{'endpoint':<22}{'python p50':>12}{'p95':>9}{'rest p50':>11}{'p95':>9}  (ms)")
    for name in results["python"]:
        py, rest = results["python"][name], results["rest"][name]
        print(f"{name:<22}{py['p50_ms']:>12}{py['p95_ms']:>9}{rest['p50_ms']:>11}{rest['p95_ms']:>9}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
