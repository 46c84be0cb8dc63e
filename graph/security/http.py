"""HTTP hardening of the gateway: body limits, JSON-only bodies, clean text, security headers, origins.

:func:`install_http_hardening` puts two pure ASGI middlewares (they never buffer a response, so MJPEG,
streamed exports and websockets pass untouched) around the app, with Starlette's CORS and Host
middlewares between them when configured::

    ResponseGuard -> [TrustedHost] -> [CORS] -> RequestGuard -> app

* **ResponseGuard** (outermost) adds the security headers to every response (CSP with
  ``frame-ancestors 'none'``, nosniff, Referrer-Policy, X-Frame-Options; a header the route set itself wins)
  and turns an unhandled exception into ``500 {"detail": "Internal Server Error"}``: the exception is
  logged, never quoted, and is not re-raised, so the server keeps the keep-alive connection.
* **RequestGuard** refuses, before the app sees the request:
  - a body over ``max_body_bytes`` (413): at once from ``Content-Length``, else while it is read;
  - a body on POST/PUT/PATCH whose content type is not JSON (415), unless the route declares other media:
    a FastAPI ``Form``/``File`` body (multipart/form-data, x-www-form-urlencoded) or
    ``openapi_extra={"requestBody": {"content": {MEDIA: ...}}}``, whose media types are then the only ones
    accepted. So a cross-site ``text/plain`` form post (no CORS preflight) reaches no JSON route (CSRF);
  - NUL characters and unpaired surrogates in the path, the query or any JSON string (400), which
    PostgreSQL cannot store and would otherwise surface as a 500;
  - a websocket whose ``Origin`` is neither this host nor an allowed origin (closed with 1008, which the
    server answers with 403 before the handshake). Clients without an ``Origin`` are not browsers and
    are left to authentication.
* **CORS** only when ``allowed_origins`` is set; **Host** allow-list only when ``allowed_hosts`` is set.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket

log = logging.getLogger(__name__)

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
FORM_MEDIA = frozenset({"multipart/form-data", "application/x-www-form-urlencoded"})
TOO_LARGE = "Request body too large: the limit is {limit} bytes"
NOT_JSON = "Unsupported media type: send the body as application/json"
NOT_DECLARED = "Unsupported media type: this route accepts {media}"
BAD_TEXT = "Text must not contain NUL characters or unpaired surrogates"
BAD_UTF8 = "Request text must be valid UTF-8"
# Distinct (path, method) pairs whose declared body media are remembered; the set is emptied when full.
MAX_REMEMBERED_TARGETS = 1024
_UNKNOWN = object()
STATIC = Path(__file__).resolve().parents[1] / "static"
_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL | re.IGNORECASE)


# --------------------------------------------------------------------------------------------------
# Installing


def install_http_hardening(app: Any, settings: Any) -> None:
    """Wrap ``app`` (FastAPI/Starlette, before it starts) in the middlewares of the module docstring."""
    app.add_middleware(RequestGuard, settings=settings, routes=lambda: app.routes)
    origins = [o.rstrip("/") for o in settings.allowed_origins]
    if origins:
        app.add_middleware(
            CORSMiddleware, allow_origins=origins, allow_credentials="*" not in origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "X-API-Key", "X-Footfall-Org", "X-CSRF-Token"],
            max_age=600,
        )
    if settings.allowed_hosts:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(settings.allowed_hosts), www_redirect=False)
    app.add_middleware(ResponseGuard, headers=security_headers())


def content_security_policy(static: Path = STATIC) -> str:
    """Same-origin everything; the inline scripts of our own pages (the dashboard) by their hashes.

    GraphiQL and Swagger UI are served from the package with external init scripts, so no
    ``'unsafe-inline'`` scripts are needed; styles allow inline (both UIs inject style elements).
    """
    hashes = sorted({f"'sha256-{base64.b64encode(hashlib.sha256(m).digest()).decode()}'"
                     for page in sorted(static.glob("**/*.html")) for m in _INLINE_SCRIPT.findall(page.read_bytes())})
    return "; ".join([
        "default-src 'self'",
        " ".join(["script-src 'self'", *hashes]),
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def security_headers(csp: str | None = None) -> list[tuple[bytes, bytes]]:
    return [
        (b"content-security-policy", (csp or content_security_policy()).encode("latin-1")),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"x-frame-options", b"DENY"),
        (b"cross-origin-opener-policy", b"same-origin"),
    ]


# --------------------------------------------------------------------------------------------------
# Origins


def origin_allowed(headers: Headers, settings: Any) -> bool:
    """No Origin (not a browser), the same origin as the Host header, or one of ``allowed_origins``."""
    origin = headers.get("origin")
    if origin is None:
        return True
    origin = origin.strip().rstrip("/").lower()
    allowed = {o.strip().rstrip("/").lower() for o in settings.allowed_origins}
    if "*" in allowed or origin in allowed:
        return True
    parts = urlsplit(origin)
    host = headers.get("host", "").strip().lower()
    return parts.scheme in ("http", "https") and bool(host) and parts.netloc == host


async def check_websocket_origin(websocket: WebSocket, settings: Any) -> bool:
    """True when the origin may open this websocket; else the socket is closed (1008, HTTP 403)."""
    if origin_allowed(websocket.headers, settings):
        return True
    await websocket.close(code=1008)
    return False


# --------------------------------------------------------------------------------------------------
# Text checks


def _clean(text: str) -> bool:
    if text.isascii():
        return "\x00" not in text
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # an unpaired surrogate
        return False
    return True


def target_problem(scope: Scope) -> str | None:
    """Why the path or query string cannot be served, or None."""
    if not _clean(scope.get("path", "")):
        return BAD_TEXT
    query: bytes = scope.get("query_string", b"")
    if query and (b"%" in query or b"\x00" in query or not query.isascii()):
        raw = unquote_to_bytes(query.replace(b"+", b" "))
        if b"\x00" in raw:
            return BAD_TEXT
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            return BAD_UTF8
    return None


def json_problem(body: bytes) -> str | None:
    """Why a JSON body's text cannot be accepted, or None (malformed JSON is left to the route)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return BAD_UTF8
    if "\x00" in text:
        return BAD_TEXT
    if "\\u" not in text:  # every NUL or surrogate in valid UTF-8 JSON text comes from a \u escape
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not _clean(item):
                return BAD_TEXT
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


