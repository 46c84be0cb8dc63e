"""The gateway: one FastAPI app with every domain's REST routes and one Strawberry GraphQL schema.

    app = create_app(settings, channel)            # channel: a grpc.aio.Channel to the services
    uvicorn.run(app, host=settings.http_host, port=settings.http_port)

Each domain (`graph/<domain>/`, a `GatewayDomain`) is registered the same way: its router, its other routes,
its GraphQL module, its service's health. Every route needs a credential (`footfall.graph.security.auth`)
except `/health`; `/metrics` is behind its token, a separate bind, or a platform admin's login. The app owns no
connection: the caller opens the channel before and closes it after.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta
from functools import partial
from typing import Any

import grpc
from fastapi import Depends, FastAPI
from footfall.graph.core.client import Clients
from footfall.graph.core.domain import GatewayDomain
from footfall.graph.core.errors import EXCEPTION_HANDLERS
from footfall.graph.core.graphql import GatewayGraphQL
from footfall.graph.core.metrics import GatewayMetrics, MetricsMiddleware
from footfall.graph.core.pages import GRAPHIQL_PAGE, STATIC_DIR, SWAGGER_PAGE, asset_routes
from footfall.graph.core.schema import GatewaySchema, build_schema, error_code
from footfall.graph.core.serving import FASTAPI_OPTIONS, gateway_lifespan
from footfall.graph.security.auth import CredentialVerifier, current_caller
from footfall.graph.security.graphql import graphql_extensions
from footfall.graph.security.http import install_http_hardening
from footfall.graph.security.ratelimit import install_rate_limits
from footfall.services.core import errors
from footfall.services.core.config import Settings
from footfall.services.core.principal import Role
from footfall.services.core.verification import SharedVerification
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from strawberry.extensions import MaskErrors, SchemaExtension

log = logging.getLogger(__name__)

# Extra health checks: each dependency's name -> "ok" (or True) when it is up, else what is wrong (or False).
HealthCheck = Callable[[], Awaitable[Mapping[str, str | bool]]]


def default_domains() -> tuple[GatewayDomain, ...]:
    """Every domain of the platform, in the order their routes are matched."""
    from footfall.graph import accounts, customers, dashboard, identity, occupancy, promotions, vision

    return (accounts.DOMAIN, occupancy.DOMAIN, vision.DOMAIN, customers.DOMAIN, identity.DOMAIN, promotions.DOMAIN,
            dashboard.DOMAIN)


def gateway_schema(domains: Sequence[GatewayDomain], settings: Settings) -> GatewaySchema:
    """The domains' GraphQL modules as one schema, with the cost limits and unexpected errors masked."""
    return build_schema(
        [d.schema for d in domains if d.schema is not None],
        extensions=[
            *(_factory(e) for e in graphql_extensions(settings)),
            partial(MaskErrors, should_mask_error=_unexpected),
        ],
    )


def _unexpected(error: GraphQLError) -> bool:
    """Errors clients see as "Unexpected error.": exceptions that are not domain errors (never quoted)."""
    return error.original_error is not None and error_code(error.original_error) is None


def _factory(extension: Any) -> Any:
    """A fresh copy per operation of an extension given as an instance (they keep per-operation state)."""
    return partial(copy.copy, extension) if isinstance(extension, SchemaExtension) else extension


def create_app(
    settings: Settings,
    channel: grpc.aio.Channel,
    *,
    domains: Sequence[GatewayDomain] | None = None,
    authenticator: CredentialVerifier | None = None,
    health_check: HealthCheck | None = None,
    rpc_timeout_s: float = 10.0,
    nats_url: str | None = None,
) -> FastAPI:
    """The gateway app over `channel`.

    `domains`: what it serves (default: all, `default_domains()`). `authenticator`: turns credentials into
    principals (default: the accounts service over `channel`). `health_check`: extra dependency checks for
    `/health` (each domain's service is always checked). `nats_url`: where the services announce live updates,
    which the gateway keeps for its live reads (default `settings.nats_url`; none: every read asks a service).
    """
    if domains is None:
        domains = default_domains()
    if authenticator is None:
        from footfall.graph.accounts.verifier import AccountsVerifier

        authenticator = AccountsVerifier(channel, settings)
    clients = Clients(channel, timeout=rpc_timeout_s)
    metrics = GatewayMetrics()
    graphql_app = GatewayGraphQL(
        gateway_schema(domains, settings),
        settings,
        clients,
        GRAPHIQL_PAGE,
        keep_alive=True,
        keep_alive_interval=15,
        connection_init_wait_timeout=timedelta(seconds=30),
    )
    app = FastAPI(
        title="Footfall",
        summary="In-store retail analytics from cameras: the REST compatibility API (GraphQL: /graphql).",
        version="0.1.0",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # served below, behind the login
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=gateway_lifespan,
        **FASTAPI_OPTIONS,
    )
    # The seeds' paths are exact: `/cameras/` is not `/cameras`, and a POST is never redirected.
    app.router.redirect_slashes = False
    app.state.settings = settings
    app.state.clients = clients
    app.state.metrics = metrics
    app.state.graphql = graphql_app
    app.state.authenticator = SharedVerification(authenticator)
    app.state.domains = tuple(domains)

    _platform_routes(app, settings, clients, metrics, domains, health_check)
    app.router.routes += [
        Route("/graphql", graphql_app, name="graphql"),
        WebSocketRoute("/graphql", graphql_app, name="graphql-ws"),
        *asset_routes(),
    ]
    for domain in domains:
        if domain.router is not None:
            app.include_router(domain.router)
        app.router.routes += list(domain.routes)

    app.state.nats_url = settings.nats_url if nats_url is None else nats_url
    app.state.live_occupancy = None
    if any(d.name == "occupancy" for d in domains):
        from footfall.graph.occupancy.live_reads import install_live_reads

        app.state.live_occupancy = install_live_reads(app, settings, clients)  # inside the metrics
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    install_rate_limits(app, settings)
    install_http_hardening(app, settings)
    return app


