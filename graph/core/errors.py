"""Domain errors -> HTTP, in each seed's own error style.

Every REST router answers in the style of the seed it reproduces:

* `DETAIL` (seeds 000, 001, 002): `{"detail": "..."}`; an invalid body is 400, an invalid path or query
  parameter 422 (seed 001 documents 400 for bad input; its path and query checks kept the 422 clients saw);
* `FIELD_LIST` (seed 004): `{"detail": "..."}`, and 422 `{"detail": [{"field": ..., "message": ...}]}`;
* `ERROR_KEY` (seed 003): `{"error": "..."}`, and 400 `{"error": "Invalid data provided", "details": {...}}`.

Messages come from the domain (`str(err)` is safe to show) or name the offending field; an input value is
never echoed (it may hold NUL bytes or lone surrogates) and an unexpected exception is never quoted.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi.exceptions import RequestValidationError
from footfall.graph.core.client import ServiceUnavailable
from footfall.services.core import errors
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

log = logging.getLogger(__name__)

_STATUS: tuple[tuple[type[errors.FootfallError], int], ...] = (
    (errors.NotFound, 404),
    (errors.AlreadyExists, 409),
    (errors.InvalidArgument, 400),
    (errors.Unauthenticated, 401),
    (errors.PermissionDenied, 403),
    (errors.TooLarge, 413),
    (errors.Unavailable, 503),
)
NOT_AUTHENTICATED = "Not authenticated"
INTERNAL = "Internal Server Error"


def status_for(err: errors.FootfallError) -> int:
    for cls, code in _STATUS:
        if isinstance(err, cls):
            return code
    return 500


@dataclass(frozen=True)
class FieldError:
    """One invalid input: where (`body`, `path`, `query`, `header`), its dotted name, and what is wrong."""

    where: str
    field: str
    message: str


def field_errors(err: RequestValidationError) -> list[FieldError]:
    out = []
    for e in err.errors():
        loc = [str(x) for x in e.get("loc", ())]
        where = loc[0] if loc else "body"
        if e.get("type") == "json_invalid":
            out.append(FieldError("body", "body", f"Invalid JSON body: {e.get('ctx', {}).get('error', 'not JSON')}"))
            continue
        name = ".".join(loc[1:]) or where
        out.append(FieldError(where, name, str(e.get("msg", "invalid"))))
    return out


class ErrorStyle:
    """How a router writes its errors; subclasses are the seeds' shapes."""

    #: Status of an invalid body, and of an invalid path/query/header parameter.
    body_status = 400
    param_status = 422

    def message(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
        return JSONResponse({"detail": message}, status_code=status, headers=headers)

    def invalid(self, problems: Sequence[FieldError]) -> Response:
        status = self.body_status if any(p.where == "body" for p in problems) else self.param_status
        return self.message(status, "; ".join(_describe(p) for p in problems) or "Invalid request")

    def validation_error(self, err: RequestValidationError) -> Response:
        return self.invalid(field_errors(err))

    def domain_error(self, err: errors.FootfallError) -> Response:
        if isinstance(err, ServiceUnavailable):
            # The seeds' wording for a service the gateway cannot use.
            log.warning("%s", err)
            return self.message(503, f"{err.service} service not initialized")
        code = status_for(err)
        if code == 500:
            log.error("unmapped domain error %s: %s", type(err).__name__, err)
            return self.message(500, INTERNAL)
        headers = {"WWW-Authenticate": "Bearer"} if code == 401 else None
        return self.message(code, str(err) or type(err).__name__, headers)


def _describe(p: FieldError) -> str:
    if p.where == "body":
        if p.message.startswith("Invalid JSON body"):
            return p.message
        return f"Invalid request body: {p.field}: {p.message}"
    return f"Invalid {p.where} parameter '{p.field}': {p.message}"


class DetailStyle(ErrorStyle):
    """Seeds 000/001/002: `{"detail": "..."}`."""

    def __init__(self, body_status: int = 400, param_status: int = 422) -> None:
        self.body_status = body_status
        self.param_status = param_status


class FieldListStyle(ErrorStyle):
    """Seed 004: invalid input is 422 `{"detail": [{"field": ..., "message": ...}]}`."""

    body_status = param_status = 422

    def invalid(self, problems: Sequence[FieldError]) -> Response:
        detail = [{"field": p.field, "message": p.message} for p in problems]
        return JSONResponse({"detail": detail}, status_code=422)


class ErrorKeyStyle(ErrorStyle):
    """Seed 003: `{"error": "..."}`; invalid input is 400 with the problems by field."""

    body_status = param_status = 400

    def message(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
        return JSONResponse({"error": message}, status_code=status, headers=headers)

    def invalid(self, problems: Sequence[FieldError]) -> Response:
        details: dict[str, list[str]] = {}
        for p in problems:
            details.setdefault(p.field, []).append(p.message)
        return JSONResponse({"error": "Invalid data provided", "details": details}, status_code=400)


DETAIL = DetailStyle()
FIELD_LIST = FieldListStyle()
ERROR_KEY = ErrorKeyStyle()


# App-wide fallbacks (no router matched, or something outside a router failed): the `{"detail": ...}` shape.


async def http_exception_handler(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 (no such route, wrong method) in the `{"detail": ...}` shape."""
    assert isinstance(exc, HTTPException)
    if exc.status_code in (204, 304):
        return Response(status_code=exc.status_code, headers=exc.headers)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


async def domain_exception_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.FootfallError)
    return DETAIL.domain_error(exc)


async def validation_exception_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return DETAIL.validation_error(exc)


async def unhandled_exception_handler(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"detail": INTERNAL}, status_code=500)


EXCEPTION_HANDLERS: dict[Any, Any] = {
    HTTPException: http_exception_handler,
    RequestValidationError: validation_exception_handler,
    errors.FootfallError: domain_exception_handler,
    Exception: unhandled_exception_handler,
}


def invalid_parameter(name: str, message: str, where: str = "query") -> RequestValidationError:
    """A parameter FastAPI accepted by type but the domain cannot (answered like FastAPI's own checks)."""
    return RequestValidationError([{"type": "value_error", "loc": (where, name), "msg": message, "input": None}])
