"""`GET /api/occupancy/cameras/{camera_id}/live` answered from the gateway's live cache, before FastAPI.

Dashboards poll this route more than any other, and FastAPI's routing and dependency solving cost several
times what answering it does once the count is in memory. `LiveReads` is a pure ASGI middleware inside the
gateway's rate limits, metrics and hardening layers: when the request is exactly that route, the caller
authenticates (`footfall.graph.security.auth.authenticate`, as every route) with a reader's role, and the
cache holds the camera fresh for the caller's organisation, it answers with the body the route would send
(`live_body`, rendered once per update). Anything else (a miss, an error to report, another path) goes to
the route, which asks the service and fills the cache: the route stays the one implementation, this only
saves its overhead on a hit.

    cache = install_live_reads(app, settings, clients)   # before MetricsMiddleware: inside it
    await cache.start(nats_url)                          # the app's lifespan; cache.close() at shutdown
"""

from __future__ import annotations

from typing import Any

from footfall.graph.core.client import Clients
from footfall.graph.occupancy.client import OccupancyClient
from footfall.graph.occupancy.live_cache import LiveOccupancyCache
from footfall.graph.occupancy.models import LiveOccupancyOut
from footfall.graph.security.auth import authenticate
from footfall.services.core.config import Settings
from footfall.services.core.errors import FootfallError
from footfall.v1 import occupancy_pb2
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

PATH_HEAD = "/api/occupancy/cameras/"
PATH_TAIL = "/live"
ROUTE_PATH = PATH_HEAD + "{camera_id}" + PATH_TAIL
INT64_MAX = 2**63 - 1
RENDERING = "rest"
JSON_CONTENT_TYPE = (b"content-type", b"application/json")


def live_body(live: occupancy_pb2.LiveOccupancy) -> bytes:
    """The route's JSON body (seed 001's shape)."""
    return LiveOccupancyOut.of(live).model_dump_json().encode()


def camera_number(path: str) -> int | None:
    """The camera number of a live-occupancy path the route accepts as is, else None (the route decides)."""
    if not (path.startswith(PATH_HEAD) and path.endswith(PATH_TAIL)):
        return None
    digits = path[len(PATH_HEAD):len(path) - len(PATH_TAIL)]
    if not digits or len(digits) > 19 or not (digits.isascii() and digits.isdigit()):
        return None
    number = int(digits)
    return number if 1 <= number <= INT64_MAX else None


class _Route:
    """What the metrics middleware reads of the matched route: its path template."""

    path = ROUTE_PATH


class LiveReads:
    def __init__(self, app: ASGIApp, cache: LiveOccupancyCache, client: OccupancyClient) -> None:
        self.app = app
        self.cache = cache
        self.client = client
        self.route = _Route()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and self.cache.active:
            number = camera_number(scope["path"])
            if number is not None:
                body = await self._held(scope, number)
                if body is not None:
                    scope["route"] = self.route
                    await send({"type": "http.response.start", "status": 200, "headers": [
                        (b"content-length", b"%d" % len(body)), JSON_CONTENT_TYPE]})
                    await send({"type": "http.response.body", "body": body})
                    return
        await self.app(scope, receive, send)

    async def _held(self, scope: Scope, number: int) -> bytes | None:
        try:
            caller = await authenticate(HTTPConnection(scope))
        except FootfallError:
            return None  # the route answers it, in its error style
        entry = self.client.held_live(caller, number)  # a reader of their own organisation only
        return entry.rendered(RENDERING, live_body) if entry is not None else None


def install_live_reads(app: Any, settings: Settings, clients: Clients) -> LiveOccupancyCache:
    """The gateway's live cache, used by its occupancy client, by `LiveReads` and by GraphQL's `LiveQueries`
    (both added to `app` here)."""
    from footfall.graph.occupancy.live_queries import LiveQueries

    cache = LiveOccupancyCache(settings.occupancy_live_cache_s, subject_prefix=settings.nats_subject_prefix)
    client = clients.get(OccupancyClient)
    client.live_cache = cache
    app.add_middleware(LiveQueries, cache=cache, client=client)
    app.add_middleware(LiveReads, cache=cache, client=client)
    return cache
