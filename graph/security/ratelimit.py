"""Request rate limits at the gateway's edge, with seed 003's numbers as configurable defaults.

Every request but `/health` spends from its client's budget (`rate_limit_default`, per client IP, and per API
key when it carries one, so a key shared by many boxes or a box behind many addresses is still bounded); the
login routes and seed 003's statistics spend from their own budgets as well. The budgets live in memory for
the embedded default and in Redis when `redis_url` is set, so every gateway replica spends from the same one.
A refusal is 429 with `Retry-After`, in the error shape of the route's seed.

The check runs in a pure ASGI middleware, before routing and authentication: a flood of bad credentials or
login attempts costs one counter increment each. Keys are never verified here; they are counted by their
hash, so neither Redis nor memory holds a usable key.

    limiter = install_rate_limits(app, settings)     # the FastAPI app, from create_app
    refusal = await limiter.charge(conn, "login")    # an extra charge from a GraphQL resolver or websocket
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import json
import logging
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, cast

from footfall.graph.security.auth import API_KEY_HEADER
from footfall.services.core.config import Settings
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter, RateLimiter
from limits.errors import StorageError
from limits.storage import storage_from_string
from starlette.applications import Starlette
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

RuleName = Literal["default", "login", "statistics"]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

EXEMPT_PATHS = frozenset({"/health"})
# Compared without the trailing slash: `POST /api/auth/login` would otherwise be a free redirect-and-retry.
LOGIN_PATHS = frozenset({"/admin/login", "/api/auth/login"})
STATISTICS_PREFIX = "/api/client/statistics/"
# Seed 003's routes answer errors as `{"error": ...}`; every other route as `{"detail": ...}`.
ERROR_KEY_PREFIXES = ("/api/client/", "/api/auth/")
MESSAGE = "Too many requests"
_API_KEY_NAME = API_KEY_HEADER.lower().encode("latin-1")
# A Redis that does not answer within this long lets the request through rather than stalling the gateway.
STORAGE_TIMEOUT_S = 0.5
# Budgets whose storage keys are remembered; emptied when full.
MAX_REMEMBERED_KEYS = 4096


@dataclass(frozen=True)
class Refusal:
    """Why a request was refused and when the budget that refused it has room again."""

    rule: RuleName
    limit: str
    retry_after_s: int


@dataclass(frozen=True)
class Identity:
    kind: Literal["ip", "key"]
    value: str


def parse_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry.strip())


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None


def _trusted(addr: ipaddress.IPv4Address | ipaddress.IPv6Address | None, networks: Sequence[Network]) -> bool:
    return addr is not None and any(addr in net for net in networks)


def _header_values(scope: Scope, name: bytes) -> list[str]:
    return [value.decode("latin-1") for key, value in scope.get("headers", ()) if key == name]


def client_ip(scope: Scope, trusted_proxies: Sequence[Network] = ()) -> str:
    """The address a request came from: the socket peer, or, when the peer is a trusted proxy, the rightmost
    `X-Forwarded-For` hop that is not one (the hops left of it are whatever the client chose to send)."""
    peer = scope.get("client")
    client = peer[0] if peer else "unknown"
    if not trusted_proxies or not _trusted(_ip(client), trusted_proxies):
        return client
    hops = [hop for value in _header_values(scope, b"x-forwarded-for") for hop in value.split(",")]
    for hop in reversed(hops):
        addr = _ip(hop)
        if addr is None:
            break
        client = str(addr)
        if not _trusted(addr, trusted_proxies):
            break
    return client


@functools.lru_cache(maxsize=4096)  # parsing the address was a tenth of a cached live read's cost
def _budget_key(ip: str) -> str:
    """One budget per IPv4 address, and per IPv6 /64 (one host can hold a whole /64)."""
    addr = _ip(ip)
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is None:
        return str(ipaddress.IPv6Network((addr, 64), strict=False))
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return str(addr.ipv4_mapped)
    return ip


def api_key_of(scope: Scope) -> str | None:
    """The API key a request carries (`X-API-Key`, or a Bearer that is not a JWT), unverified."""
    keys: list[bytes] = []
    for name, value in scope.get("headers", ()):  # one pass: this runs on every request
        if name == b"authorization":
            scheme, _, credential = value.decode("latin-1").partition(" ")
            credential = credential.strip()
            if scheme.lower() == "bearer" and credential and credential.count(".") != 2:
                return credential
        elif name == _API_KEY_NAME:
            keys.append(value)
    for value in keys:  # a Bearer key wins over X-API-Key, wherever each header is
        key = value.decode("latin-1").strip()
        if key:
            return key
    return None


def rules_for(method: str, path: str) -> list[RuleName]:
    """The budgets a request spends from, the default first."""
    rules: list[RuleName] = ["default"]
    if method == "POST" and path.rstrip("/") in LOGIN_PATHS:
        rules.append("login")
    if path.startswith(STATISTICS_PREFIX):
        rules.append("statistics")
    return rules


class GatewayRateLimiter:
    """Budgets per rule and identity over one `limits` storage."""

    def __init__(
        self,
        storage: Storage,
        limits: dict[RuleName, str],
        *,
        trusted_proxies: Sequence[Network] = (),
        strategy: Literal["fixed-window", "moving-window"] = "fixed-window",
    ) -> None:
        self.storage = storage
        self.items: dict[RuleName, RateLimitItem] = {name: parse(text) for name, text in limits.items()}
        self.trusted_proxies = tuple(trusted_proxies)
        # Fixed windows start at a budget's first hit and cost one counter (one INCR on Redis) per hit; moving
        # windows never allow a burst across a window edge, at one stored timestamp per request.
        self.strategy: RateLimiter = (
            MovingWindowRateLimiter(storage) if strategy == "moving-window" else FixedWindowRateLimiter(storage)
        )
        self._fixed = type(self.strategy) is FixedWindowRateLimiter
        self._keys: dict[tuple[str, str, str], str] = {}  # (rule, kind, value) -> the storage key of its budget
        self._storage_failed_at = 0.0

    @classmethod
    def from_settings(cls, settings: Settings, *, key_prefix: str = "footfall-rl") -> GatewayRateLimiter:
        storage: Storage
        if settings.redis_url:
            storage = cast(Storage, storage_from_string(
                "async+" + settings.redis_url, implementation="redispy", key_prefix=key_prefix,
                wrap_exceptions=True, socket_timeout=STORAGE_TIMEOUT_S, socket_connect_timeout=STORAGE_TIMEOUT_S,
            ))
        else:
            storage = MemoryStorage(wrap_exceptions=True)
        limits: dict[RuleName, str] = {
            "default": settings.rate_limit_default,
            "login": settings.rate_limit_login,
            "statistics": settings.rate_limit_statistics,
        }
        return cls(storage, limits, trusted_proxies=parse_networks(settings.trusted_proxies))

    def identities(self, scope: Scope) -> list[Identity]:
        """Whom a request is counted against: its address, and the hash of the API key it carries, if any."""
        found = [Identity("ip", _budget_key(client_ip(scope, self.trusted_proxies)))]
        key = api_key_of(scope)
        if key is not None:
            found.append(Identity("key", hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:32]))
        return found

    async def hit(self, scope: Scope, rules: Sequence[RuleName]) -> Refusal | None:
        """Spend one unit of each budget; the first one that is empty refuses (the rest are left untouched).

        Login budgets are per address only: a login carries no key, and a made-up one must not buy attempts.
        """
        identities = self.identities(scope)
        try:
            for rule in rules:
                item = self.items[rule]
                for identity in identities if rule != "login" else identities[:1]:
                    ids = (rule, identity.kind, identity.value)
                    if not await self._spend(item, ids):
                        stats = await self.strategy.get_window_stats(item, *ids)
                        retry = max(1, math.ceil(stats.reset_time - time.time()))
                        return Refusal(rule, str(item), retry)
        except StorageError as err:
            self._storage_unavailable(err)
        return None

    async def _spend(self, item: RateLimitItem, ids: tuple[str, str, str]) -> bool:
        """`self.strategy.hit(item, *ids)`. A fixed window is one counter increment under the item's key for
        `ids`; that key is remembered (building it was a third of the limiter's cost per request)."""
        if not self._fixed:
            return await self.strategy.hit(item, *ids)
        key = self._keys.get(ids)
        if key is None:
            if len(self._keys) >= MAX_REMEMBERED_KEYS:  # identities are the clients': bounded
                self._keys.clear()
            key = self._keys[ids] = item.key_for(*ids)
        return await self.storage.incr(key, item.get_expiry(), amount=1) <= item.amount  # FixedWindowRateLimiter.hit

    async def check(self, scope: Scope) -> Refusal | None:
        """The middleware's check: every budget the request's method and path spend from."""
        if scope["path"] in EXEMPT_PATHS:
            return None
        method = scope.get("method", "GET") if scope["type"] == "http" else "GET"
        return await self.hit(scope, rules_for(method, scope["path"]))

    async def charge(self, conn: HTTPConnection, rule: RuleName = "default") -> Refusal | None:
        """One more unit from `rule`'s budget for work inside a connection the middleware let in: a GraphQL
        login mutation, or each operation on a long-lived GraphQL websocket."""
        return await self.hit(conn.scope, [rule])

    async def close(self) -> None:
        bridge = getattr(self.storage, "bridge", None)
        client = getattr(bridge, "storage", None)
        if client is not None and hasattr(client, "aclose"):
            await client.aclose()

    def _storage_unavailable(self, err: Exception) -> None:
        # Failing open: an unreachable Redis must not turn into an outage of every route; say so once a minute.
        now = time.monotonic()
        if now - self._storage_failed_at > 60:
            self._storage_failed_at = now
            log.warning("rate-limit storage unavailable, requests are not limited: %s", type(err.__cause__ or err).__name__)


_BODIES = {key: json.dumps({key: MESSAGE}).encode() for key in ("error", "detail")}


def refusal_body(path: str) -> bytes:
    return _BODIES["error" if path.startswith(ERROR_KEY_PREFIXES) else "detail"]


class RateLimitMiddleware:
    """Pure ASGI: refuses over-budget HTTP requests and websocket handshakes before anything else runs."""

    def __init__(self, app: ASGIApp, limiter: GatewayRateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        refusal = await self.limiter.check(scope)
        if refusal is None:
            await self.app(scope, receive, send)
        elif scope["type"] == "http":
            await _send_429(send, "http.response", scope["path"], refusal)
        elif "websocket.http.response" in scope.get("extensions", {}):
            await _send_429(send, "websocket.http.response", scope["path"], refusal)
        else:
            await send({"type": "websocket.close", "code": 1013, "reason": MESSAGE})  # 1013: try again later


async def _send_429(send: Send, prefix: str, path: str, refusal: Refusal) -> None:
    body = refusal_body(path)
    start: Message = {
        "type": f"{prefix}.start",
        "status": 429,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(refusal.retry_after_s).encode()),
        ],
    }
    await send(start)
    await send({"type": f"{prefix}.body", "body": body})


def install_rate_limits(app: Starlette, settings: Settings) -> GatewayRateLimiter | None:
    """Put the limits in front of `app` (a Starlette/FastAPI app, before it starts); None when disabled.

    The limiter is also `app.state.rate_limiter`, for `charge` and for closing its Redis connections.
    """
    if not settings.rate_limit_enabled:
        return None
    limiter = GatewayRateLimiter.from_settings(settings)
    app.add_middleware(RateLimitMiddleware, limiter=limiter)
    app.state.rate_limiter = limiter
    return limiter
