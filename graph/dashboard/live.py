"""`WS /ws/dashboard` (seed 002): live `{type, data, timestamp}` messages for logs, alerts and occupancy.

A browser page opens it with the session cookie or `?token=`; other clients may instead send
`{"type": "auth", "token": "..."}` first. The handshake is refused (403) when a browser's Origin is not ours
or allowed, so another site cannot ride a visitor's cookie. The caller is checked again every few seconds,
so a socket stops when its token is revoked or expires.

Messages: `connected` (who and which org), `log` (an audit entry; admins only), `occupancy` (a camera's
live count), `alert` (a new alert), `error` (a service could not be asked), `pong` (to `ping`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from footfall.graph.accounts.client import AccountsClient
from footfall.graph.accounts.convert import log_entry
from footfall.graph.dashboard.convert import alert_data, message, occupancy_data
from footfall.graph.occupancy.client import OccupancyClient
from footfall.graph.security.auth import (
    Caller,
    authenticate_credential,
    check_csrf,
    client_ip,
    credential_of,
    origin_allowed,
)
from footfall.services.core import errors
from footfall.services.core.principal import ADMINS, READERS
from footfall.services.core.tenancy import ORG_HTTP_HEADER
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

log = logging.getLogger(__name__)

#: Close codes: 4401 not authenticated, 4403 not allowed (as graphql-ws does).
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
AUTH_WAIT_S = 10.0
# How often new audit entries are looked for, and the caller's credential checked again.
POLL_S = 2.0
# How often the camera list is refreshed to watch cameras added since the socket opened.
CAMERA_REFRESH_S = 30.0
MAX_WATCHED_CAMERAS = 100
INITIAL_LOGS = 20
# Messages waiting for a slow client; beyond this, new ones are dropped rather than held in memory.
MAX_PENDING = 512


class DashboardHub:
    """This replica's dashboard sockets (seed 002's `websocket_clients`)."""

    def __init__(self) -> None:
        self.count = 0


def hub_of(app: Starlette) -> DashboardHub:
    hub = getattr(app.state, "dashboard_hub", None)
    if hub is None:
        hub = app.state.dashboard_hub = DashboardHub()
    return hub  # type: ignore[no-any-return]


class _Refused(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


async def dashboard_socket(ws: WebSocket) -> None:
    if ws.headers.get("origin") is not None and not origin_allowed(ws, ws.headers["origin"]):
        await ws.close(code=1008)  # before accept: the handshake is answered 403
        return
    await ws.accept()
    try:
        caller = await _authenticate(ws)
    except _Refused as refused:
        await _send_then_close(ws, refused)
        return
    except WebSocketDisconnect:
        return
    hub = hub_of(ws.app)
    hub.count += 1
    try:
        await _DashboardSession(ws, caller).run()
    finally:
        hub.count -= 1


async def _authenticate(ws: WebSocket) -> Caller:
    """`?token=`, else the handshake's Authorization / X-API-Key / session cookie, else a first `auth` message."""
    credential, via_cookie = ws.query_params.get("token"), False
    if not credential:
        credential, via_cookie = credential_of(ws)
    if not credential:
        credential = await _first_message_token(ws)
    org = ws.query_params.get("org") or ws.headers.get(ORG_HTTP_HEADER)
    try:
        caller = await authenticate_credential(
            ws.app.state.authenticator,
            credential,
            org.strip() if org else None,
            via_cookie=via_cookie,
            ip=client_ip(ws),
        )
        if via_cookie:
            check_csrf(ws)
        caller.principal.require(READERS)
    except errors.Unauthenticated:
        raise _Refused(CLOSE_UNAUTHENTICATED, "Not authenticated") from None
    except (errors.PermissionDenied, errors.InvalidArgument) as err:
        raise _Refused(CLOSE_FORBIDDEN, str(err) or "Not allowed") from None
    except errors.FootfallError:
        raise _Refused(1013, "Service unavailable") from None
    return caller


async def _first_message_token(ws: WebSocket) -> str | None:
    try:
        text = await asyncio.wait_for(ws.receive_text(), AUTH_WAIT_S)
    except (TimeoutError, KeyError):  # KeyError: a binary frame
        return None
    try:
        payload = json.loads(text)
    except ValueError:
        return None
    if isinstance(payload, dict) and payload.get("type") == "auth" and isinstance(payload.get("token"), str):
        token: str = payload["token"]
        return token.removeprefix("Bearer ").strip() or None
    return None


async def _send_then_close(ws: WebSocket, refused: _Refused) -> None:
    with contextlib.suppress(Exception):
        await ws.send_json(message("error", {"message": refused.reason}))
        await ws.close(code=refused.code, reason=refused.reason)


