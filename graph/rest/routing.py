"""Typed REST route declarations: one declaration gives the Starlette route and its OpenAPI operation.

A handler is an `async def` whose signature says what it takes:

* `call: RestCall` - the request, the caller's organisation and the service clients;
* parameters named in the path (`{camera_id}`) - parsed from the path (an int that isn't one -> 422);
* `Annotated[int, Query(24, ge=1)]` - query parameters with defaults and bounds (-> 422);
* one `pydantic.BaseModel` - the JSON body (invalid -> 400, as the seeds document for bad input);

and returns the declared response model (or a list of them), serialised with the declared status code.
Domain errors raised by the clients become `{"detail": ...}` responses (see `footfall.graph.rest.errors`).
"""

from __future__ import annotations

import inspect
import json
import re
import typing
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, get_args, get_origin

from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from footfall.graph.clients import Clients
from footfall.graph.rest.errors import RequestValidationError, domain_error_response, error_response
from footfall.services.core import errors
from footfall.services.core.config import Settings
from footfall.services.core.tenancy import ORG_HTTP_HEADER, validate_org

_INT_RE = re.compile(r"^[+-]?\d{1,19}$")
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_REQUIRED = object()


@dataclass(frozen=True)
class Query:
    """A query parameter: its default (required when omitted), bounds and description."""

    default: Any = _REQUIRED
    ge: int | None = None
    le: int | None = None
    description: str = ""


@dataclass(frozen=True)
class Path:
    """A path parameter's bounds and description (path parameters are always required)."""

    ge: int | None = None
    description: str = ""


@dataclass(frozen=True)
class Param:
    name: str
    location: str  # "path" | "query"
    type: type  # int | str
    required: bool
    default: Any
    ge: int | None
    le: int | None
    description: str


@dataclass
class RestCall:
    """What a handler gets besides its parameters."""

    request: Request
    org: str
    clients: Clients
    settings: Settings


Handler = Callable[..., Awaitable[Any]]


@dataclass
class Endpoint:
    method: str
    path: str
    handler: Handler
    response: Any
    status_code: int
    summary: str
    description: str
    tags: tuple[str, ...]
    errors: tuple[int, ...]
    params: tuple[Param, ...] = ()
    body_param: str | None = None
    body_model: type[BaseModel] | None = None
    _adapter: TypeAdapter[Any] | None = field(default=None, repr=False)

    @property
    def operation_id(self) -> str:
        return self.handler.__name__

    def dump(self, value: Any) -> bytes:
        if self._adapter is None:
            self._adapter = TypeAdapter(self.response)
        return self._adapter.dump_json(value)