def _platform_routes(
    app: FastAPI,
    settings: Settings,
    clients: Clients,
    metrics: GatewayMetrics,
    domains: Sequence[GatewayDomain],
    health_check: HealthCheck | None,
) -> None:
    dashboard = _dashboard_html()

    @app.get("/health", tags=["platform"], summary="Whether the gateway and the services behind it are up")
    async def health() -> JSONResponse:
        checks = await _run_health_checks(clients, domains, health_check)
        if all(v == "ok" for v in checks.values()):
            return JSONResponse({"status": "healthy"})
        return JSONResponse({"status": "degraded", "checks": checks}, status_code=503)

    if settings.metrics_port is None:

        @app.get("/metrics", tags=["platform"], summary="Prometheus metrics", response_class=Response)
        async def metrics_endpoint(request: Request) -> Response:
            """With `FOOTFALL_METRICS_TOKEN`: `Authorization: Bearer <token>`; without: a platform admin's login."""
            await _metrics_allowed(request, settings)
            return await metrics.endpoint(request)

    @app.get("/openapi.json", include_in_schema=False, dependencies=[Depends(current_caller)])
    async def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False, dependencies=[Depends(current_caller)])
    async def docs() -> HTMLResponse:
        return HTMLResponse(SWAGGER_PAGE)

    @app.get("/", include_in_schema=False)
    async def dashboard_page() -> HTMLResponse:
        return HTMLResponse(dashboard)


async def _metrics_allowed(request: Request, settings: Settings) -> None:
    import hmac

    if settings.metrics_token:
        scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), settings.metrics_token.encode()):
            return
        raise errors.Unauthenticated("Not authenticated")
    caller = await current_caller(request)
    caller.principal.require({Role.PLATFORM_ADMIN})


async def _run_health_checks(
    clients: Clients, domains: Sequence[GatewayDomain], extra: HealthCheck | None
) -> dict[str, str]:
    checks: dict[str, str] = {}

    async def service_check(domain: GatewayDomain) -> None:
        assert domain.client is not None
        ok, why = await clients.get(domain.client).serving()
        checks[domain.name] = "ok" if ok else why or "down"

    async def extra_checks() -> None:
        if extra is None:
            return
        try:
            result = await asyncio.wait_for(extra(), 5)
        except Exception as err:  # noqa: BLE001 - a failing check is itself a finding
            log.warning("health check failed: %r", err)
            checks["health_check"] = "failed"
            return
        for name, state in result.items():
            if state is True or state == "ok":
                checks[name] = "ok"
            else:
                checks[name] = state if isinstance(state, str) and state else "down"

    await asyncio.gather(
        *(service_check(d) for d in domains if d.client is not None and d.health_check), extra_checks()
    )
    return checks


_NO_DASHBOARD = (
    "<!doctype html><title>Footfall</title><p>The dashboard page is not installed (graph/static/dashboard.html). "
    'The API is up: <a href="graphql">GraphQL</a>, <a href="docs">REST API</a>.</p>'
)


def _dashboard_html() -> str:
    path = STATIC_DIR / "dashboard.html"
    try:
        return path.read_text(encoding="utf-8")
    except OSError:  # a wheel built without the package data: the API must still come up
        log.warning("dashboard page %s is missing; serving a placeholder at /", path)
        return _NO_DASHBOARD


def metrics_app(metrics: GatewayMetrics) -> Any:
    """`/metrics` alone, for its own bind (`FOOTFALL_METRICS_PORT`): `uvicorn.Server(Config(metrics_app(app.state.metrics), port=...))`."""
    from starlette.applications import Starlette

    return Starlette(routes=[Route("/metrics", metrics.endpoint, methods=["GET"])])


__all__ = ["create_app", "default_domains", "gateway_schema", "metrics_app"]
