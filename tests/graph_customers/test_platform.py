"""`footfall.deploy.platform.Platform` mounts the customers REST routes and GraphQL module on its gateway."""

from __future__ import annotations

import contextlib
import uuid
from pathlib import Path

from footfall.deploy.platform import Platform
from footfall.services.core.config import Settings

from tests.conftest import AuthKit, unique_org
from tests.customers.factories import tick, visit_events
from tests.graph_customers.conftest import T0, gql_data, http_client


async def test_platform_gateway_serves_customers(
    database_url: str, nats_url: str, tmp_path: Path, auth: AuthKit
) -> None:
    tag = uuid.uuid4().hex[:12]
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        nats_url=nats_url,
        nats_stream=f"P{tag.upper()}",
        nats_subject_prefix=f"p{tag}",
        grpc_host="127.0.0.1",
        grpc_port=0,
        default_org=unique_org("dflt"),
        rate_limit_enabled=False,
        **auth.settings_overrides(),  # type: ignore[arg-type]
    )
    platform = Platform(settings, services=["customers"], gateway=True)
    await platform.start()
    try:
        org = unique_org("plat")
        events = visit_events("GATE_P", "p0", T0, T0 + 60, [("checkout", T0 + 5, T0 + 50)])
        await platform.runtimes["customers"].customers.apply_vision_events(
            org, [*events, tick("GATE_P", T0 + 200)]
        )
        async with http_client(platform.app, org, auth=auth) as c:
            assert (await c.get("/api/stats")).json() == {"total_customers": 1}
            assert len((await c.get("/api/customers")).json()["customers"]) == 1
            assert (await c.get("/api/journeys")).json()["journeys"][0]["camera_id"] == "GATE_P"
            assert "/api/journeys/export" in (await c.get("/openapi.json")).json()["paths"]
            data = await gql_data(
                c, "{ journeyStats { totalCustomers } journeys(first: 5) { nodes { cameraId } } }"
            )
            assert data == {
                "journeyStats": {"totalCustomers": 1},
                "journeys": {"nodes": [{"cameraId": "GATE_P"}]},
            }
    finally:
        assert platform.infra is not None
        bus = platform.infra.bus
        with contextlib.suppress(Exception):  # best effort cleanup
            await bus.js.delete_stream(bus.stream)
        await platform.stop()
