"""Prometheus metrics for the gateway: requests by method, route template and status, and their latency.

`/metrics` serves these with the services' registry (`footfall.services.core.metrics.REGISTRY`: occupancy,
streams, consumers, webhooks, and the process's CPU and memory), so `footfall up` is one scrape target.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from footfall.services.core.metrics import REGISTRY as SERVICES_REGISTRY
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.metrics_core import Metric
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNMATCHED = "<unmatched>"
_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class GatewayMetrics:
    """One HTTP registry per app, so several apps (tests, embedded) never collide; the process collector is in
    the services' registry, which every process serves."""

    def __init__(
        self, registry: CollectorRegistry | None = None, namespace: str = "footfall_gateway"
    ) -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "http_requests",
            "HTTP requests by method, route template and status code",
            ["method", "route", "status"],
            namespace=namespace,
            registry=self.registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "HTTP request latency by method and route template",
            ["method", "route"],
            namespace=namespace,
            registry=self.registry,
            buckets=_BUCKETS,
        )
        self.in_progress = Gauge(
            "http_requests_in_progress",
            "HTTP requests being served",
            namespace=namespace,
            registry=self.registry,
        )
        self.websockets = Gauge(
            "websocket_connections",
            "Open websocket connections (GraphQL subscriptions)",
            namespace=namespace,
            registry=self.registry,
        )

    def collect(self) -> Iterable[Metric]:
        """The HTTP series, then the services' (one exposition, as prometheus_client's registries collect)."""
        yield from self.registry.collect()
        yield from SERVICES_REGISTRY.collect()

    async def endpoint(self, request: Request) -> Response:
        return Response(generate_latest(self), media_type=CONTENT_TYPE_LATEST)  # type: ignore[arg-type]


def route_template(scope: Scope) -> str:
    """The matched route's path template (`/api/occupancy/cameras/{camera_id}/live`), not the raw path."""
    route = scope.get("route")
    if route is None:
        return UNMATCHED
    path = getattr(route, "path", None)
    if path is None:
        return UNMATCHED
    if isinstance(route, Mount):
        return path + "/{path}"
    return str(path)


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: GatewayMetrics) -> None:
        self.app = app
        self.metrics = metrics
        # The labelled series per (method, route, status), looked up once: `labels()` cost more than the
        # counting on a cached live read. Bounded like the series themselves (route templates, not paths).
        self._series: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            self.metrics.websockets.inc()
            try:
                await self.app(scope, receive, send)
            finally:
                self.metrics.websockets.dec()
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        self.metrics.in_progress.inc()
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self.metrics.in_progress.dec()
            route = route_template(scope)
            method: Any = scope.get("method", "GET")
            series = self._series.get((method, route, status))
            if series is None:
                series = self._series[(method, route, status)] = (
                    self.metrics.requests.labels(method, route, str(status)), self.metrics.latency.labels(method, route))
            series[0].inc()
            series[1].observe(time.perf_counter() - started)
