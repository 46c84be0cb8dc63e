"""The gateway's federated GraphQL schema, composed from one `SchemaModule` per domain.

Each domain declares its own Query/Mutation/Subscription types; the root types are merged with
`strawberry.tools.merge_types`, so modules never edit each other. Root fields say who may use them with the
permission classes below (the same check as the REST dependencies):

    @strawberry.type
    class VisionQuery:
        @strawberry.field(permission_classes=[CanRead])
        async def tracks(self, info: Info, camera_id: str) -> CameraTracks: ...

    schema = build_schema([OCCUPANCY_SCHEMA, VISION_SCHEMA], extensions=[...])
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from functools import partial
from typing import Any, TypeVar

import strawberry
from footfall.graph.core.client import ServiceUnavailable
from footfall.graph.security.auth import Caller
from footfall.services.core import errors
from footfall.services.core.principal import FEEDERS, READERS, WRITERS, Role
from footfall.v1 import common_pb2
from graphql import GraphQLError
from strawberry.extensions import ParserCache, SchemaExtension, ValidationCache
from strawberry.permission import BasePermission
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

log = logging.getLogger(__name__)
E = TypeVar("E", bound=Enum)

# `extensions.code` of a GraphQL error, by the domain error behind it.
ERROR_CODES: tuple[tuple[type[errors.FootfallError], str], ...] = (
    (errors.NotFound, "NOT_FOUND"),
    (errors.AlreadyExists, "ALREADY_EXISTS"),
    (errors.InvalidArgument, "BAD_USER_INPUT"),
    (errors.Unauthenticated, "UNAUTHENTICATED"),
    (errors.PermissionDenied, "FORBIDDEN"),
    (errors.TooLarge, "BAD_USER_INPUT"),
    (errors.Unavailable, "UNAVAILABLE"),
)


@dataclass(frozen=True)
class SchemaModule:
    name: str
    query: type | None = None
    mutation: type | None = None
    subscription: type | None = None
    types: tuple[type, ...] = ()


def error_code(err: BaseException | None) -> str | None:
    if isinstance(err, errors.FootfallError):
        for cls, code in ERROR_CODES:
            if isinstance(err, cls):
                return code
        return "INTERNAL_SERVER_ERROR"
    return None


# Enums more than one domain uses. A protobuf enum's UNSPECIFIED never reaches GraphQL: an output field whose
# service sent a value this gateway does not know is null (see `from_proto_enum`).


@strawberry.enum(description="Which crossings of a virtual line count: entries, exits or both.")
class LineDirection(Enum):
    ENTRY = common_pb2.LINE_DIRECTION_ENTRY
    EXIT = common_pb2.LINE_DIRECTION_EXIT
    BIDIRECTIONAL = common_pb2.LINE_DIRECTION_BIDIRECTIONAL


@strawberry.enum(description="The side-to-side sense of one crossing of a line (see the README's convention).")
class CrossingDirection(Enum):
    IN = common_pb2.CROSSING_DIRECTION_IN
    OUT = common_pb2.CROSSING_DIRECTION_OUT


def from_proto_enum(enum: type[E], value: int, default: E | None = None) -> E | None:
    """The GraphQL enum member whose value is the protobuf number `value`; `default` for UNSPECIFIED/unknown."""
    try:
        return enum(value)
    except ValueError:
        return default


def from_names(enum: type[E], names: Mapping[str, int], value: int) -> E | None:
    """The member named like the wire name of `value` in `names` (`{"hourly": 1}` -> HOURLY), or None."""
    for name, number in names.items():
        if number == value:
            return enum[name.upper().replace(" ", "_")]
    return None


# Permissions: the caller the view authenticated (`info.context.caller`), and their role.


def caller_of(info: Any) -> Caller:
    caller = getattr(info.context, "caller", None)
    if not isinstance(caller, Caller):
        raise errors.Unauthenticated("Not authenticated")
    return caller


class _RolePermission(BasePermission):
    roles: frozenset[Role] = frozenset()
    message = "Not allowed"

    def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        # Raising (not returning False) keeps the domain error, so the client sees UNAUTHENTICATED/FORBIDDEN.
        caller_of(info).principal.require(self.roles)
        return True


class CanRead(_RolePermission):
    roles = READERS


class CanWrite(_RolePermission):
    roles = WRITERS


class CanFeed(_RolePermission):
    roles = FEEDERS


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
            if code == "INTERNAL_SERVER_ERROR":
                error.message = "Internal Server Error"
            if isinstance(error.original_error, ServiceUnavailable):
                log.warning("GraphQL %s: %s", error.path, error.message)
        if unexpected:
            super().process_errors(unexpected, execution_context)


def _merged(name: str, parts: Sequence[type]) -> type | None:
    if not parts:
        return None
    return merge_types(name, tuple(parts))


ExtensionFactory = type[SchemaExtension] | SchemaExtension | Callable[..., SchemaExtension]


def build_schema(modules: Sequence[SchemaModule], extensions: Sequence[ExtensionFactory] = ()) -> GatewaySchema:
    query = _merged("Query", [m.query for m in modules if m.query])
    if query is None:
        raise ValueError("a schema needs at least one module with a Query type")
    return GatewaySchema(
        query=query,
        mutation=_merged("Mutation", [m.mutation for m in modules if m.mutation]),
        subscription=_merged("Subscription", [m.subscription for m in modules if m.subscription]),
        types=[t for m in modules for t in m.types],
        # Parsing and validating dominate a small query's cost; clients send the same documents again and again.
        extensions=[
            *extensions,
            partial(ParserCache, maxsize=1024),
            partial(ValidationCache, maxsize=1024),
        ],
        federation_version="2.11",
    )
