"""/health, /metrics, /openapi.json, /docs, the dashboard, and 503 when the services are unreachable."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import grpc
import httpx
import pytest
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from footfall.graph.app import create_app
from footfall.graph.rest.routing import RestCall, RestRouter
from footfall.services.core.config import Settings
from footfall.services.core.embedded import free_port
from tests.graph.conftest import make_camera


@pytest.fixture
async def dead_channel() -> AsyncIterator[grpc.aio.Channel]:
    """A channel to a port nothing listens on: the occupancy service is not there."""
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{free_port()}")
    yield channel
    await channel.close()


def _client(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


async def test_health_is_healthy_with_the_service_up(client: httpx.AsyncClient) -> None:
    r = await client.get("/health")
    assert r.status_code == 200 and r.json() == {"status": "healthy"}


async def test_health_reports_dependencies_from_the_callback(
    graph_settings: Settings, occupancy_stack
) -> None:  # type: ignore[no-untyped-def]
    async def checks() -> dict[str, str]:
        return {"database": "ok", "nats": "down"}

    app = create_app(graph_settings, occupancy_stack.channel, health_check=checks)
    async with _client(app) as c:
        r = await c.get("/health")
    assert r.status_code == 503
    assert r.json() == {"status": "degraded", "checks": {"occupancy": "ok", "database": "ok", "nats": "down"}}


async def test_service_down_gives_503(graph_settings: Settings, dead_channel: grpc.aio.Channel) -> None:
    app = create_app(graph_settings, dead_channel, rpc_timeout_s=3)
    async with _client(app) as c:
        r = await c.get("/health")
        assert r.status_code == 503
        assert r.json()["status"] == "degraded" and r.json()["checks"]["occupancy"] != "ok"
        for method, path, body in [
            ("GET", "/api/occupancy/cameras", None),
            ("GET", "/api/occupancy/cameras/1/live", None),
            ("POST", "/api/occupancy/cameras", {"camera_id": "GATE_A"}),
            ("GET", "/api/occupancy/facility/stats", None),
            ("PUT", "/api/occupancy/alerts/1/resolve", None),
        ]:
            r = await c.request(method, path, json=body)
            assert r.status_code == 503, (path, r.text)
            assert r.json() == {"detail": "Occupancy service not initialized"}
        # parameter checks still come first
        assert (await c.get("/api/occupancy/cameras/abc/live")).status_code == 422
        r = await c.post("/graphql", json={"query": "{ cameras { id } }"})
        assert r.json()["errors"][0]["extensions"]["code"] == "UNAVAILABLE"


async def test_metrics_count_requests_by_route_template(client: httpx.AsyncClient) -> None:
    camera = await make_camera(client)
    await client.get(f"/api/occupancy/cameras/{camera['id']}/live")
    await client.get("/api/occupancy/cameras/999999999/live")
    await client.get("/no/such/path")
    r = await client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    live = 'route="/api/occupancy/cameras/{camera_id}/live"'
    assert re.search(
        r'footfall_gateway_http_requests_total\{method="GET",' + re.escape(live) + r',status="200"\} \d', text
    )
    assert re.search(
        r'footfall_gateway_http_requests_total\{method="GET",' + re.escape(live) + r',status="404"\} \d', text
    )
    assert 'footfall_gateway_http_request_duration_seconds_bucket{le="0.005",method="GET",' + live in text
    assert 'route="<unmatched>",status="404"' in text
    assert "/999999999/" not in text  # raw paths never become labels


async def test_openapi_describes_every_rest_route(client: httpx.AsyncClient, app: Starlette) -> None:
    r = await client.get("/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    assert doc["openapi"].startswith("3.0")
    rest = [route for route in app.routes if isinstance(route, Route) and route.path.startswith("/api/")]
    assert len(rest) == 19  # every route of seed 001
    for route in rest:
        for method in route.methods or ():
            if method == "HEAD":
                continue
            op = doc["paths"][route.path][method.lower()]
            assert op["responses"] and op["operationId"]
    schemas = doc["components"]["schemas"]
    refs = set(re.findall(r'"#/components/schemas/([^"]+)"', r.text))
    assert refs <= set(schemas)
    live = doc["paths"]["/api/occupancy/cameras/{camera_id}/live"]["get"]
    assert live["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/LiveOccupancyOut"
    }
    assert {"404", "422", "503"} <= set(live["responses"])
    assert set(schemas["LiveOccupancyOut"]["properties"]) == {
        "camera_id",
        "current_occupancy",
        "total_entries",
        "total_exits",
        "unique_persons",
        "last_updated",
    }
    assert schemas["LiveOccupancyOut"]["properties"]["last_updated"]["nullable"] is True
    create = doc["paths"]["/api/occupancy/cameras"]["post"]
    assert "201" in create["responses"] and "409" in create["responses"]
    assert create["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/CameraCreate")
    logs = doc["paths"]["/api/occupancy/cameras/{camera_id}/logs"]["get"]
    hours = next(p for p in logs["parameters"] if p["name"] == "hours")
    assert hours == {
        "name": "hours",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "format": "int64", "minimum": 1, "default": 24},
        "description": "Last N hours to retrieve",
    }
    assert "202" in doc["paths"]["/api/occupancy/aggregate"]["post"]["responses"]
    assert "/health" in doc["paths"] and "/metrics" in doc["paths"]


async def test_swagger_ui_is_served_locally(client: httpx.AsyncClient) -> None:
    r = await client.get("/docs")
    assert r.status_code == 200 and "SwaggerUIBundle" in r.text and "openapi.json" in r.text
    assert "docs/static/swagger-ui-bundle.js" in r.text  # from the swagger-ui-bundle package, not a CDN
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "swagger-ui-standalone-preset.js"):
        assert (await client.get(f"/docs/static/{asset}")).status_code == 200, asset


async def test_dashboard(client: httpx.AsyncClient) -> None:
    r = await client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "graphql-transport-ws" in r.text and "facilityStats" in r.text


class Pong(BaseModel):
    org: str


extra = RestRouter("/api/extra", tags=["extra"])


@extra.get("/ping", response=Pong)
async def ping(call: RestCall) -> Pong:
    """Who is asking."""
    return Pong(org=call.org)


async def plain(request: Request) -> PlainTextResponse:
    return PlainTextResponse("plain")


async def test_extra_routes_join_the_app_and_the_openapi_document(graph_settings: Settings, occupancy_stack) -> None:  # type: ignore[no-untyped-def]
    app = create_app(graph_settings, occupancy_stack.channel, extra_routes=[extra, Route("/plain", plain)])
    async with _client(app) as c:
        assert (await c.get("/api/extra/ping", headers={"X-Footfall-Org": "acme"})).json() == {"org": "acme"}
        assert (await c.get("/plain")).text == "plain"
        assert "/api/extra/ping" in (await c.get("/openapi.json")).json()["paths"]
