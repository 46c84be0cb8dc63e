"""The summary's words: the deterministic generator, and an OpenAI-compatible model behind real local HTTP
servers (one that answers like the API, one that fails, one that never answers), with the fallback."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
import uvicorn
from footfall.services.core.db import Database
from footfall.services.core.embedded import free_port
from footfall.services.core.errors import InvalidArgument, NotFound
from footfall.services.core.netguard import REFUSED, refusal_of
from footfall.services.customers.commerce import Commerce
from footfall.services.customers.commerce.domain import (
    CartDraft,
    CartProductDraft,
    DishCount,
    PersonSummary,
    ProductDraft,
)
from footfall.services.customers.commerce.summary import (
    SYSTEM_PROMPT,
    GeneratedSummaries,
    ModelSummaries,
    generated_summary,
    summary_facts,
    summary_writer,
)
from footfall.services.customers.service import Customers
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.conftest import unique_org

SUMMARY = PersonSummary(
    person_id="p-1", person_name="John Doe", total_visits=15, favorite_table=5,
    favorite_dishes=(DishCount("Coca-Cola", 12), DishCount("Pizza Margherita", 8), DishCount("Caesar Salad", 6)),
    last_visit=datetime(2024, 12, 15, 19, 30, tzinfo=UTC), total_spent_items=45,
)
MODEL_TEXT = "John Doe is a regular who prefers table 5 and usually orders Coca-Cola."


@dataclass
class ModelServer:
    """A real HTTP server standing in for an OpenAI-compatible endpoint; `mode` picks how it answers."""

    url: str
    mode: str = "answer"
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)


@pytest.fixture
async def model_server() -> AsyncIterator[ModelServer]:
    port = free_port()
    server = ModelServer(f"http://127.0.0.1:{port}/v1")

    async def completions(request: Request) -> Response:
        server.requests.append(await request.json())
        server.headers.append(dict(request.headers))
        if server.mode == "fail":
            return JSONResponse({"error": {"message": "overloaded"}}, status_code=503)
        if server.mode == "hang":
            await server.release.wait()
        if server.mode == "garbage":
            return JSONResponse({"choices": []})
        return JSONResponse({
            "id": "chatcmpl-1", "object": "chat.completion", "model": "test-model",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": f"  {MODEL_TEXT}\n"}}],
        })

    app = Starlette(routes=[Route("/v1/chat/completions", completions, methods=["POST"])])
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning"))
    uv.capture_signals = contextlib.nullcontext  # type: ignore[method-assign]
    task = asyncio.create_task(uv.serve())
    while not uv.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    yield server
    server.release.set()
    uv.should_exit = True
    await asyncio.wait_for(task, 10)


def test_the_generator_writes_the_figures() -> None:
    assert generated_summary(SUMMARY) == (
        "John Doe has visited 15 times, most recently on 2024-12-15. They usually sit at table 5. Their favourite "
        "dish is Coca-Cola, ordered 12 times, followed by Pizza Margherita (8) and Caesar Salad (6). They have "
        "ordered 45 items in total."
    )
    newcomer = PersonSummary("p-2", None, 1, None, (DishCount("Tea", 1),), SUMMARY.last_visit, 1)
    assert generated_summary(newcomer) == (
        "This guest has visited once, on 2024-12-15. Their favourite dish is Tea, ordered once. "
        "They have ordered 1 item in total."
    )
    assert generated_summary(PersonSummary("p-3", None, 0, None, (), None, 0)) == (
        "This guest has no recorded visits yet. They have not ordered anything yet."
    )


def test_the_writer_follows_the_settings() -> None:
    class Settings:
        summary_llm_url = "http://127.0.0.1:9/v1/"
        summary_llm_model = "llama3"
        summary_llm_api_key = "k"
        summary_llm_timeout_s = 3.0

    assert isinstance(summary_writer(object()), GeneratedSummaries)
    writer = summary_writer(Settings())
    assert isinstance(writer, ModelSummaries)
    assert (writer.url, writer.model, writer.api_key, writer.timeout_s) == (
        "http://127.0.0.1:9/v1/chat/completions", "llama3", "k", 3.0)


async def test_a_model_writes_the_summary_from_the_data_only(model_server: ModelServer) -> None:
    writer = ModelSummaries(model_server.url, model="test-model", api_key="sk-test")
    assert await writer.write(SUMMARY) == MODEL_TEXT
    [sent] = model_server.requests
    assert sent["model"] == "test-model" and sent["temperature"] == 0
    assert sent["messages"][0] == {"role": "system", "content": SYSTEM_PROMPT}
    assert sent["messages"][1]["role"] == "user"
    assert json.loads(sent["messages"][1]["content"]) == summary_facts(SUMMARY) == {
        "name": "John Doe", "total_visits": 15, "last_visit": "2024-12-15T19:30:00+00:00", "favorite_table": 5,
        "favorite_dishes": [{"dish": "Coca-Cola", "count": 12}, {"dish": "Pizza Margherita", "count": 8},
                            {"dish": "Caesar Salad", "count": 6}],
        "total_items_ordered": 45,
    }
    assert "p-1" not in json.dumps(sent)  # no ids leave the platform
    assert model_server.headers[0]["authorization"] == "Bearer sk-test"


@pytest.mark.parametrize("mode", ["fail", "garbage"])
async def test_a_failing_model_falls_back_to_the_generator(model_server: ModelServer, mode: str) -> None:
    model_server.mode = mode
    assert await ModelSummaries(model_server.url).write(SUMMARY) == generated_summary(SUMMARY)
    assert len(model_server.requests) == 1


async def test_a_model_that_does_not_answer_in_time_falls_back(model_server: ModelServer) -> None:
    model_server.mode = "hang"
    assert await ModelSummaries(model_server.url, timeout_s=0.3).write(SUMMARY) == generated_summary(SUMMARY)
    assert len(model_server.requests) == 1


async def test_refused_and_unreachable_targets_fall_back() -> None:
    for url in ("http://169.254.169.254/v1", "http://[fe80::1]:8000/v1", f"http://127.0.0.1:{free_port()}/v1"):
        assert await ModelSummaries(url, timeout_s=2).write(SUMMARY) == generated_summary(SUMMARY), url
    # The metadata and link-local addresses are refused by the network guard, before any connection.
    for url in ("http://169.254.169.254/v1", "http://[fe80::1]:8000/v1"):
        with pytest.raises(httpx.ConnectError) as refused:
            await ModelSummaries(url)._ask(SUMMARY)
        assert refusal_of(refused.value) == REFUSED, url


async def test_the_service_summary_uses_the_model(model_server: ModelServer, database: Database) -> None:
    org = unique_org("llm")
    commerce = Commerce(database, Customers(database), summaries=ModelSummaries(model_server.url))
    soup = await commerce.create_product(org, ProductDraft("Soup", "starters", Decimal("4.5")))
    cart = await commerce.create_cart(org, CartDraft(person_id="guest-1", table_number=3))
    await commerce.add_cart_products(org, [CartProductDraft(cart.id, soup.id, 2)])
    summary = await commerce.person_summary(org, "guest-1")
    assert summary.ai_summary == MODEL_TEXT
    assert (summary.favorite_table, summary.favorite_dishes, summary.total_spent_items) == (
        3, (DishCount("Soup", 2),), 2)
    model_server.mode = "fail"
    assert (await commerce.person_summary(org, "guest-1")).ai_summary == (
        "This guest has no recorded visits yet. They usually sit at table 3. Their favourite dish is Soup, "
        "ordered twice. They have ordered 2 items in total."
    )


async def test_an_enrolled_person_and_a_given_name(database: Database) -> None:
    """The gateway vouches for persons identity knows (`enrolled`) and passes identity's name."""
    org = unique_org("named")
    commerce = Commerce(database, Customers(database), summaries=GeneratedSummaries())
    with pytest.raises(NotFound, match="^Person not found$"):
        await commerce.person_summary(org, "guest-2")
    summary = await commerce.person_summary(org, "guest-2", enrolled=True, person_name="  Ann Lee ")
    assert (summary.person_name, summary.total_visits, summary.ai_summary) == (
        "Ann Lee", 0, "Ann Lee has no recorded visits yet. They have not ordered anything yet.")
    assert (await commerce.person_detail(org, "guest-2", enrolled=True))[1] == []
    assert (await commerce.person_orders(org, "guest-2", enrolled=True))[1:] == ([], "", 0)
    for bad in ("x" * 201, "Ann\x00"):
        with pytest.raises(InvalidArgument):
            await commerce.person_summary(org, "guest-2", enrolled=True, person_name=bad)
