"""Strawberry's ASGI view with the gateway's login: HTTP requests (GraphiQL included) need a credential before
anything runs, websockets present one in `connection_init` (`{"authorization": "Bearer ..."}`) or in the
handshake's headers/cookie. The caller then travels in the context (`info.context.caller`).
"""

from __future__ import annotations

from typing import Any

import strawberry
from footfall.graph.core.client import Clients
from footfall.graph.core.context import GraphContext
from footfall.graph.core.errors import DETAIL
from footfall.graph.security.auth import Caller, authenticate, authenticate_credential, credential_of
from footfall.services.core import errors
from footfall.services.core.config import Settings
from footfall.services.core.tenancy import ORG_HTTP_HEADER
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.types.unset import UnsetType


class GatewayGraphQL(GraphQL):
    def __init__(
        self, schema: strawberry.Schema, settings: Settings, clients: Clients, ide_html: str, **kw: Any
    ) -> None:
        super().__init__(schema, **kw)
        self.settings = settings
        self.clients = clients
        self.ide_html = ide_html

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            try:
                await authenticate(HTTPConnection(scope))
            except errors.FootfallError as err:
                await DETAIL.domain_error(err)(scope, receive, send)
                return
        await super().__call__(scope, receive, send)

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> GraphContext:  # type: ignore[override]
        caller = getattr(request.state, "caller", None)
        return GraphContext(
            request, response, self.settings, self.clients, caller if isinstance(caller, Caller) else None
        )

    async def on_ws_connect(self, context: GraphContext) -> UnsetType | dict[str, object] | None:  # type: ignore[override]
        params = context.connection_params if isinstance(context.connection_params, dict) else {}
        conn = context.request
        credential, via_cookie = credential_of(conn)
        given = params.get("authorization") or params.get("Authorization")
        if isinstance(given, str) and given.strip():
            scheme, _, value = given.strip().partition(" ")
            credential, via_cookie = (value.strip() if scheme.lower() == "bearer" else given.strip()), False
        org = params.get("org") or conn.headers.get(ORG_HTTP_HEADER)
        try:
            context.caller = await authenticate_credential(
                conn.app.state.authenticator,
                credential,
                str(org).strip() if org else None,
                via_cookie=via_cookie,
            )
        except errors.FootfallError as err:
            raise ConnectionRejectionError({"message": str(err)}) from None
        return {"org": context.caller.org}

    async def render_graphql_ide(self, request: Request) -> Response:
        return HTMLResponse(self.ide_html)
