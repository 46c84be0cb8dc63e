"""The gateway: Strawberry GraphQL and the REST compatibility routes on one Starlette app.

    app = create_app(settings, channel)            # channel: a grpc.aio.Channel to the services
    uvicorn.run(app, host=settings.http_host, port=settings.http_port)

Routes: `/graphql` (queries, mutations, subscriptions over graphql-transport-ws and graphql-ws, GraphiQL),
`/api/occupancy/...` (seed 001), `/health`, `/metrics`, `/openapi.json`, `/docs`, and the dashboard at `/`.
The app owns no connection: the caller opens the channel before and closes it after.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import grpc
import strawberry
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.types.unset import UnsetType

from footfall.graph.clients import Clients
from footfall.graph.metrics import GatewayMetrics, MetricsMiddleware
from footfall.graph.rest import occupancy as occupancy_rest
from footfall.graph.rest.docs import docs_routes
from footfall.graph.rest.errors import http_exception_handler, unhandled_exception_handler
from footfall.graph.rest.openapi import openapi_document
from footfall.graph.rest.routing import Endpoint, RestRouter
from footfall.graph.schema import build_schema
from footfall.graph.schema.context import GraphContext
from footfall.services.core.config import Settings
from footfall.services.core.errors import InvalidArgument

log = logging.getLogger(__name__)

# Extra health checks: each dependency's name -> "ok" (or True) when it is up, else what is wrong (or False).
HealthCheck = Callable[[], Awaitable[Mapping[str, str | bool]]]

REST_ROUTERS: tuple[RestRouter, ...] = (occupancy_rest.router,)


class GatewayGraphQL(GraphQL):
    """Strawberry's ASGI view with the gateway's context (organisation, clients)."""

    def __init__(self, schema: strawberry.Schema, settings: Settings, clients: Clients, **kw: Any) -> None:
        super().__init__(schema, **kw)
        self.settings = settings
        self.clients = clients

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> GraphContext:  # type: ignore[override]
        return GraphContext(request, response, self.settings, self.clients)

    async def on_ws_connect(self, context: GraphContext) -> UnsetType | dict[str, object] | None:  # type: ignore[override]
        try:
            org = context.org  # from the payload's `org`, the header, or the default
        except InvalidArgument as err:
            raise ConnectionRejectionError({"message": str(err)}) from None
        return {"org": org}


def create_app(
    settings: Settings,
    channel: grpc.aio.Channel,
    *,
    extra_routes: Sequence[BaseRoute | RestRouter] = (),
    health_check: HealthCheck | None = None,
    schema: strawberry.Schema | None = None,
    rpc_timeout_s: float = 10.0,
) -> Starlette:
    """The gateway app over `channel`.

    `extra_routes`: more Starlette routes, or `RestRouter`s (which also join `/openapi.json`).
    `health_check`: extra dependency checks for `/health` (the gRPC services are always checked).
    `schema`: a schema composed with more domains (`footfall.graph.schema.build_schema([...])`).
    """
    clients = Clients(channel, timeout=rpc_timeout_s)
    metrics = GatewayMetrics()
    routers = [*REST_ROUTERS, *(r for r in extra_routes if isinstance(r, RestRouter))]
    plain_routes = [r for r in extra_routes if not isinstance(r, RestRouter)]
    endpoints: list[Endpoint] = [ep for r in routers for ep in r.endpoints]
    openapi = openapi_document(endpoints)

    graphql_app = GatewayGraphQL(
        schema or build_schema(),
        settings,
        clients,
        keep_alive=True,
        keep_alive_interval=15,
        connection_init_wait_timeout=timedelta(seconds=30),
    )

    async def health_endpoint(request: Request) -> JSONResponse:
        checks = await _run_health_checks(clients, health_check)
        if all(v == "ok" for v in checks.values()):
            return JSONResponse({"status": "healthy"})
        return JSONResponse({"status": "degraded", "checks": checks}, status_code=503)

    async def openapi_endpoint(request: Request) -> JSONResponse:
        return JSONResponse(openapi)

    dashboard = _dashboard_html()

    async def dashboard_endpoint(request: Request) -> HTMLResponse:
        return HTMLResponse(dashboard)

    routes: list[BaseRoute] = [
        Route("/", dashboard_endpoint, methods=["GET"], name="dashboard"),
        Route("/graphql", graphql_app, name="graphql"),
        WebSocketRoute("/graphql", graphql_app, name="graphql-ws"),
        Route("/health", health_endpoint, methods=["GET"], name="health"),
        Route("/metrics", metrics.endpoint, methods=["GET"], name="metrics"),
        Route("/openapi.json", openapi_endpoint, methods=["GET"], name="openapi"),
        *docs_routes(),
        *(route for r in routers for route in r.starlette_routes(clients, settings)),
        *plain_routes,
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(MetricsMiddleware, metrics=metrics)],
        exception_handlers={HTTPException: http_exception_handler, Exception: unhandled_exception_handler},
    )
    # The seeds' paths are exact: `/cameras/` is not `/cameras`, and a POST is never redirected.
    app.router.redirect_slashes = False
    app.state.settings = settings
    app.state.clients = clients
    app.state.metrics = metrics
    app.state.openapi = openapi
    app.state.graphql = graphql_app
    return app


async def _run_health_checks(clients: Clients, extra: HealthCheck | None) -> dict[str, str]:
    checks: dict[str, str] = {}

    async def grpc_check() -> None:
        ok, why = await clients.occupancy.serving()
        checks["occupancy"] = "ok" if ok else why or "down"

    async def extra_checks() -> None:
        if extra is None:
            return
        try:
            result = await asyncio.wait_for(extra(), 5)
        except Exception as err:  # noqa: BLE001 - a failing check is itself a finding
            checks["health_check"] = f"failed: {err!r}"
            return
        for name, state in result.items():
            if state is True or state == "ok":
                checks[name] = "ok"
            else:
                checks[name] = state if isinstance(state, str) and state else "down"

    await asyncio.gather(grpc_check(), extra_checks())
    return checks


_NO_DASHBOARD = (
    "<!doctype html><title>Footfall</title><p>The dashboard page is not installed (graph/static/dashboard.html). "
    'The API is up: <a href="graphql">GraphQL</a>, <a href="docs">REST API</a>.</p>'
)


def _dashboard_html() -> str:
    path = Path(__file__).parent / "static" / "dashboard.html"
    try:
        return path.read_text(encoding="utf-8")
    except OSError:  # a wheel built without the package data: the API must still come up
        log.warning("dashboard page %s is missing; serving a placeholder at /", path)
        return _NO_DASHBOARD
