"""Seed 002's dashboard routes: admin statistics, the active-alert count and the camera states; and who is
logged in (`/api/dashboard/me`) for the web app."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import Depends
from footfall.graph.accounts.client import AccountsClient
from footfall.graph.core.errors import DETAIL
from footfall.graph.core.rest import Reader, client, domain_router
from footfall.graph.dashboard.convert import camera_states
from footfall.graph.dashboard.live import hub_of
from footfall.graph.occupancy.client import OccupancyClient
from footfall.graph.security.auth import Caller, require
from footfall.graph.vision.client import VisionClient
from footfall.services.core import errors
from footfall.services.core.principal import ADMINS
from footfall.v1 import vision_pb2
from pydantic import BaseModel, Field
from starlette.requests import Request

log = logging.getLogger(__name__)

Admin = Annotated[Caller, Depends(require(ADMINS))]
Accounts = Annotated[AccountsClient, Depends(client(AccountsClient))]
Occupancy = Annotated[OccupancyClient, Depends(client(OccupancyClient))]
Vision = Annotated[VisionClient, Depends(client(VisionClient))]

# A dashboard shows a screenful; a deployment with more streams pages through GraphQL.
MAX_STREAM_PAGES = 20


class DashboardStatsOut(BaseModel):
    total_users: int
    active_users: int
    total_logs: int
    websocket_clients: int
    server_status: str


class AlertCountOut(BaseModel):
    count: int


class CameraStateOut(BaseModel):
    id: str
    name: str
    status: str
    last_seen: str | None
    location: str


class MeOut(BaseModel):
    username: str
    display_name: str
    org: str = Field(description="The organisation this request acts on (`X-Footfall-Org` for a platform admin)")
    home_org: str = Field(description="The organisation of the credential")
    role: str


router = domain_router(tags=["dashboard"], style=DETAIL)


@router.get("/api/dashboard/me", response_model=MeOut, summary="Who is logged in, and their role")
async def me(caller: Reader) -> dict[str, Any]:
    """The web app shows and hides its pages by this role (every route still checks it)."""
    principal = caller.principal
    return {"username": principal.subject, "display_name": principal.display_name or principal.subject,
            "org": caller.org, "home_org": principal.org, "role": principal.role.value}


@router.get("/admin/dashboard/stats", response_model=DashboardStatsOut)
async def dashboard_stats(request: Request, caller: Admin, accounts: Accounts) -> dict[str, Any]:
    stats = await accounts.dashboard_stats(caller)
    return {
        "total_users": stats.total_users,
        "active_users": stats.active_users,
        "total_logs": stats.total_logs,
        # This gateway replica's dashboard sockets.
        "websocket_clients": hub_of(request.app).count,
        "server_status": "healthy",
    }


@router.get("/alerts/count", response_model=AlertCountOut)
async def alert_count(caller: Reader, occupancy: Occupancy) -> dict[str, int]:
    """Unresolved alerts of the organisation."""
    return {"count": (await occupancy.facility_stats(caller)).active_alerts}


@router.get("/cameras", response_model=list[CameraStateOut])
async def cameras(caller: Reader, occupancy: Occupancy, vision: Vision) -> list[dict[str, Any]]:
    """Every camera with the state of its stream (id is the camera's key, as everywhere in the REST API)."""
    return camera_states(await occupancy.list_cameras(caller, include_inactive=True), await streams(vision, caller))


async def streams(vision: VisionClient, caller: Caller) -> list[vision_pb2.Stream]:
    """The organisation's streams; none when vision cannot answer (cameras are still configured)."""
    found: list[vision_pb2.Stream] = []
    token = ""
    try:
        for _ in range(MAX_STREAM_PAGES):
            reply = await vision.list_streams(caller, page_size=100, page_token=token)
            found.extend(reply.streams)
            token = reply.next_page_token
            if not token:
                break
    except (errors.Unauthenticated, errors.PermissionDenied):
        raise
    except errors.FootfallError as err:  # not running here (UNAVAILABLE, or UNIMPLEMENTED on this server)
        log.warning("camera states without streams: %s", type(err).__name__)
    return found
