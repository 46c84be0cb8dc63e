"""The GraphQL context: who is asking (their organisation) and the service clients to ask with."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.types import Info as _Info

from footfall.graph.clients import Clients, OccupancyClient
from footfall.services.core.config import Settings
from footfall.services.core.tenancy import ORG_HTTP_HEADER, validate_org


class GraphContext:
    """Per operation (HTTP) or per connection (websocket).

    The organisation comes from the websocket `connection_init` payload `{"org": "..."}`, else the
    `X-Footfall-Org` header, else `settings.default_org`.
    """

    def __init__(
        self,
        request: Request | WebSocket,
        response: Response | WebSocket | None,
        settings: Settings,
        clients: Clients,
    ) -> None:
        self.request = request
        self.response = response
        self.settings = settings
        self.clients = clients
        # Set by Strawberry from the websocket `connection_init` payload.
        self.connection_params: dict[str, Any] | None = None

    @property
    def org(self) -> str:
        params = self.connection_params
        if isinstance(params, dict) and params.get("org"):
            return validate_org(str(params["org"]))
        header = self.request.headers.get(ORG_HTTP_HEADER)
        return validate_org(header.strip()) if header else self.settings.default_org

    @property
    def occupancy(self) -> OccupancyClient:
        return self.clients.occupancy


Info = _Info[GraphContext, None]
