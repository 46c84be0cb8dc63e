"""Domain errors -> HTTP: status codes and `{"detail": "..."}` bodies, as the REST seed documents them."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from footfall.graph.clients import ServiceUnavailable
from footfall.services.core import errors

log = logging.getLogger(__name__)

_STATUS: tuple[tuple[type[errors.FootfallError], int], ...] = (
    (errors.NotFound, 404),
    (errors.AlreadyExists, 409),
    (errors.InvalidArgument, 400),
    (errors.PermissionDenied, 403),
    (errors.Unavailable, 503),
)


class RequestValidationError(Exception):
    """A path or query parameter (422) or a request body (400) the gateway could not accept."""

    def __init__(self, detail: str, status_code: int = 422) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status_code = status_code


def error_response(status_code: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status_code)


def status_for(err: errors.FootfallError) -> int:
    for cls, code in _STATUS:
        if isinstance(err, cls):
            return code
    return 500


def domain_error_response(err: errors.FootfallError) -> JSONResponse:
    if isinstance(err, ServiceUnavailable):
        # The seed's wording for a service the gateway cannot use.
        log.warning("%s", err)
        return error_response(503, f"{err.service} service not initialized")
    code = status_for(err)
    if code == 500:
        log.error("unmapped domain error %s: %s", type(err).__name__, err)
    return error_response(code, str(err) or type(err).__name__)


async def http_exception_handler(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 (no such route, wrong method) in the same `{"detail": ...}` shape."""
    assert isinstance(exc, HTTPException)
    if exc.status_code in (204, 304):
        return Response(status_code=exc.status_code, headers=exc.headers)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


async def unhandled_exception_handler(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "Internal Server Error")
