"""The GraphQL context: who is asking (the authenticated `Caller`) and the service clients to ask with."""

from __future__ import annotations

from typing import Any, TypeVar

from footfall.graph.core.client import Clients, ServiceClient
from footfall.graph.security.auth import Caller
from footfall.services.core import errors
from footfall.services.core.config import Settings
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.types import Info as _Info

C = TypeVar("C", bound=ServiceClient)


class GraphContext:
    """Per operation (HTTP) or per connection (websocket, where `connection_init` authenticates)."""

    def __init__(
        self,
        request: Request | WebSocket,
        response: Response | WebSocket | None,
        settings: Settings,
        clients: Clients,
        caller: Caller | None = None,
    ) -> None:
        self.request = request
        self.response = response
        self.settings = settings
        self.clients = clients
        self._caller = caller
        # Set by Strawberry from the websocket `connection_init` payload.
        self.connection_params: dict[str, Any] | None = None
        # Per-operation DataLoaders, by name (`footfall.graph.core.loaders`).
        self.loaders: dict[str, Any] = {}

    @property
    def caller(self) -> Caller:
        if self._caller is None:
            raise errors.Unauthenticated("Not authenticated")
        return self._caller

    @caller.setter
    def caller(self, value: Caller) -> None:
        self._caller = value

    @property
    def org(self) -> str:
        return self.caller.org

    def client(self, cls: type[C]) -> C:
        return self.clients.get(cls)


Info = _Info[GraphContext, None]