# --------------------------------------------------------------------------------------------------
# Middlewares


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a streamed body passes the limit (FastAPI re-raises HTTPExceptions)."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=TOO_LARGE.format(limit=limit))


async def send_json(send: Send, status: int, detail: str, headers: Sequence[tuple[bytes, bytes]] = ()) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *headers,
    ]})
    await send({"type": "http.response.body", "body": body})


def media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def is_json(media: str) -> bool:
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def declared_media(route: Any) -> frozenset[str] | None:
    """The non-JSON media a route declares for its body, or None (a JSON route)."""
    extra = getattr(route, "openapi_extra", None) or {}
    content = (extra.get("requestBody") or {}).get("content") if isinstance(extra, dict) else None
    if content:
        return frozenset(media_type(m) for m in content)
    field = getattr(route, "body_field", None)
    if field is not None:
        from fastapi import params

        if isinstance(getattr(field, "field_info", None), params.Form):  # File is a Form
            return FORM_MEDIA
    return None


def _flatten(routes: Iterable[Any]) -> Iterable[Any]:
    """Every route, including those of routers FastAPI keeps as one lazily included entry (0.16x)."""
    for route in routes:
        candidates = getattr(route, "effective_candidates", None)
        if callable(candidates):
            yield from _flatten(candidates())
        else:
            yield route


