"""One gateway domain: its gRPC client, REST router, GraphQL module and any other routes, registered alike.

Each domain is a folder in `graph/` (`client.py`, `rest.py`, `schema.py`, `convert.py`) whose `__init__.py`
declares one `DOMAIN`; `footfall.graph.app.create_app` mounts a tuple of them:

    DOMAIN = GatewayDomain("vision", client=VisionClient, router=rest.router, schema=schema.MODULE,
                           routes=rest.stream_routes())
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter
from footfall.graph.core.client import ServiceClient
from footfall.graph.core.errors import DETAIL, ErrorStyle
from footfall.graph.core.schema import SchemaModule
from starlette.routing import BaseRoute


@dataclass(frozen=True)
class GatewayDomain:
    """What a domain adds to the gateway.

    `client`: the service behind it; `/health` asks it when `health_check` is true.
    `router`: its REST routes, made with `footfall.graph.core.rest.domain_router(style=error_style)` so each
    answers errors in its seed's shape. `routes`: routes outside FastAPI (MJPEG streams, websockets), which
    authenticate themselves. `schema`: its GraphQL types and root fields.
    """

    name: str
    client: type[ServiceClient] | None = None
    router: APIRouter | None = None
    schema: SchemaModule | None = None
    routes: tuple[BaseRoute, ...] = ()
    error_style: ErrorStyle = DETAIL
    health_check: bool = True
