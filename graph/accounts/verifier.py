"""Credential -> Principal for every gateway request, over `AccountsService.Authenticate`.

Each request would otherwise cost a gRPC round trip and a database lookup before any work starts, so a
verified credential is trusted for `settings.auth_cache_s` seconds (never past its own expiry). That window is
how long a revocation made by another process takes to reach this one; the process that revokes calls
`forget` and stops trusting at once. Concurrent requests with the same credential share one lookup.

    app.state.authenticator = AccountsVerifier(channel, settings)
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import OrderedDict

import grpc
from footfall.graph.accounts.convert import principal_from_pb
from footfall.services.core.config import Settings
from footfall.services.core.errors import Unauthenticated, Unavailable
from footfall.services.core.grpc import domain_error_from
from footfall.services.core.principal import Principal
from footfall.v1 import accounts_pb2, accounts_pb2_grpc

#: The one answer for every credential that does not authenticate: which ones exist is nobody's business.
NOT_AUTHENTICATED = "Not authenticated"
# Longer than any real credential (a JWT is a few hundred bytes); refused without asking the service.
MAX_CREDENTIAL_CHARS = 4096
_UNREACHABLE = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


class AccountsVerifier:
    """The gateway's `CredentialVerifier` (see `footfall.graph.security.auth`)."""

    def __init__(
        self, channel: grpc.aio.Channel, settings: Settings, *, timeout: float = 5.0, max_entries: int = 4096
    ) -> None:
        self._stub = accounts_pb2_grpc.AccountsServiceStub(channel)
        self._ttl = max(0.0, settings.auth_cache_s)
        self._timeout = timeout
        self._max_entries = max_entries
        self._cache: OrderedDict[bytes, tuple[Principal, float]] = OrderedDict()
        self._inflight: dict[bytes, asyncio.Future[Principal]] = {}

    async def authenticate(self, credential: str) -> Principal:
        if not credential or len(credential) > MAX_CREDENTIAL_CHARS or not credential.isprintable():
            raise Unauthenticated(NOT_AUTHENTICATED)
        key = _key(credential)
        cached = self._cache.get(key)
        now = time.monotonic()
        if cached is not None:
            principal, until = cached
            if now < until:
                return principal
            self._cache.pop(key, None)
        pending = self._inflight.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._lookup(key, credential))
            self._inflight[key] = pending
            pending.add_done_callback(lambda _: self._inflight.pop(key, None))
        # One caller going away must not cancel the lookup the others wait for.
        return await asyncio.shield(pending)

    def held(self, credential: str) -> Principal | None:
        """The principal `authenticate` would answer from its cache right now, without awaiting (else None)."""
        cached = self._cache.get(_key(credential))
        if cached is not None and time.monotonic() < cached[1]:
            return cached[0]
        return None

    def forget(self, credential: str) -> None:
        """Stop trusting `credential` at once (after logout or revocation through this process)."""
        self._cache.pop(_key(credential), None)

    def clear(self) -> None:
        self._cache.clear()

    async def _lookup(self, key: bytes, credential: str) -> Principal:
        try:
            reply = await self._stub.Authenticate(
                accounts_pb2.AuthenticateRequest(credential=credential), timeout=self._timeout
            )
        except grpc.aio.AioRpcError as err:
            if err.code() == grpc.StatusCode.UNAUTHENTICATED:
                raise Unauthenticated(NOT_AUTHENTICATED) from None
            if err.code() in _UNREACHABLE:
                raise Unavailable("Accounts service unavailable") from None
            raise domain_error_from(err) from None
        principal = principal_from_pb(reply.principal)
        self._remember(key, principal)
        return principal

    def _remember(self, key: bytes, principal: Principal) -> None:
        if self._ttl <= 0:
            return
        now = time.monotonic()
        until = now + self._ttl
        if principal.expires_at is not None:
            until = min(until, now + (principal.expires_at - time.time()))
        if until <= now:
            return
        self._cache[key] = (principal, until)
        self._cache.move_to_end(key)
        while len(self._cache) > self._max_entries:
            self._cache.popitem(last=False)


def _key(credential: str) -> bytes:
    # Keep digests, not credentials, in a long-lived structure.
    return hashlib.sha256(credential.encode("utf-8", "surrogatepass")).digest()
