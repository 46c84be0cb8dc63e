"""Authentication for every gateway interface: one check, used by FastAPI routes, GraphQL and websockets.

A request carries one credential: `Authorization: Bearer <access token or API key>`, `X-API-Key: <key>`, or the
seed 003 session cookie. `app.state.authenticator` (a `CredentialVerifier`) turns it into a `Principal`; the
organisation comes from the credential, and `X-Footfall-Org` may only point a platform admin at another org.
The credential is forwarded to the services (`Caller.grpc_metadata`), which check it again, together with the
client address so that the audit log can say where an action came from.

A browser sends the session cookie with every request, whoever's page made it, so an unsafe request (or a
websocket) authenticated by the cookie must also prove it comes from our own pages: a matching `Origin` (or,
lacking one, `Referer`), or an `X-CSRF-Token` header equal to the `footfall_csrf` cookie (double submit; the
login sets both cookies). Bearer tokens and API keys are never sent by a browser on its own, so they need
neither.

CONTRACT (other modules import these names):
    Caller                      who is calling + the credential to forward + the org acted on
    authenticate(conn)          -> Caller, raises Unauthenticated (401) / PermissionDenied (403)
    current_caller              FastAPI dependency -> Caller
    CurrentCaller               Annotated[Caller, Depends(current_caller)]
    require(roles)              FastAPI dependency factory: the caller, if their role is in `roles` (else 403)
    origin_allowed(conn)        whether a browser request or websocket comes from an allowed origin
    client_ip(conn)             the client address as the gateway sees it
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any, Protocol
from urllib.parse import urlsplit

from fastapi import Depends
from footfall.services.core.errors import PermissionDenied, Unauthenticated
from footfall.services.core.principal import Principal, Role
from footfall.services.core.tenancy import ORG_HTTP_HEADER, ORG_METADATA_KEY
from starlette.requests import HTTPConnection
from starlette.types import Scope

SESSION_COOKIE = "footfall_session"
CSRF_COOKIE = "footfall_csrf"
CSRF_HEADER = "X-CSRF-Token"
API_KEY_HEADER = "X-API-Key"
#: gRPC metadata carrying the client address to the services (their audit log records it).
CLIENT_IP_METADATA_KEY = "x-forwarded-for"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_REFUSED = "CSRF check failed: cross-origin request"
_DEFAULT_PORTS = {"http": 80, "https": 443}
_API_KEY_NAME = API_KEY_HEADER.lower().encode("latin-1")
_ORG_NAME = ORG_HTTP_HEADER.lower().encode("latin-1")


class CredentialVerifier(Protocol):
    async def authenticate(self, credential: str) -> Principal: ...


@dataclass(frozen=True)
class Caller:
    principal: Principal
    credential: str
    org: str
    via_cookie: bool = False
    ip: str = ""

    @property
    def role(self) -> Role:
        return self.principal.role

    def grpc_metadata(self) -> tuple[tuple[str, str], ...]:
        metadata = (("authorization", f"Bearer {self.credential}"), (ORG_METADATA_KEY, self.org))
        return (*metadata, (CLIENT_IP_METADATA_KEY, self.ip)) if self.ip else metadata


def client_ip(conn: HTTPConnection) -> str:
    """The peer address (uvicorn replaces it from `X-Forwarded-For` only for its trusted proxies)."""
    return conn.client.host if conn.client else ""


def credential_of(conn: HTTPConnection) -> tuple[str | None, bool]:
    """The credential a request carries and whether it came from the session cookie."""
    return _credential(conn, *_auth_headers(conn.scope)[:2])


def _auth_headers(scope: Scope) -> tuple[str | None, str | None, str | None]:
    """The first `Authorization`, `X-API-Key` and `X-Footfall-Org` values, in one pass over the raw headers.

    What `conn.headers.get` answers for each (servers give header names in lower case), without building a
    `Headers` per request: this runs on every authenticated request, the cached live reads included.
    """
    authorization = api_key = org = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            if authorization is None:
                authorization = value.decode("latin-1")
        elif name == _API_KEY_NAME:
            if api_key is None:
                api_key = value.decode("latin-1")
        elif name == _ORG_NAME and org is None:
            org = value.decode("latin-1")
    return authorization, api_key, org


def _credential(conn: HTTPConnection, authorization: str | None, api_key: str | None) -> tuple[str | None, bool]:
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip(), False
        return None, False
    if api_key:
        return api_key.strip(), False
    cookie = conn.cookies.get(SESSION_COOKIE)
    if cookie:
        return cookie, True
    return None, False


def _origin(url: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(url.strip())
        scheme, host, port = parts.scheme.lower(), (parts.hostname or "").lower(), parts.port
    except ValueError:
        return None
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    return scheme, host, port or _DEFAULT_PORTS[scheme]


def _own_origins(conn: HTTPConnection) -> set[tuple[str, str, int]]:
    """The origins a page of this gateway has: its Host, over the scheme seen (and https, behind TLS proxies)."""
    host = conn.headers.get("host")
    if not host:
        return set()
    scheme = {"ws": "http", "wss": "https"}.get(conn.url.scheme, conn.url.scheme)
    found = set()
    for candidate in {scheme, "https"}:
        origin = _origin(f"{candidate}://{host}")
        if origin:
            found.add(origin)
    return found


def origin_allowed(conn: HTTPConnection, origin: str | None = None) -> bool:
    """Whether `origin` (default: the request's `Origin`, else its `Referer`) is ours or an allowed origin."""
    if origin is None:
        origin = conn.headers.get("origin") or conn.headers.get("referer")
    if not origin:
        return False
    parsed = _origin(origin)
    if parsed is None:  # "null" (sandboxed frames, file://) and anything unparseable
        return False
    if parsed in _own_origins(conn):
        return True
    settings = getattr(conn.app.state, "settings", None)
    allowed = getattr(settings, "allowed_origins", None) or ()
    return any(_origin(a) == parsed for a in allowed)


def csrf_token_matches(conn: HTTPConnection) -> bool:
    header, cookie = conn.headers.get(CSRF_HEADER), conn.cookies.get(CSRF_COOKIE)
    return bool(header and cookie) and hmac.compare_digest(header.encode(), cookie.encode())  # type: ignore[union-attr]


def check_csrf(conn: HTTPConnection) -> None:
    """Refuse (403) a cookie-authenticated unsafe request or websocket that another site could have made."""
    if conn.scope["type"] == "websocket":
        # Browsers always send Origin on a websocket handshake and never a custom header.
        if not origin_allowed(conn, conn.headers.get("origin") or ""):
            raise PermissionDenied(CSRF_REFUSED)
        return
    if conn.scope.get("method", "GET") in SAFE_METHODS:
        return
    if csrf_token_matches(conn) or origin_allowed(conn):
        return
    raise PermissionDenied(CSRF_REFUSED)


async def authenticate_credential(
    verifier: CredentialVerifier,
    credential: str | None,
    requested_org: str | None,
    *,
    via_cookie: bool = False,
    ip: str = "",
) -> Caller:
    if not credential:
        raise Unauthenticated("Not authenticated")
    principal = await verifier.authenticate(credential)
    return Caller(principal, credential, principal.acting_on(requested_org), via_cookie, ip)


async def authenticate(conn: HTTPConnection) -> Caller:
    """The caller of an HTTP request or websocket (cached on the connection's state)."""
    state = conn.scope.setdefault("state", {})  # what `conn.state` wraps, without a `State` per request
    cached = state.get("caller")
    if isinstance(cached, Caller):
        return cached
    authorization, api_key, requested = _auth_headers(conn.scope)
    credential, via_cookie = _credential(conn, authorization, api_key)
    caller = await authenticate_credential(
        conn.app.state.authenticator,
        credential,
        requested.strip() if requested else None,
        via_cookie=via_cookie,
        ip=client_ip(conn),
    )
    if via_cookie:
        check_csrf(conn)
    state["caller"] = caller
    return caller


async def current_caller(conn: HTTPConnection) -> Caller:
    return await authenticate(conn)


CurrentCaller = Annotated[Caller, Depends(current_caller)]


def require(roles: frozenset[Role] | set[Role]) -> Callable[..., Coroutine[Any, Any, Caller]]:
    """A dependency that yields the caller when their role is one of `roles`, else raises PermissionDenied."""

    async def dependency(caller: CurrentCaller) -> Caller:
        caller.principal.require(roles)
        return caller

    return dependency