class RequestGuard:
    """Body size, content type, text and websocket-origin checks (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, settings: Any, routes: Callable[[], Iterable[Any]] = tuple) -> None:
        self.app = app
        self.settings = settings
        self.limit = int(settings.max_body_bytes)
        self._routes = routes
        self._declared: list[tuple[Any, frozenset[str]]] | None = None
        self._media_by_target: dict[tuple[str, str], frozenset[str] | None] = {}

    def _media_for(self, scope: Scope) -> frozenset[str] | None:
        if self._declared is None:  # routes are all added before the first request
            self._declared = [(r, m) for r in _flatten(self._routes()) if (m := declared_media(r)) is not None]
        path, method = scope.get("path", ""), scope.get("method", "")
        known = self._media_by_target.get((path, method), _UNKNOWN)
        if known is not _UNKNOWN:  # a repeated target (every GraphQL POST) skips the routes' regexes
            return known  # type: ignore[return-value]
        found = None
        for route, media in self._declared:
            regex, methods = getattr(route, "path_regex", None), getattr(route, "methods", None)
            if regex is not None and regex.match(path) and (not methods or method in methods):
                found = media
                break
        if len(self._media_by_target) >= MAX_REMEMBERED_TARGETS:  # paths are the client's: bounded
            self._media_by_target.clear()
        self._media_by_target[(path, method)] = found
        return found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            if not origin_allowed(Headers(scope=scope), self.settings):
                await receive()  # websocket.connect
                await send({"type": "websocket.close", "code": 1008, "reason": "origin not allowed"})
                return
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = target_problem(scope)
        if problem:
            await send_json(send, 400, problem)
            return
        length_text, content_type, chunked = _body_headers(scope)
        length = _content_length(length_text)
        if length is not None and length > self.limit:
            await send_json(send, 413, TOO_LARGE.format(limit=self.limit))
            return
        has_body = bool(length) or chunked
        if not has_body:
            await self.app(scope, receive, send)
            return
        if scope["method"] in BODY_METHODS:
            media = media_type(content_type)
            declared = self._media_for(scope)
            if declared is None:
                if not is_json(media):
                    await send_json(send, 415, NOT_JSON)
                    return
                body = await self._read_body(receive, send)
                if body is None:
                    return
                problem = json_problem(body)
                if problem:
                    await send_json(send, 400, problem)
                    return
                # Read whole and within the limit: nothing left to count, no 413 left to answer.
                await self.app(scope, replay(body, receive), send)
                return
            elif media not in declared:
                await send_json(send, 415, NOT_DECLARED.format(media=", ".join(sorted(declared))))
                return
        await self._serve(scope, _counting(receive, self.limit), send)

    async def _read_body(self, receive: Receive, send: Send) -> bytes | None:
        """The whole body (JSON routes read it all anyway), or None once answered (413) or disconnected."""
        chunks: list[bytes] = []
        total = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return None
            chunk = message.get("body", b"")
            total += len(chunk)
            if total > self.limit:
                await send_json(send, 413, TOO_LARGE.format(limit=self.limit))
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except BodyTooLarge as err:
            if started:
                raise
            await send_json(send, 413, str(err.detail))


class ResponseGuard:
    """Security headers on every response; an unhandled error becomes a bare 500 and the connection lives."""

    def __init__(self, app: ASGIApp, *, headers: Sequence[tuple[bytes, bytes]]) -> None:
        self.app = app
        self.headers = list(headers)
        self.names = frozenset(name for name, _ in self.headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                raw = list(message.get("headers", ()))
                present = {name.lower() for name, _ in raw}
                if present.isdisjoint(self.names):  # the usual case: all of them, in one go
                    raw += self.headers
                else:
                    raw.extend(h for h in self.headers if h[0] not in present)
                message["headers"] = raw
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            log.exception("unhandled error serving %s %r", scope.get("method"), scope.get("path"))
            if not started:  # after a started response the server can only cut the connection
                await send_json(send_with_headers, 500, "Internal Server Error")


def _body_headers(scope: Scope) -> tuple[str | None, str, bool]:
    """The first `Content-Length` and `Content-Type` values and whether `Transfer-Encoding` is present: what
    `Headers(scope=scope)` would answer, in one pass and without building it on every request."""
    length: bytes | None = None
    content_type: bytes | None = None
    chunked = False
    for name, value in scope["headers"]:
        if name == b"content-length":
            if length is None:
                length = value
        elif name == b"content-type":
            if content_type is None:
                content_type = value
        elif name == b"transfer-encoding":
            chunked = True
    return (
        length.decode("latin-1") if length is not None else None,
        content_type.decode("latin-1") if content_type is not None else "",
        chunked,
    )


def _content_length(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return max(0, int(value))
    except ValueError:
        return None


def replay(body: bytes, receive: Receive) -> Receive:
    """`receive` with `body`, already read, given back first."""
    replayed = False

    async def replaying() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # later calls wait for the disconnect, as the app expects

    return replaying


def _counting(receive: Receive, limit: int) -> Receive:
    total = 0

    async def counted() -> Message:
        nonlocal total
        message = await receive()
        if message["type"] == "http.request":
            total += len(message.get("body", b""))
            if total > limit:
                raise BodyTooLarge(limit)
        return message

    return counted
