"""The OpenAPI 3.0 document, generated from the typed route declarations (`footfall.graph.rest.routing`).

Request and response schemas come from the same pydantic models the routes validate and serialise with,
so the document cannot drift from what the routes do. (OpenAPI 3.0.3 rather than 3.1 so that the Swagger
UI shipped by `swagger-ui-bundle` and older tooling read it.)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, get_args, get_origin

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from footfall.graph.rest.routing import Endpoint
from footfall.services.core.tenancy import ORG_HTTP_HEADER

REF = "#/components/schemas/{model}"
_ERROR_TEXT = {
    400: "Bad request: invalid body, organisation or arguments",
    403: "Forbidden",
    404: "Not found",
    409: "Conflict: already exists",
    422: "Invalid path or query parameter",
    503: "Service unavailable (`Occupancy service not initialized`)",
}
_OK_TEXT = {200: "OK", 201: "Created", 202: "Accepted"}

_PLATFORM_PATHS: dict[str, Any] = {
    "/health": {
        "get": {
            "tags": ["platform"],
            "operationId": "health",
            "summary": "Health of the gateway and what it depends on",
            "responses": {
                "200": {
                    "description": "Healthy",
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/Health"},
                            "example": {"status": "healthy"},
                        }
                    },
                },
                "503": {
                    "description": "A dependency is down",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}},
                },
            },
        }
    },
    "/metrics": {
        "get": {
            "tags": ["platform"],
            "operationId": "metrics",
            "summary": "Prometheus metrics",
            "responses": {
                "200": {
                    "description": "Prometheus text exposition format",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                }
            },
        }
    },
}
_PLATFORM_SCHEMAS: dict[str, Any] = {
    "HTTPError": {
        "type": "object",
        "properties": {"detail": {"type": "string", "example": "Camera 999 not found"}},
        "required": ["detail"],
    },
    "Health": {
        "type": "object",
        "properties": {
            "status": {"type": "string", "enum": ["healthy", "degraded"]},
            "checks": {
                "type": "object",
                "additionalProperties": {"type": "string"},
                "description": "Only when degraded: each dependency and what is wrong with it",
            },
        },
        "required": ["status"],
    },
}


def openapi_document(
    endpoints: Iterable[Endpoint], *, title: str = "Footfall API", version: str = "1.0"
) -> dict[str, Any]:
    endpoints = list(endpoints)
    models: list[type[BaseModel]] = []
    for ep in endpoints:
        if ep.body_model is not None:
            models.append(ep.body_model)
        item = _model_of(ep.response)
        if item is not None:
            models.append(item)
    unique = list(dict.fromkeys(models))
    _, top = models_json_schema([(m, "validation") for m in unique], ref_template=REF)
    schemas = {name: _to_openapi30(schema) for name, schema in top.get("$defs", {}).items()}
    schemas.update(_PLATFORM_SCHEMAS)

    paths: dict[str, Any] = {}
    for ep in endpoints:
        paths.setdefault(ep.path, {})[ep.method.lower()] = _operation(ep)
    paths.update(_PLATFORM_PATHS)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": title,
            "version": version,
            "description": (
                "REST compatibility routes of the Footfall gateway. Every route acts within one organisation: "
                f"send it as the `{ORG_HTTP_HEADER}` header (the server's default organisation otherwise). "
                'Errors are `{"detail": "..."}`. The same capabilities are served as GraphQL at `/graphql`.'
            ),
        },
        "paths": paths,
        "components": {"schemas": schemas},
    }


def _operation(ep: Endpoint) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = []
    for p in ep.params:
        schema: dict[str, Any] = (
            {"type": "integer", "format": "int64"} if p.type is int else {"type": "string"}
        )
        if p.ge is not None:
            schema["minimum"] = p.ge
        if p.le is not None:
            schema["maximum"] = p.le
        if not p.required and p.default is not None:
            schema["default"] = p.default
        param: dict[str, Any] = {"name": p.name, "in": p.location, "required": p.required, "schema": schema}
        if p.description:
            param["description"] = p.description
        parameters.append(param)
    parameters.append(
        {
            "name": ORG_HTTP_HEADER,
            "in": "header",
            "required": False,
            "schema": {"type": "string"},
            "description": "Organisation the call acts for (default: the server's default organisation)",
        }
    )
    op: dict[str, Any] = {
        "tags": list(ep.tags),
        "operationId": ep.operation_id,
        "summary": ep.summary,
        "parameters": parameters,
        "responses": {
            str(ep.status_code): {
                "description": _OK_TEXT.get(ep.status_code, "OK"),
                "content": {"application/json": {"schema": _response_schema(ep.response)}},
            }
        },
    }
    if ep.description and ep.description != ep.summary:
        op["description"] = ep.description
    if ep.body_model is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": REF.format(model=ep.body_model.__name__)}}},
        }
    for code in sorted({*ep.errors, 400, 503}):
        op["responses"][str(code)] = {
            "description": _ERROR_TEXT.get(code, "Error"),
            "content": {"application/json": {"schema": {"$ref": REF.format(model="HTTPError")}}},
        }
    return op


def _model_of(response: Any) -> type[BaseModel] | None:
    if get_origin(response) is list:
        response = get_args(response)[0]
    return response if isinstance(response, type) and issubclass(response, BaseModel) else None


def _response_schema(response: Any) -> dict[str, Any]:
    if get_origin(response) is list:
        return {"type": "array", "items": _response_schema(get_args(response)[0])}
    model = _model_of(response)
    if model is None:
        raise TypeError(f"unsupported response type {response!r}")
    return {"$ref": REF.format(model=model.__name__)}


def _to_openapi30(node: Any) -> Any:
    """JSON Schema 2020-12 as pydantic writes it -> the OpenAPI 3.0 dialect (nullable, enum, example)."""
    if isinstance(node, list):
        return [_to_openapi30(x) for x in node]
    if not isinstance(node, dict):
        return node
    node = {k: _to_openapi30(v) for k, v in node.items()}
    any_of = node.get("anyOf")
    if isinstance(any_of, list) and any(x == {"type": "null"} for x in any_of):
        rest = [x for x in any_of if x != {"type": "null"}]
        del node["anyOf"]
        if len(rest) == 1:
            inner = rest[0]
            if "$ref" in inner:
                node["allOf"] = [inner]
            else:
                node = {**inner, **node}
        else:
            node["anyOf"] = rest
        node["nullable"] = True
    if "const" in node:
        node["enum"] = [node.pop("const")]
    if "examples" in node:
        examples = node.pop("examples")
        if isinstance(examples, list) and examples:
            node.setdefault("example", examples[0])
    return node
