"""Requests built from the API's own descriptions (OpenAPI document, GraphQL introspection), so that a route or
field added later is probed without anyone listing it: path, query and body values naming org A's things,
minimal valid bodies, GraphQL operations with variables and a selection of every scalar."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tests.frontdoor.conftest import OrgWorld

#: The routes anyone may call.
OPEN_ROUTES = {("GET", "/health"), ("POST", "/admin/login"), ("POST", "/api/auth/login/")}
LOGOUT_ROUTES = {("POST", "/admin/logout"), ("POST", "/api/auth/logout/")}
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    op: dict[str, Any]

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    def params(self, where: str) -> list[dict[str, Any]]:
        return [p for p in self.op.get("parameters", ()) if p.get("in") == where]


def routes(doc: dict[str, Any]) -> list[Route]:
    return [Route(m.upper(), path, op) for path, ops in doc["paths"].items() for m, op in ops.items()
            if m.upper() in {"GET", "POST", "PUT", "PATCH", "DELETE"}]


def a_value(name: str, schema: dict[str, Any], a: OrgWorld) -> Any:
    """Org A's id for a parameter or field called `name` (None when the name names no thing of A's)."""
    n = name.lower()
    if n == "camera_id":
        return a.camera_id if _is_int(schema) else a.vision_key
    return {"line_id": a.line_id, "alert_id": a.alert_id, "journey_id": a.journey_id, "webhook_id": a.webhook_id,
            "username": a.admin.username, "transaction_id": a.transaction_id}.get(n)


def _is_int(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "integer" or any(s.get("type") == "integer" for s in schema.get("anyOf", ()))


def path_with_a_ids(route: Route, a: OrgWorld) -> str:
    path = route.path
    for p in route.params("path"):
        value = a_value(p["name"], p.get("schema", {}), a)
        if value is not None:  # else the placeholder stays: the caller reports the route as not probed
            path = path.replace("{" + p["name"] + "}", str(value))
    return path


def query_with_a_ids(route: Route, a: OrgWorld, doc: dict[str, Any] | None = None) -> dict[str, Any]:
    """Query parameters naming A's things, and (given the document) a valid value for every required one."""
    out = {}
    for p in route.params("query"):
        value = a_value(p["name"], p.get("schema", {}), a)
        if value is not None:
            out[p["name"]] = value
        elif doc is not None and p.get("required"):
            out[p["name"]] = sample(doc, p.get("schema", {}), None)
    return out


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = doc
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def sample(doc: dict[str, Any], schema: dict[str, Any], a: OrgWorld | None, name: str = "") -> Any:
    """A minimal valid value of `schema`; fields naming a thing of A's get A's id when `a` is given."""
    schema = _resolve(doc, schema)
    if a is not None and name and _is_int(schema):  # keys (camera keys, usernames) are per org: only ids
        value = a_value(name, schema, a)
        if value is not None:
            return value
    for key in ("anyOf", "oneOf", "allOf"):
        options = [s for s in schema.get(key, ()) if _resolve(doc, s).get("type") != "null"]
        if options:
            return sample(doc, options[0], a, name)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        required = schema.get("required", ())
        return {k: sample(doc, v, a, k) for k, v in schema.get("properties", {}).items()
                if k in required or (a is not None and _is_int(_resolve(doc, v)) and a_value(k, _resolve(doc, v), a)
                                     is not None)}
    if kind == "array":
        return []
    if kind == "integer":
        return max(1, int(schema.get("minimum", 1)))
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return False
    if schema.get("format") == "date-time":
        return "2023-11-17T05:46:40Z"
    return "probe"


def body_of(doc: dict[str, Any], route: Route, a: OrgWorld | None) -> Any:
    content = route.op.get("requestBody", {}).get("content", {})
    if not content:
        return None
    schema = content.get("application/json", next(iter(content.values()))).get("schema", {})
    return sample(doc, schema, a)


def names_a_thing(doc: dict[str, Any], route: Route, a: OrgWorld) -> bool:
    """Whether the route's path, query or body names one of A's things."""
    body = body_of(doc, route, a)
    plain = body_of(doc, route, None)
    return bool(route.params("path") or query_with_a_ids(route, a) or body != plain)


def leaks(value: Any, marker: str) -> list[str]:
    """Strings in `value` that carry `marker` (org A's id, which every row of A's data names)."""
    found: list[str] = []

    def walk(v: Any) -> None:
        if isinstance(v, str):
            if marker in v:
                found.append(v)
        elif isinstance(v, dict):
            for item in v.values():
                walk(item)
        elif isinstance(v, list):
            for item in v:
                walk(item)

    walk(value)
    return found


