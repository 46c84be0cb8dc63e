"""`/health` and `/metrics` for a process without the gateway (`footfall serve occupancy ...`).

The same policy as the gateway's `/metrics` (graph/app.py), so one scrape configuration fits every process:

* `FOOTFALL_METRICS_PORT` set: `/metrics` is served alone on that port, unauthenticated (keep the port
  inside the cluster network), and not on the HTTP port;
* else, on the HTTP port (`FOOTFALL_HTTP_PORT`), behind `Authorization: Bearer $FOOTFALL_METRICS_TOKEN`
  when that is set, or a platform admin's credential (access token or API key) when it is not.

`/health` is always on the HTTP port, open (liveness and readiness probes): 200 when the database and
NATS answer, 503 with the failing checks otherwise.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from footfall.services.core import errors
from footfall.services.core.config import Settings
from footfall.services.core.metrics import REGISTRY
from footfall.services.core.principal import Role
from footfall.services.core.tokens import NOT_AUTHENTICATED
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

HealthCheck = Callable[[], Awaitable[dict[str, str]]]


class CredentialVerifier(Protocol):
    async def authenticate(self, credential: str | None) -> Any: ...


async def metrics_response(request: Request) -> Response:
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


def _bearer(request: Request) -> str:
    scheme, _, value = (request.headers.get("authorization") or "").partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    return (request.headers.get("x-api-key") or "").strip()


def guarded_metrics(settings: Settings, authenticator: CredentialVerifier | None) -> Callable[[Request], Awaitable[Response]]:
    """`/metrics` behind the metrics token, else behind a platform admin's credential."""

    async def endpoint(request: Request) -> Response:
        credential = _bearer(request)
        if settings.metrics_token:
            if not hmac.compare_digest(credential.encode(), settings.metrics_token.encode()):
                return JSONResponse({"detail": NOT_AUTHENTICATED}, status_code=401)
            return await metrics_response(request)
        if authenticator is None or not credential:
            return JSONResponse({"detail": NOT_AUTHENTICATED}, status_code=401)
        try:
            principal = await authenticator.authenticate(credential)
            principal.require({Role.PLATFORM_ADMIN})
        except errors.Unauthenticated:
            return JSONResponse({"detail": NOT_AUTHENTICATED}, status_code=401)
        except errors.PermissionDenied as err:
            return JSONResponse({"detail": str(err)}, status_code=403)
        return await metrics_response(request)

    return endpoint


def health_endpoint(check: HealthCheck) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            checks = await check()
        except Exception:  # noqa: BLE001 - a failing check is itself the finding
            checks = {"health_check": "failed"}
        if all(state == "ok" for state in checks.values()):
            return JSONResponse({"status": "healthy"})
        return JSONResponse({"status": "degraded", "checks": checks}, status_code=503)

    return endpoint


def process_http_apps(settings: Settings, health: HealthCheck, authenticator: CredentialVerifier | None) -> list[tuple[int, Any]]:
    """(port, ASGI app) for each HTTP listener of a services-only process: `/health` (and `/metrics` when it
    has no port of its own) on the HTTP port, plus `/metrics` alone on `metrics_port` when that is set."""
    routes = [Route("/health", health_endpoint(health), methods=["GET"])]
    apps: list[tuple[int, Any]] = []
    if settings.metrics_port is None:
        routes.append(Route("/metrics", guarded_metrics(settings, authenticator), methods=["GET"]))
    else:
        apps.append((settings.metrics_port, Starlette(routes=[Route("/metrics", metrics_response, methods=["GET"])])))
    apps.insert(0, (settings.http_port, Starlette(routes=routes)))
    return apps
