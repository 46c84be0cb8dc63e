"""GraphQL over HTTP for the gateway tests."""

from __future__ import annotations

from typing import Any

import httpx


async def gql(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    """POST a GraphQL operation; the whole response body (`data` and maybe `errors`)."""
    r = await client.post("/graphql", json={"query": query, "variables": variables or {}})
    assert r.status_code == 200, r.text
    return r.json()


async def gql_data(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The `data` of a GraphQL operation that must not fail."""
    body = await gql(client, query, variables)
    assert not body.get("errors"), body["errors"]
    return body["data"]