# --------------------------------------------------------------------------------------------------
# GraphQL

INTROSPECTION = """
query { __schema {
  queryType { name } mutationType { name } subscriptionType { name }
  types { kind name
    fields { name args { name type { ...T } defaultValue } type { ...T } }
    inputFields { name type { ...T } defaultValue }
    enumValues { name } } } }
fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } }
"""


def type_name(ref: dict[str, Any]) -> str:
    while ref.get("ofType"):
        ref = ref["ofType"]
    return str(ref["name"])


def type_text(ref: dict[str, Any]) -> str:
    if ref["kind"] == "NON_NULL":
        return type_text(ref["ofType"]) + "!"
    if ref["kind"] == "LIST":
        return f"[{type_text(ref['ofType'])}]"
    return str(ref["name"])


class GraphModel:
    """The schema as introspection tells it, and operations built from it."""

    def __init__(self, introspection: dict[str, Any]) -> None:
        s = introspection["__schema"]
        self.types = {t["name"]: t for t in s["types"]}
        self.roots = {kind: (s[f"{kind}Type"] or {}).get("name") for kind in ("query", "mutation", "subscription")}

    def fields(self, kind: str) -> list[dict[str, Any]]:
        name = self.roots[kind]
        return list(self.types[name]["fields"]) if name else []

    def selection(self, ref: dict[str, Any], depth: int = 3) -> str:
        t = self.types[type_name(ref)]
        if t["kind"] in ("SCALAR", "ENUM"):
            return ""
        if t["kind"] != "OBJECT" or depth == 0:
            return "{ __typename }"
        parts = ["__typename"]
        for f in t["fields"]:
            if any(arg["type"]["kind"] == "NON_NULL" for arg in f["args"]):
                continue
            inner = self.types[type_name(f["type"])]
            if inner["kind"] in ("SCALAR", "ENUM"):
                parts.append(f["name"])
            elif depth > 1 and inner["kind"] == "OBJECT":
                parts.append(f"{f['name']} {self.selection(f['type'], depth - 1)}")
        return "{ " + " ".join(parts) + " }"

    def value(self, ref: dict[str, Any], name: str, ids: Iterator[Any] | None, pick: Any) -> Any:
        """A value of type `ref` for the argument or input field `name`; `pick(name, type)` gives A's ids."""
        if ref["kind"] == "NON_NULL":
            return self.value(ref["ofType"], name, ids, pick)
        if ref["kind"] == "LIST":
            return [self.value(ref["ofType"], name, ids, pick)]
        chosen = pick(name, ref["name"])
        if chosen is not None:
            return chosen
        t = self.types[ref["name"]]
        if t["kind"] == "INPUT_OBJECT":
            return {f["name"]: self.value(f["type"], f["name"], ids, pick) for f in t["inputFields"]
                    if (f["type"]["kind"] == "NON_NULL" and f["defaultValue"] is None)
                    or pick(f["name"], type_name(f["type"])) is not None}
        if t["kind"] == "ENUM":
            return t["enumValues"][0]["name"]
        return {"Int": 1, "Float": 1.0, "Boolean": False, "DateTime": "2023-11-17T05:46:40Z",
                "JSON": {}}.get(ref["name"], "probe")

    def operation(self, kind: str, field: dict[str, Any], pick: Any) -> tuple[str, dict[str, Any]]:
        """`kind { field(args...) selection }` with every required argument (and every id argument) set."""
        variables: dict[str, Any] = {}
        decls, args = [], []
        for arg in field["args"]:
            required = arg["type"]["kind"] == "NON_NULL" and arg["defaultValue"] is None
            value = self.value(arg["type"], arg["name"], None, pick)
            is_input = self.types[type_name(arg["type"])]["kind"] == "INPUT_OBJECT"
            if not required and not is_input and pick(arg["name"], type_name(arg["type"])) is None:
                continue
            variables[arg["name"]] = value
            decls.append(f"${arg['name']}: {type_text(arg['type'])}")
            args.append(f"{arg['name']}: ${arg['name']}")
        head = f"{kind} Probe({', '.join(decls)})" if decls else kind
        call = f"{field['name']}({', '.join(args)})" if args else field["name"]
        return f"{head} {{ {call} {self.selection(field['type'])} }}", variables
