"""The GraphQL `liveOccupancy` query answered from the gateway's live cache, before Strawberry.

A dashboard polls one small document again and again:

    query Live($id: ID!) { liveOccupancy(cameraId: $id) { cameraId currentOccupancy totalEntries lastUpdated } }

Executing it costs Strawberry and graphql-core several times what answering it costs once the count is in
memory. `LiveQueries` (pure ASGI, inside the gateway's rate limits, metrics and hardening layers, like
`live_reads.LiveReads`) recognises exactly that shape: one query operation whose only field is
`liveOccupancy` with `cameraId` given as a literal string or as the operation's one `ID!` variable, selecting
only the scalar fields of `LiveOccupancy` (aliases allowed; no fragments, directives or arguments). When the
caller authenticates with a reader's role and the camera is held fresh for their organisation, it writes the
response Strawberry would write (`tests/graph/test_live_cache_gateway.py` compares the two byte for byte).
A dashboard sends the same body on every poll: a recognised body is remembered (`RequestCache`), and its
answer is encoded once per update of the camera (`LiveEntry.rendered`), not once per read.
Anything else (another document, a miss, any error to report) goes on to the GraphQL view unchanged.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from footfall.graph.core.convert import to_datetime
from footfall.graph.occupancy.client import OccupancyClient
from footfall.graph.occupancy.live_cache import LiveOccupancyCache
from footfall.graph.occupancy.schema_cameras import MAX_KEY_LENGTH, directory
from footfall.graph.security.auth import authenticate
from footfall.graph.security.http import replay
from footfall.services.core.errors import FootfallError
from footfall.v1 import occupancy_pb2
from graphql import GraphQLError, parse
from graphql.language import (
    DocumentNode,
    FieldNode,
    NamedTypeNode,
    NonNullTypeNode,
    OperationDefinitionNode,
    OperationType,
    StringValueNode,
    VariableNode,
)
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PATH = "/graphql"
FIELD = "liveOccupancy"
MAX_BODY = 4096  # a live query is a few hundred bytes; bigger bodies are not worth a look
MAX_PLANS = 256
MAX_REQUESTS = 1024  # distinct request bodies remembered (bodies are at most MAX_BODY bytes)
INT32 = range(-(2**31), 2**31)

Render = Callable[[occupancy_pb2.LiveOccupancy, str], Any]


def _last_updated(live: occupancy_pb2.LiveOccupancy, key: str) -> str | None:
    when = to_datetime(live.last_updated)
    return when.isoformat() if when is not None else None  # Strawberry's DateTime


#: The fields of `LiveOccupancy` (schema_types.py) and their values, as the schema resolves them.
FIELDS: dict[str, Render] = {
    "__typename": lambda live, key: "LiveOccupancy",
    "cameraId": lambda live, key: key,
    "currentOccupancy": lambda live, key: live.current_occupancy,
    "totalEntries": lambda live, key: live.total_entries,
    "totalExits": lambda live, key: live.total_exits,
    "uniquePersons": lambda live, key: live.unique_persons,
    "lastUpdated": _last_updated,
}


@dataclass(frozen=True)
class LivePlan:
    """What a recognised document asks for."""

    operation_name: str | None
    variable: str | None  # the variable holding the camera id, or None when it is a literal
    literal: str | None
    root_key: str
    fields: tuple[tuple[str, str], ...]  # (response key, field name)

    def camera(self, variables: object) -> str | None:
        if self.variable is None:
            return self.literal if variables in (None, {}) else None
        if not isinstance(variables, dict) or set(variables) != {self.variable}:
            return None
        value = variables[self.variable]
        return value if isinstance(value, str) else None

    def data(self, live: occupancy_pb2.LiveOccupancy, key: str) -> dict[str, Any] | None:
        values = {name: FIELDS[field](live, key) for name, field in self.fields}
        if any(isinstance(v, int) and v not in INT32 for v in values.values()):
            return None  # GraphQL's Int is 32-bit: let the schema report it
        return {self.root_key: values}


def plan_of(document: DocumentNode) -> LivePlan | None:
    """The plan of a document of the recognised shape (module docstring), else None."""
    if len(document.definitions) != 1:
        return None
    op = document.definitions[0]
    if not isinstance(op, OperationDefinitionNode) or op.operation != OperationType.QUERY or op.directives:
        return None
    if len(op.selection_set.selections) != 1:
        return None
    root = op.selection_set.selections[0]
    if (not isinstance(root, FieldNode) or root.name.value != FIELD or root.directives
            or root.selection_set is None or len(root.arguments) != 1 or root.arguments[0].name.value != "cameraId"):
        return None
    value, definitions = root.arguments[0].value, op.variable_definitions or ()
    variable = literal = None
    if isinstance(value, VariableNode):
        variable = value.name.value
        if len(definitions) != 1:
            return None
        definition = definitions[0]
        kind = definition.type
        if (definition.variable.name.value != variable or definition.default_value is not None
                or definition.directives or not isinstance(kind, NonNullTypeNode)
                or not isinstance(kind.type, NamedTypeNode) or kind.type.name.value != "ID"):
            return None
    elif isinstance(value, StringValueNode) and not definitions:
        literal = value.value
    else:
        return None
    fields = []
    for selection in root.selection_set.selections:
        if (not isinstance(selection, FieldNode) or selection.name.value not in FIELDS or selection.arguments
                or selection.directives or selection.selection_set is not None):
            return None
        fields.append(((selection.alias or selection.name).value, selection.name.value))
    if not fields or len({name for name, _ in fields}) != len(fields):
        return None  # a response key twice: the field-merging rules are the schema's to apply
    name = op.name.value if op.name else None
    return LivePlan(name, variable, literal, (root.alias or root.name).value, tuple(fields))


class PlanCache:
    """Query text -> plan (None: not of the shape), so a document is parsed here once."""

    def __init__(self, size: int = MAX_PLANS) -> None:
        self.size = size
        self._plans: OrderedDict[str, LivePlan | None] = OrderedDict()

    def get(self, query: str) -> LivePlan | None:
        if query in self._plans:
            self._plans.move_to_end(query)
            return self._plans[query]
        try:
            plan = plan_of(parse(query, no_location=True, max_tokens=200))
        except GraphQLError:
            plan = None
        self._plans[query] = plan
        while len(self._plans) > self.size:
            self._plans.popitem(last=False)
        return plan


class LiveQueries:
    def __init__(self, app: ASGIApp, cache: LiveOccupancyCache, client: OccupancyClient) -> None:
        self.app = app
        self.cache = cache
        self.client = client
        self.plans = PlanCache()
        self.requests = RequestCache(self.plans)
        self.route = _Route()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not (scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == PATH
                and self.cache.active and _eligible(scope)):
            await self.app(scope, receive, send)
            return
        body = await _read(receive)
        if body is None:  # the client went away
            return
        answer = await self._held(scope, body)
        if answer is None:
            await self.app(scope, replay(body, receive), send)
            return
        scope["route"] = self.route
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", b"application/json"), (b"content-length", b"%d" % len(answer))]})
        await send({"type": "http.response.body", "body": answer})

    async def _held(self, scope: Scope, body: bytes) -> bytes | None:
        asked = self.requests.get(body)
        if asked is None:
            return None
        plan, key = asked
        try:
            caller = await authenticate(HTTPConnection(scope))
        except FootfallError:
            return None
        number = directory(self.client).known_number(caller.org, key)
        entry = self.client.held_live(caller, number) if number is not None else None  # a reader, their org
        if entry is None:
            return None
        return entry.rendered((plan, key), partial(_answer, plan, key))  # encoded once per update


def _answer(plan: LivePlan, key: str, live: occupancy_pb2.LiveOccupancy) -> bytes | None:
    data = plan.data(live, key)
    return json.dumps({"data": data}, separators=(",", ":")).encode() if data is not None else None


class RequestCache:
    """Request body -> (plan, camera key) of a recognised live query, so that a dashboard's repeated body is
    decoded and checked once, not on every poll. Only recognised bodies are kept (a live query and a camera
    key: never another operation's variables, which may hold a password). Bounded: emptied when full."""

    def __init__(self, plans: PlanCache, size: int = MAX_REQUESTS) -> None:
        self.plans = plans
        self.size = size
        self._asked: dict[bytes, tuple[LivePlan, str]] = {}

    def get(self, body: bytes) -> tuple[LivePlan, str] | None:
        asked = self._asked.get(body)
        if asked is None:
            asked = self._recognise(body)
            if asked is not None:
                if len(self._asked) >= self.size:
                    self._asked.clear()
                self._asked[body] = asked
        return asked

    def _recognise(self, body: bytes) -> tuple[LivePlan, str] | None:
        try:
            request = json.loads(body)
        except ValueError:
            return None
        if not isinstance(request, dict) or not set(request) <= {"query", "variables", "operationName"}:
            return None
        query = request.get("query")
        if not isinstance(query, str) or len(query) > MAX_BODY:
            return None
        plan = self.plans.get(query)
        if plan is None or request.get("operationName") not in (None, plan.operation_name):
            return None
        key = plan.camera(request.get("variables"))
        if key is None or not key.strip() or len(key) > MAX_KEY_LENGTH or "\x00" in key:
            return None
        return plan, key


class _Route:
    path = PATH


def _eligible(scope: Scope) -> bool:
    """A JSON body of a size worth reading, from a client that takes a plain JSON answer."""
    content_type = accept = b""
    length = -1
    for name, value in scope["headers"]:
        if name == b"content-type":
            content_type = value
        elif name == b"accept":
            accept = value
        elif name == b"content-length":
            length = int(value) if value.isdigit() else -1
    if not 0 < length <= MAX_BODY or content_type.split(b";", 1)[0].strip().lower() != b"application/json":
        return False
    return not accept or all(a.split(b";", 1)[0].strip() in (b"application/json", b"*/*") for a in accept.split(b","))


async def _read(receive: Receive) -> bytes | None:
    chunks = []
    while True:
        message: Message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)
