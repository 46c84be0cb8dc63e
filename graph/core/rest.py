"""REST plumbing shared by the domains: FastAPI routers that answer in their seed's error style, behind the
login, with the service clients as dependencies.

    router = domain_router("/api/occupancy", tags=["occupancy"], style=DETAIL)

    @router.get("/cameras/{camera_id}", response_model=CameraOut)
    async def get_camera(caller: Reader, occupancy: Annotated[OccupancyClient, Depends(client(OccupancyClient))],
                         camera_id: PathId) -> CameraOut: ...
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Path
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from footfall.graph.core.client import ServiceClient
from footfall.graph.core.errors import DETAIL, ErrorStyle
from footfall.graph.security.auth import Caller, current_caller, require
from footfall.services.core import errors
from footfall.services.core.principal import FEEDERS, READERS, WRITERS
from pydantic import BaseModel
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

C = TypeVar("C", bound=ServiceClient)
INT64_MAX = 2**63 - 1

#: Who may do what (`footfall.services.core.principal`): read, change, feed frames and crossings in.
Reader = Annotated[Caller, Depends(require(READERS))]
Writer = Annotated[Caller, Depends(require(WRITERS))]
Feeder = Annotated[Caller, Depends(require(FEEDERS))]

INT32_MAX = 2**31 - 1

#: A database id in a path: a positive 64-bit integer (anything else is refused before a service is asked).
PathId = Annotated[int, Path(ge=1, le=INT64_MAX)]


def styled_route(style: ErrorStyle) -> type[APIRoute]:
    """An `APIRoute` whose validation and domain errors answer in `style` (FastAPI's handlers are app-wide)."""

    class StyledRoute(APIRoute):
        error_style = style

        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def styled(request: Request) -> Response:
                try:
                    return await handler(request)
                except RequestValidationError as err:
                    return style.validation_error(err)
                except errors.FootfallError as err:
                    return style.domain_error(err)

            return styled

    StyledRoute.__name__ = f"StyledRoute[{type(style).__name__}]"
    return StyledRoute


def domain_router(prefix: str = "", *, tags: list[str], style: ErrorStyle = DETAIL, **kw: Any) -> APIRouter:
    """A router whose every route needs a login and answers errors in `style`."""
    return APIRouter(
        prefix=prefix,
        tags=list(tags),
        route_class=styled_route(style),
        dependencies=[Depends(current_caller), *kw.pop("dependencies", ())],
        responses={401: {"description": "Not authenticated"}, 403: {"description": "Not allowed"}},
        **kw,
    )


def client(cls: type[C]) -> Callable[[HTTPConnection], Awaitable[C]]:
    """A dependency giving the app's shared client of `cls`."""

    async def dependency(conn: HTTPConnection) -> C:  # async: a plain `def` would run in the thread pool
        return conn.app.state.clients.get(cls)

    dependency.__name__ = f"{cls.__name__}_dependency"
    return dependency


class Detail(BaseModel):
    """The seeds' error body."""

    detail: str


_MEANING = {
    400: "Invalid input",
    401: "Not authenticated",
    403: "Not allowed",
    404: "Not found",
    409: "Already exists",
    413: "Too large",
    422: "Invalid path or query parameter",
    503: "Service not initialized",
}


def error_responses(*codes: int, model: type[BaseModel] = Detail) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error codes (503 always: every route asks a service)."""
    return {code: {"model": model, "description": _MEANING.get(code, "Error")} for code in sorted({*codes, 503})}
