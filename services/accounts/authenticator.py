"""Credential -> Principal, for every interface of every process (gRPC interceptor, gateway).

An access token is verified by signature and then checked against the revocation list and its user's
state; an API key is looked up by its hash. Answers are cached for `cache_s` (default 2 s) so a busy
client costs no database round trip per call; the process that revokes a credential forgets it at once,
other processes within `cache_s`.

A credential in use is checked again in the background during the last quarter of its cached life
(refresh-ahead), so a busy client never finds its entry expired and all its concurrent requests waiting on
one database check. The bound on revocation is unchanged: an entry is renewed only by a check that ran
after it was cached, and a check that refuses the credential drops it.
"""

from __future__ import annotations

import asyncio
import logging
import time

from footfall.services.accounts import store
from footfall.services.accounts.service import API_KEY_PREFIX, hash_api_key
from footfall.services.core.db import Database
from footfall.services.core.errors import Unauthenticated
from footfall.services.core.principal import Principal
from footfall.services.core.tokens import NOT_AUTHENTICATED, TokenSigner, looks_like_jwt

_MAX_CREDENTIAL = 4096
_MAX_CACHE = 10_000
_REFRESH_AHEAD = 0.25  # the last quarter of an entry's life

log = logging.getLogger(__name__)


class Authenticator:
    def __init__(self, db: Database, signer: TokenSigner, *, cache_s: float = 2.0, key_touch_s: float = 60.0) -> None:
        self.db = db
        self.signer = signer
        self.cache_s = cache_s
        self.key_touch_s = key_touch_s
        self._cache: dict[str, tuple[Principal, float]] = {}
        self._refreshing: dict[str, asyncio.Task[None]] = {}

    async def authenticate(self, credential: str | None) -> Principal:
        """The principal `credential` stands for; Unauthenticated("Not authenticated") otherwise."""
        credential = (credential or "").strip()
        if not credential or len(credential) > _MAX_CREDENTIAL:
            raise Unauthenticated(NOT_AUTHENTICATED)
        now = time.monotonic()
        cached = self._cache.get(credential)
        if cached is not None:
            if _trusted(cached, now):
                self._refresh_ahead(credential, cached[1], now)
                return cached[0]
            del self._cache[credential]
        principal = await self._check(credential)
        self._remember(credential, principal, now)
        return principal

    def held(self, credential: str | None) -> Principal | None:
        """What `authenticate` would answer from its cache right now, without awaiting; else None.

        `SharedVerification` asks this first, so that a trusted credential costs it no shared future.
        """
        credential = (credential or "").strip()
        cached = self._cache.get(credential)
        now = time.monotonic()
        if cached is None or not _trusted(cached, now):
            return None
        self._refresh_ahead(credential, cached[1], now)
        return cached[0]

    def forget(self, credential: str | None = None) -> None:
        """Drop one credential (None: every one) from the cache, after a logout or key revocation."""
        if credential is None:
            self._cache.clear()
        else:
            self._cache.pop(credential.strip(), None)

    async def _check(self, credential: str) -> Principal:
        if credential.startswith(API_KEY_PREFIX):
            return await self._api_key(credential)
        if looks_like_jwt(credential):
            return await self._token(credential)
        raise Unauthenticated(NOT_AUTHENTICATED)

    def _remember(self, credential: str, principal: Principal, checked_at: float) -> None:
        if self.cache_s <= 0:
            return
        if len(self._cache) >= _MAX_CACHE:
            self._cache.clear()
        self._cache[credential] = (principal, checked_at + self.cache_s)

    def _refresh_ahead(self, credential: str, until: float, now: float) -> None:
        """Check a cached credential again in the background once it enters the last part of its life."""
        if until - now > self.cache_s * _REFRESH_AHEAD or credential in self._refreshing:
            return
        try:
            task = asyncio.get_running_loop().create_task(self._refresh(credential))
        except RuntimeError:  # no running loop: the next authenticate after expiry checks it
            return
        self._refreshing[credential] = task

    async def _refresh(self, credential: str) -> None:
        checked_at = time.monotonic()
        try:
            principal = await self._check(credential)
        except Unauthenticated:
            self._cache.pop(credential, None)
        except Exception:  # the database is away: the entry simply expires and the next request checks it
            log.warning("background credential check failed; the cached entry will expire", exc_info=True)
        else:
            if credential in self._cache:  # not forgotten (logout, revocation) meanwhile
                self._remember(credential, principal, checked_at)
        finally:
            self._refreshing.pop(credential, None)

    async def _token(self, token: str) -> Principal:
        principal = self.signer.verify(token)
        if principal.kind == "service":
            return principal
        async with self.db.system() as conn:
            revoked = principal.token_id is not None and await store.token_revoked_system(conn, principal.token_id)
            active = await store.user_state_system(conn, principal.subject) if principal.kind == "user" else True
        if revoked or not active:
            raise Unauthenticated(NOT_AUTHENTICATED)
        return principal

    async def _api_key(self, key: str) -> Principal:
        async with self.db.system() as conn:
            record = await store.find_api_key_system(conn, hash_api_key(key))
            if record is None or record.revoked_at is not None:
                raise Unauthenticated(NOT_AUTHENTICATED)
            await store.touch_api_key_system(conn, record.id, self.key_touch_s)
        return Principal(subject=record.id, org=record.org, role=record.role, kind="api_key",
                         display_name=record.name or record.id)


def _trusted(cached: tuple[Principal, float], now: float) -> bool:
    """Whether a cached answer still stands: within the cache's time and the credential's own expiry."""
    principal, until = cached
    return now < until and (principal.expires_at is None or principal.expires_at > time.time())
