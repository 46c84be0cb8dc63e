"""The gateway's federated GraphQL schema, composed from one module per domain.

A domain adds itself by declaring a `SchemaModule` with its own Query/Mutation/Subscription types and
passing it to `build_schema` (or `create_app(schema=...)`); the root types are merged with
`strawberry.tools.merge_types`, so modules never edit each other:

    VISION = SchemaModule("vision", query=VisionQuery, subscription=VisionSubscription)
    schema = build_schema([*DEFAULT_MODULES, VISION])
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

import strawberry
from graphql import GraphQLError
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from footfall.graph.clients import ServiceUnavailable
from footfall.graph.schema import occupancy
from footfall.services.core import errors

log = logging.getLogger(__name__)

# `extensions.code` of a GraphQL error, by the domain error behind it.
ERROR_CODES: tuple[tuple[type[errors.FootfallError], str], ...] = (
    (errors.NotFound, "NOT_FOUND"),
    (errors.AlreadyExists, "ALREADY_EXISTS"),
    (errors.InvalidArgument, "BAD_USER_INPUT"),
    (errors.PermissionDenied, "FORBIDDEN"),
    (errors.Unavailable, "UNAVAILABLE"),
)


@dataclass(frozen=True)
class SchemaModule:
    name: str
    query: type | None = None
    mutation: type | None = None
    subscription: type | None = None
    types: tuple[type, ...] = ()


OCCUPANCY = SchemaModule(
    "occupancy",
    query=occupancy.OccupancyQuery,
    mutation=occupancy.OccupancyMutation,
    subscription=occupancy.OccupancySubscription,
    types=occupancy.TYPES,
)
DEFAULT_MODULES: tuple[SchemaModule, ...] = (OCCUPANCY,)


def error_code(err: BaseException | None) -> str | None:
    if isinstance(err, errors.FootfallError):
        for cls, code in ERROR_CODES:
            if isinstance(err, cls):
                return code
        return "INTERNAL_SERVER_ERROR"
    return None


class GatewaySchema(strawberry.federation.Schema):
    """Domain errors reach clients with their message and an `extensions.code`; only the rest is logged loudly."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        unexpected = []
        for error in errors:
            code = error_code(error.original_error)
            if code is None:
                unexpected.append(error)
                continue
            error.extensions = {**(error.extensions or {}), "code": code}
            if isinstance(error.original_error, ServiceUnavailable):
                log.warning("GraphQL %s: %s", error.path, error.message)
        if unexpected:
            super().process_errors(unexpected, execution_context)


def _merged(name: str, parts: Sequence[type]) -> type | None:
    if not parts:
        return None
    return merge_types(name, tuple(parts))


def build_schema(modules: Sequence[SchemaModule] = DEFAULT_MODULES) -> GatewaySchema:
    query = _merged("Query", [m.query for m in modules if m.query])
    if query is None:
        raise ValueError("a schema needs at least one module with a Query type")
    return GatewaySchema(
        query=query,
        mutation=_merged("Mutation", [m.mutation for m in modules if m.mutation]),
        subscription=_merged("Subscription", [m.subscription for m in modules if m.subscription]),
        types=[t for m in modules for t in m.types],
        # Parsing and validating dominate a small query's cost; clients send the same documents again and again.
        extensions=[partial(ParserCache, maxsize=1024), partial(ValidationCache, maxsize=1024)],
        federation_version="2.11",
    )


__all__ = ["DEFAULT_MODULES", "OCCUPANCY", "GatewaySchema", "SchemaModule", "build_schema", "error_code"]