class RestRouter:
    """A group of declared endpoints under one path prefix."""

    def __init__(self, prefix: str = "", *, tags: Sequence[str] = ()) -> None:
        self.prefix = prefix.rstrip("/")
        self.tags = tuple(tags)
        self.endpoints: list[Endpoint] = []

    def route(
        self,
        method: str,
        path: str,
        *,
        response: Any,
        status_code: int = 200,
        summary: str = "",
        errors: Sequence[int] = (),
        tags: Sequence[str] = (),
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            full_path = self.prefix + path
            params, body_param, body_model = _inspect_handler(handler, full_path)
            doc = inspect.getdoc(handler) or ""
            self.endpoints.append(
                Endpoint(
                    method=method.upper(),
                    path=full_path,
                    handler=handler,
                    response=response,
                    status_code=status_code,
                    summary=summary or doc.split("\n", 1)[0],
                    description=doc,
                    tags=tuple(tags) or self.tags,
                    errors=tuple(errors),
                    params=params,
                    body_param=body_param,
                    body_model=body_model,
                )
            )
            return handler

        return register

    def get(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("PUT", path, **kw)

    def starlette_routes(self, clients: Clients, settings: Settings) -> list[Route]:
        return [
            Route(ep.path, _endpoint_app(ep, clients, settings), methods=[ep.method], name=ep.operation_id)
            for ep in self.endpoints
        ]


def org_from_request(request: Request, settings: Settings) -> str:
    """The organisation a REST request acts for: the `X-Footfall-Org` header, else the default."""
    value = request.headers.get(ORG_HTTP_HEADER)
    return validate_org(value.strip()) if value else settings.default_org


def _endpoint_app(
    ep: Endpoint, clients: Clients, settings: Settings
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            kwargs = _parse_params(ep, request)
            if ep.body_model is not None:
                kwargs[ep.body_param] = await _parse_body(ep.body_model, request)  # type: ignore[index]
            call = RestCall(request, org_from_request(request, settings), clients, settings)
            result = await ep.handler(call, **kwargs)
        except RequestValidationError as err:
            return error_response(err.status_code, err.detail)
        except errors.FootfallError as err:
            return domain_error_response(err)
        return Response(ep.dump(result), status_code=ep.status_code, media_type="application/json")

    endpoint.__name__ = ep.operation_id
    return endpoint


def _parse_params(ep: Endpoint, request: Request) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for p in ep.params:
        source = request.path_params if p.location == "path" else request.query_params
        raw = source.get(p.name)
        if raw is None or (raw == "" and p.location == "query" and p.type is int):
            if p.required:
                raise RequestValidationError(f"Missing required {p.location} parameter '{p.name}'")
            values[p.name] = p.default
            continue
        values[p.name] = _convert(p, raw)
    return values


def _convert(p: Param, raw: str) -> Any:
    if p.type is str:
        return raw
    if not _INT_RE.match(raw) or not INT64_MIN <= int(raw) <= INT64_MAX:
        raise RequestValidationError(
            f"Invalid {p.location} parameter '{p.name}': {raw!r} is not a valid integer"
        )
    value = int(raw)
    if p.ge is not None and value < p.ge:
        raise RequestValidationError(
            f"Invalid {p.location} parameter '{p.name}': must be greater than or equal to {p.ge}"
        )
    if p.le is not None and value > p.le:
        raise RequestValidationError(
            f"Invalid {p.location} parameter '{p.name}': must be less than or equal to {p.le}"
        )
    return value


async def _parse_body(model: type[BaseModel], request: Request) -> BaseModel:
    raw = await request.body()
    try:
        data = json.loads(raw) if raw.strip() else {}
    except (ValueError, UnicodeDecodeError) as err:
        raise RequestValidationError(f"Invalid JSON body: {err}", 400) from None
    if not isinstance(data, dict):
        raise RequestValidationError("Request body must be a JSON object", 400)
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise RequestValidationError(_describe(err), 400) from None


def _describe(err: ValidationError) -> str:
    parts = []
    for e in err.errors(include_url=False):
        where = ".".join(str(x) for x in e["loc"]) or "body"
        parts.append(f"{where}: {e['msg']}")
    return "Invalid request body: " + "; ".join(parts)


def _inspect_handler(
    handler: Handler, path: str
) -> tuple[tuple[Param, ...], str | None, type[BaseModel] | None]:
    hints = typing.get_type_hints(handler, include_extras=True)
    path_names = set(re.findall(r"{(\w+)}", path))
    params: list[Param] = []
    body_param: str | None = None
    body_model: type[BaseModel] | None = None
    for i, name in enumerate(inspect.signature(handler).parameters):
        if i == 0:  # the RestCall
            continue
        hint = hints[name]
        meta: Any = None
        if get_origin(hint) is Annotated:
            hint, *extras = get_args(hint)
            meta = next((m for m in extras if isinstance(m, (Query, Path))), None)
        base, optional = _unwrap_optional(hint)
        if inspect.isclass(base) and issubclass(base, BaseModel):
            body_param, body_model = name, base
            continue
        if base not in (int, str):
            raise TypeError(
                f"{handler.__name__}: parameter {name} must be int, str or a BaseModel, not {hint!r}"
            )
        if name in path_names:
            pm = meta if isinstance(meta, Path) else Path()
            params.append(Param(name, "path", base, True, None, pm.ge, None, pm.description))
        else:
            q = meta if isinstance(meta, Query) else Query(None if optional else _REQUIRED)
            required = q.default is _REQUIRED
            params.append(
                Param(
                    name, "query", base, required, None if required else q.default, q.ge, q.le, q.description
                )
            )
    missing = path_names - {p.name for p in params}
    if missing:
        raise TypeError(f"{handler.__name__}: path parameters {sorted(missing)} are not in its signature")
    return tuple(params), body_param, body_model


def _unwrap_optional(hint: Any) -> tuple[Any, bool]:
    args = get_args(hint)
    if args and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            return rest[0], True
    return hint, False