class _DashboardSession:
    """One authenticated socket: producers put messages on a queue, one sender writes them in order."""

    def __init__(self, ws: WebSocket, caller: Caller) -> None:
        self.ws = ws
        self.caller = caller
        clients = ws.app.state.clients
        self.accounts: AccountsClient = clients.get(AccountsClient)
        self.occupancy: OccupancyClient = clients.get(OccupancyClient)
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(MAX_PENDING)
        self.watched: dict[int, asyncio.Task[None]] = {}

    def put(self, kind: str, data: Any) -> None:
        try:
            self.queue.put_nowait(message(kind, data))
        except asyncio.QueueFull:
            log.debug("dashboard client too slow: dropped a %s message", kind)

    async def run(self) -> None:
        principal = self.caller.principal
        self.put("connected", {"subject": principal.subject, "role": principal.role.value, "org": self.caller.org})
        jobs: list[Callable[[], Awaitable[Any]]] = [self._receive, self._send, self._recheck, self._cameras]
        if principal.role in ADMINS:
            jobs.append(self._logs)
        tasks = [asyncio.create_task(job()) for job in jobs]
        refused: _Refused | None = None
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                failure = None if task.cancelled() else task.exception()
                if isinstance(failure, _Refused):
                    refused = failure
                elif failure is not None and not isinstance(failure, WebSocketDisconnect):
                    log.error("dashboard socket failed", exc_info=failure)
        finally:
            for task in [*tasks, *self.watched.values()]:
                task.cancel()
            await asyncio.gather(*tasks, *self.watched.values(), return_exceptions=True)
        if refused is not None:
            await _send_then_close(self.ws, refused)

    async def _receive(self) -> None:
        while True:
            data = await self.ws.receive()
            if data["type"] == "websocket.disconnect":
                return
            if _is_ping(data.get("text") or ""):
                self.put("pong", None)

    async def _send(self) -> None:
        while True:
            await self.ws.send_json(await self.queue.get())

    async def _recheck(self) -> None:
        """End the socket once its credential is revoked, expires or its user is disabled."""
        verifier = self.ws.app.state.authenticator
        while True:
            await asyncio.sleep(POLL_S)
            try:
                await verifier.authenticate(self.caller.credential)
            except errors.Unauthenticated:
                raise _Refused(CLOSE_UNAUTHENTICATED, "Not authenticated") from None
            except errors.FootfallError:
                continue  # the accounts service is briefly away: keep the socket, ask again

    async def _logs(self) -> None:
        last_id = 0
        limit = INITIAL_LOGS
        while True:
            try:
                entries = (await self.accounts.audit_log(self.caller, limit=limit)).entries
            except errors.Unauthenticated:
                raise _Refused(CLOSE_UNAUTHENTICATED, "Not authenticated") from None
            except errors.FootfallError as err:
                self.put("error", {"source": "logs", "message": _safe(err)})
                entries = []
            for entry in reversed([e for e in entries if e.id > last_id]):
                self.put("log", log_entry(entry))
                last_id = max(last_id, entry.id)
            limit = 100
            await asyncio.sleep(POLL_S)

    async def _cameras(self) -> None:
        while True:
            try:
                cameras = await self.occupancy.list_cameras(self.caller)
            except errors.Unauthenticated:
                raise _Refused(CLOSE_UNAUTHENTICATED, "Not authenticated") from None
            except errors.FootfallError as err:
                self.put("error", {"source": "occupancy", "message": _safe(err)})
                cameras = []
            for camera in cameras[:MAX_WATCHED_CAMERAS]:
                task = self.watched.get(camera.id)
                if task is None or task.done():
                    self.watched[camera.id] = asyncio.create_task(self._watch(camera.id, camera.camera_id))
            await asyncio.sleep(CAMERA_REFRESH_S)

    async def _watch(self, camera_id: int, key: str) -> None:
        try:
            async for update in self.occupancy.watch_occupancy(self.caller, camera_id):
                if update.HasField("occupancy"):
                    self.put("occupancy", occupancy_data(update.occupancy, key))
                elif update.HasField("alert"):
                    self.put("alert", alert_data(update.alert, key))
        except errors.FootfallError as err:
            self.put("error", {"source": "occupancy", "camera_id": key, "message": _safe(err)})


def _is_ping(text: str) -> bool:
    if text.strip() == "ping":
        return True
    try:
        payload = json.loads(text)
    except ValueError:
        return False
    return isinstance(payload, dict) and payload.get("type") == "ping"


def _safe(err: errors.FootfallError) -> str:
    return "service unavailable" if isinstance(err, errors.Unavailable) else str(err) or "error"


ROUTES = (WebSocketRoute("/ws/dashboard", dashboard_socket, name="ws_dashboard"),)
