"""GraphQL cost limits on a small schema shaped like the gateway's (cameras <-> lines, a cycle): costly
documents are refused while parsing or validating, fast, before any resolver runs."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import strawberry

from footfall.graph.security.graphql import graphql_extensions
from footfall.services.core.config import Settings

resolved: list[str] = []


@strawberry.type
class Line:
    id: int

    @strawberry.field
    def camera(self) -> Camera:
        resolved.append("camera")
        return Camera(id=self.id)


@strawberry.type
class Camera:
    id: int

    @strawberry.field
    def lines(self) -> list[Line]:
        resolved.append("lines")
        return [Line(id=i) for i in range(3)]


@strawberry.type
class Query:
    @strawberry.field
    def cameras(self) -> list[Camera]:
        resolved.append("cameras")
        return [Camera(id=i) for i in range(3)]


def make_schema(tmp_path: Path, **overrides: object) -> strawberry.Schema:
    values: dict[str, object] = {
        "data_dir": tmp_path, "graphql_max_depth": 10, "graphql_max_aliases": 30, "graphql_max_tokens": 2000,
        "mode": "development", "graphql_introspection": None,
    }
    values.update(overrides)
    return strawberry.Schema(Query, extensions=graphql_extensions(Settings(**values)))  # type: ignore[arg-type]


def nested(levels: int) -> str:
    """`cameras { lines { camera { lines ... } } }`, `levels` fields deep."""
    names = ["cameras"] + ["lines" if i % 2 else "camera" for i in range(1, levels)]
    return "{ " + " { ".join(names) + " { id }" + " }" * levels


async def refused(schema: strawberry.Schema, query: str) -> str:
    """The error message; the document must be refused within a second and run no resolver."""
    resolved.clear()
    started = time.perf_counter()
    result = await schema.execute(query)
    elapsed = time.perf_counter() - started
    assert result.errors, "the document was accepted"
    assert result.data is None
    assert resolved == []
    assert elapsed < 1.0, f"refusing took {elapsed:.2f}s"
    return result.errors[0].message


@pytest.fixture
def schema(tmp_path: Path) -> strawberry.Schema:
    return make_schema(tmp_path)


async def test_a_query_within_the_limits_runs(schema: strawberry.Schema) -> None:
    result = await schema.execute("{ a: cameras { id lines { id camera { id } } } }")
    assert result.errors is None
    assert result.data is not None and len(result.data["a"]) == 3


async def test_twenty_deep_nesting_is_refused(schema: strawberry.Schema) -> None:
    message = await refused(schema, nested(20))
    assert "exceeds maximum operation depth of 10" in message


async def test_two_hundred_aliases_are_refused(schema: strawberry.Schema) -> None:
    query = "{ " + " ".join(f"a{i}: cameras {{ id }}" for i in range(200)) + " }"
    assert await refused(schema, query) == "200 aliases found. Allowed: 30"


async def test_too_many_tokens_are_refused_while_parsing(schema: strawberry.Schema) -> None:
    query = "{ cameras { " + "id " * 2500 + "} }"
    assert "more than 2000 tokens" in await refused(schema, query)


async def test_a_fragment_bomb_is_refused(schema: strawberry.Schema) -> None:
    # Each fragment spreads the one before twice: 2**40 fields once expanded, in a 1.5 KB document.
    fragments = ["fragment F0 on Camera { id }"] + [
        f"fragment F{i} on Camera {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, 40)
    ]
    query = "{ cameras { ...F39 } }\n" + "\n".join(fragments)
    assert "fields once fragments are expanded" in await refused(schema, query)


async def test_a_fragment_cycle_is_refused(schema: strawberry.Schema) -> None:
    query = """
        { cameras { ...A } }
        fragment A on Camera { lines { camera { ...B ...B } } }
        fragment B on Camera { ...A ...A }
    """
    assert "within itself" in await refused(schema, query)


async def test_nesting_past_the_parser_recursion_is_an_error_not_a_crash(tmp_path: Path) -> None:
    schema = make_schema(tmp_path, graphql_max_tokens=100_000, graphql_max_depth=10_000)
    await refused(schema, nested(3000))


async def test_introspection_is_off_in_production(tmp_path: Path) -> None:
    schema = make_schema(tmp_path, mode="production")
    message = await refused(schema, "{ __schema { types { name } } }")
    assert "introspection" in message.lower()
    assert "introspection" in (await refused(schema, '{ __type(name: "Camera") { name } }')).lower()
    plain = await schema.execute("{ __typename cameras { id } }")
    assert plain.errors is None


async def test_introspection_follows_the_settings(tmp_path: Path) -> None:
    development = await make_schema(tmp_path).execute("{ __schema { queryType { name } } }")
    assert development.errors is None
    forced_on = await make_schema(tmp_path, mode="production", graphql_introspection=True).execute(
        "{ __schema { queryType { name } } }"
    )
    assert forced_on.errors is None
    forced_off = await make_schema(tmp_path, graphql_introspection=False).execute("{ __schema { queryType { name } } }")
    assert forced_off.errors


async def test_many_repeated_fields_are_refused_before_the_quadratic_merge_check(schema: strawberry.Schema) -> None:
    query = "{ cameras { " + "lines { id } " * 490 + "} }"  # ~1 s in graphql-core's overlapping-fields rule
    assert "fields once fragments are expanded" in await refused(schema, query)


async def test_graphiql_introspection_fits_the_limits(schema: strawberry.Schema) -> None:
    from graphql import get_introspection_query

    result = await schema.execute(get_introspection_query(descriptions=True, input_value_deprecation=True))
    assert result.errors is None
