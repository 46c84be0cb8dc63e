"""/health, /metrics, /openapi.json, /docs, the dashboard, domains registered alike, and 503 when the services
are unreachable."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import grpc
import httpx
import pytest
from fastapi.routing import APIRoute
from footfall.graph import occupancy
from footfall.graph.app import create_app
from footfall.graph.core.domain import GatewayDomain
from footfall.graph.core.errors import ERROR_KEY, FIELD_LIST
from footfall.graph.core.rest import Reader, Writer, domain_router
from footfall.services.core import errors
from footfall.services.core.config import Settings
from footfall.services.core.embedded import free_port
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from tests.conftest import AuthKit, unique_org
from tests.graph.conftest import bearer, http_client, make_camera


@pytest.fixture
async def dead_channel() -> AsyncIterator[grpc.aio.Channel]:
    """A channel to a port nothing listens on: the occupancy service is not there."""
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{free_port()}")
    yield channel
    await channel.close()


def _app(settings: Settings, channel: grpc.aio.Channel, auth: AuthKit, **kw) -> Starlette:  # type: ignore[no-untyped-def]
    return create_app(
        settings, channel, domains=kw.pop("domains", (occupancy.DOMAIN,)), authenticator=auth.authenticator, **kw
    )


def _client(app: Starlette, auth: AuthKit) -> httpx.AsyncClient:
    return http_client(app, bearer(auth, unique_org("plat")))


async def test_health_is_healthy_with_the_service_up(client: httpx.AsyncClient) -> None:
    r = await client.get("/health")
    assert r.status_code == 200 and r.json() == {"status": "healthy"}


async def test_health_needs_no_login(app: Starlette) -> None:
    async with http_client(app) as anonymous:
        r = await anonymous.get("/health")
    assert r.status_code == 200 and r.json() == {"status": "healthy"}


async def test_health_reports_dependencies_from_the_callback(
    graph_settings: Settings, occupancy_stack, auth: AuthKit
) -> None:  # type: ignore[no-untyped-def]
    async def checks() -> dict[str, str]:
        return {"database": "ok", "nats": "down"}

    app = _app(graph_settings, occupancy_stack.channel, auth, health_check=checks)
    async with http_client(app) as c:
        r = await c.get("/health")
    assert r.status_code == 503
    assert r.json() == {"status": "degraded", "checks": {"occupancy": "ok", "database": "ok", "nats": "down"}}


async def test_service_down_gives_503(
    graph_settings: Settings, dead_channel: grpc.aio.Channel, auth: AuthKit
) -> None:
    app = _app(graph_settings, dead_channel, auth, rpc_timeout_s=3)
    async with _client(app, auth) as c:
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
        r = await c.post("/graphql", json={"query": "{ cameras { totalCount } }"})
        assert r.json()["errors"][0]["extensions"]["code"] == "UNAVAILABLE"


async def test_metrics_count_requests_by_route_template(
    app: Starlette, client: httpx.AsyncClient, auth: AuthKit
) -> None:
    camera = await make_camera(client)
    await client.get(f"/api/occupancy/cameras/{camera['id']}/live")
    await client.get("/api/occupancy/cameras/999999999/live")
    await client.get("/no/such/path")
    assert (await client.get("/metrics")).status_code == 403  # an org admin: no
    async with http_client(app) as anonymous:
        assert (await anonymous.get("/metrics")).status_code == 401
    async with http_client(app, bearer(auth, unique_org("ops"), "platform_admin")) as admin:
        r = await admin.get("/metrics")
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


async def test_metrics_behind_a_token(graph_settings: Settings, occupancy_stack, auth: AuthKit) -> None:  # type: ignore[no-untyped-def]
    settings = graph_settings.model_copy(update={"metrics_token": "s3cret-metrics"})
    app = _app(settings, occupancy_stack.channel, auth)
    async with http_client(app, {"Authorization": "Bearer s3cret-metrics"}) as scraper:
        assert (await scraper.get("/metrics")).status_code == 200
    async with http_client(app, bearer(auth, unique_org("ops"), "platform_admin")) as admin:
        assert (await admin.get("/metrics")).status_code == 401  # the token, nothing else
    settings = graph_settings.model_copy(update={"metrics_port": free_port()})
    async with _client(_app(settings, occupancy_stack.channel, auth), auth) as c:
        assert (await c.get("/metrics")).status_code == 404  # served on its own bind


async def test_openapi_describes_every_rest_route(client: httpx.AsyncClient, app: Starlette) -> None:
    r = await client.get("/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    assert doc["openapi"].startswith("3.")
    rest = [route for route in occupancy.DOMAIN.router.routes if isinstance(route, APIRoute)]
    assert len(rest) == 19  # every route of seed 001
    for route in rest:
        for method in route.methods:
            op = doc["paths"][route.path][method.lower()]
            assert op["responses"] and op["operationId"]
            assert {"401", "403", "503"} <= set(op["responses"])
    schemas = doc["components"]["schemas"]
    refs = set(re.findall(r'"#/components/schemas/([^"]+)"', r.text))
    assert refs <= set(schemas)
    live = doc["paths"]["/api/occupancy/cameras/{camera_id}/live"]["get"]
    assert live["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/LiveOccupancyOut"
    }
    assert {"404", "422", "503"} <= set(live["responses"])
    assert live["responses"]["404"]["content"]["application/json"]["schema"]["$ref"].endswith("/Detail")
    assert set(schemas["LiveOccupancyOut"]["properties"]) == {
        "camera_id",
        "current_occupancy",
        "total_entries",
        "total_exits",
        "unique_persons",
        "last_updated",
    }
    last_updated = schemas["LiveOccupancyOut"]["properties"]["last_updated"]
    assert {"type": "null"} in last_updated["anyOf"]
    create = doc["paths"]["/api/occupancy/cameras"]["post"]
    assert "201" in create["responses"] and "409" in create["responses"]
    assert create["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/CameraCreate")
    logs = doc["paths"]["/api/occupancy/cameras/{camera_id}/logs"]["get"]
    hours = next(p for p in logs["parameters"] if p["name"] == "hours")
    assert hours["in"] == "query" and hours["required"] is False
    assert hours["description"] == "Last N hours to retrieve"
    assert (hours["schema"]["type"], hours["schema"]["minimum"], hours["schema"]["default"]) == ("integer", 1, 24)
    assert "202" in doc["paths"]["/api/occupancy/aggregate"]["post"]["responses"]
    assert "/health" in doc["paths"] and "/metrics" in doc["paths"]
    assert "/openapi.json" not in doc["paths"] and "/docs" not in doc["paths"]


async def test_docs_and_the_document_need_a_login(app: Starlette) -> None:
    async with http_client(app) as anonymous:
        for path in ("/openapi.json", "/docs"):
            r = await anonymous.get(path)
            assert r.status_code == 401 and r.json() == {"detail": "Not authenticated"}, path


async def test_swagger_ui_is_served_locally(client: httpx.AsyncClient) -> None:
    r = await client.get("/docs")
    assert r.status_code == 200 and "swagger-ui" in r.text and "openapi.json" in r.text
    assert "docs/static/swagger-ui-bundle.js" in r.text  # from the swagger-ui-bundle package, not a CDN
    assert "https://" not in r.text and "<script>" not in r.text  # no CDN, no inline script (CSP)
    for asset in ("docs/static/swagger-ui-bundle.js", "docs/static/swagger-ui.css",
                  "docs/static/swagger-ui-standalone-preset.js", "static/docs/init.js"):
        assert (await client.get(f"/{asset}")).status_code == 200, asset


async def test_dashboard(client: httpx.AsyncClient) -> None:
    r = await client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = r.text
    assert '<form id="login"' in page and 'id="logout"' in page and "<script>" not in page  # no inline script
    assert " on" + "click=" not in page and " on" + "submit=" not in page  # no inline event handlers
    assert '<script type="module" src="static/app/main.js"></script>' in page
    js = ""
    for module in ("main.js", "api.js", "frame.js", "pages/live.js", "pages/setup.js", "pages/history.js",
                   "pages/journeys.js", "pages/admin.js"):
        r = await client.get(f"/static/app/{module}")
        assert r.status_code == 200 and "javascript" in r.headers["content-type"], module
        js += r.text
    for needle in ("graphql-transport-ws", "facilityStats", "api/auth/login/", "api/auth/logout/", "X-CSRF-Token",
                   "edges { node", "occupancy(cameraId: $id)", "api/dashboard/me", "/snapshot"):
        assert needle in js, needle


class Pong(BaseModel):
    org: str


def _extra_domain(style) -> GatewayDomain:  # type: ignore[no-untyped-def]
    router = domain_router("/api/extra", tags=["extra"], style=style)

    @router.get("/ping")
    async def ping(caller: Reader) -> Pong:
        """Who is asking."""
        return Pong(org=caller.org)

    @router.post("/things/{thing_id}")
    async def make_thing(caller: Writer, thing_id: int, body: Pong) -> Pong:
        raise errors.NotFound("thing not found")

    async def plain(request: Request) -> PlainTextResponse:
        return PlainTextResponse("plain")

    return GatewayDomain("extra", router=router, routes=(Route("/plain", plain),), error_style=style)


async def test_a_domain_registers_routes_with_its_own_error_style(
    graph_settings: Settings, occupancy_stack, auth: AuthKit
) -> None:  # type: ignore[no-untyped-def]
    app = _app(graph_settings, occupancy_stack.channel, auth, domains=(occupancy.DOMAIN, _extra_domain(FIELD_LIST)))
    org = unique_org("extra")
    async with http_client(app, bearer(auth, org)) as c:
        assert (await c.get("/api/extra/ping")).json() == {"org": org}
        assert (await c.get("/plain")).text == "plain"
        assert "/api/extra/ping" in (await c.get("/openapi.json")).json()["paths"]
        r = await c.post("/api/extra/things/abc", json={"org": 5})
        assert r.status_code == 422
        assert {e["field"] for e in r.json()["detail"]} == {"thing_id", "org"}
        assert all(set(e) == {"field", "message"} for e in r.json()["detail"])
        r = await c.post("/api/extra/things/1", json={"org": "x"})
        assert r.status_code == 404 and r.json() == {"detail": "thing not found"}
        # occupancy keeps its own style in the same app
        assert (await c.post("/api/occupancy/cameras", json={})).status_code == 400
    async with http_client(app) as anonymous:
        assert (await anonymous.get("/api/extra/ping")).json() == {"detail": "Not authenticated"}

    app = _app(graph_settings, occupancy_stack.channel, auth, domains=(occupancy.DOMAIN, _extra_domain(ERROR_KEY)))
    async with http_client(app, bearer(auth, org)) as c:
        r = await c.post("/api/extra/things/abc", json={})
        assert r.status_code == 400
        assert r.json()["error"] == "Invalid data provided" and set(r.json()["details"]) == {"thing_id", "org"}
        r = await c.post("/api/extra/things/1", json={"org": "x"})
        assert r.status_code == 404 and r.json() == {"error": "thing not found"}
    async with http_client(app) as anonymous:
        assert (await anonymous.get("/api/extra/ping")).json() == {"error": "Not authenticated"}
