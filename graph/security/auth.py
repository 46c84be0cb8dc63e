"""Authentication for every gateway interface: one check, used by FastAPI routes, GraphQL and websockets.

A request carries one credential: `Authorization: Bearer <access token or API key>`, `X-API-Key: <key>`, or the
seed 003 session cookie. `app.state.authenticator` (a `CredentialVerifier`) turns it into a `Principal`; the
organisation comes from the credential, and `X-Footfall-Org` may only point a platform admin at another org.
The credential is forwarded to the services (`Caller.grpc_metadata`), which check it again.

CONTRACT (other modules import these names):
    Caller                      who is calling + the credential to forward + the org acted on
    authenticate(conn)          -> Caller, raises Unauthenticated (401) / PermissionDenied (403)
    current_caller              FastAPI dependency -> Caller
    CurrentCaller               Annotated[Caller, Depends(current_caller)]
    require(roles)              FastAPI dependency factory: the caller, if their role is in `roles` (else 403)
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any, Protocol

from fastapi import Depends
from starlette.requests import HTTPConnection

from footfall.services.core.errors import Unauthenticated
from footfall.services.core.principal import Principal, Role
from footfall.services.core.tenancy import ORG_HTTP_HEADER, ORG_METADATA_KEY

SESSION_COOKIE = "footfall_session"
API_KEY_HEADER = "X-API-Key"


class CredentialVerifier(Protocol):
    async def authenticate(self, credential: str) -> Principal: ...


@dataclass(frozen=True)
class Caller:
    principal: Principal
    credential: str
    org: str
    via_cookie: bool = False

    @property
    def role(self) -> Role:
        return self.principal.role

    def grpc_metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.credential}"), (ORG_METADATA_KEY, self.org))


def credential_of(conn: HTTPConnection) -> tuple[str | None, bool]:
    """The credential a request carries and whether it came from the session cookie."""
    header = conn.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip(), False
        return None, False
    key = conn.headers.get(API_KEY_HEADER)
    if key:
        return key.strip(), False
    cookie = conn.cookies.get(SESSION_COOKIE)
    if cookie:
        return cookie, True
    return None, False


async def authenticate_credential(
    verifier: CredentialVerifier, credential: str | None, requested_org: str | None, *, via_cookie: bool = False
) -> Caller:
    if not credential:
        raise Unauthenticated("Not authenticated")
    principal = await verifier.authenticate(credential)
    return Caller(principal, credential, principal.acting_on(requested_org), via_cookie)


async def authenticate(conn: HTTPConnection) -> Caller:
    """The caller of an HTTP request or websocket (cached on the connection's state)."""
    cached = getattr(conn.state, "caller", None)
    if isinstance(cached, Caller):
        return cached
    credential, via_cookie = credential_of(conn)
    requested = conn.headers.get(ORG_HTTP_HEADER)
    caller = await authenticate_credential(
        conn.app.state.authenticator, credential, requested.strip() if requested else None, via_cookie=via_cookie
    )
    conn.state.caller = caller
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
