"""The words of a person's summary (seed 003's `ai_summary`).

By default a deterministic generator writes them from the summary's figures: the same data always gives the
same text, with no model and no network. When an operator configures an OpenAI-compatible endpoint
(`FOOTFALL_SUMMARY_LLM_URL`, e.g. a local vLLM or Ollama at `http://127.0.0.1:11434/v1`), the model writes
them instead, from the summary's figures as its only input (no ids, no other records); any failure (refused
target, timeout, error status, an answer without text) falls back to the generator, so a summary is always
given.

The endpoint is operator configuration, not tenant input, so loopback and private networks are allowed;
the connection still goes through :mod:`footfall.services.core.netguard`, which refuses cloud metadata,
link-local and reserved addresses after DNS resolution (a name rebound to 169.254.169.254 gains nothing).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Protocol

import httpx
from footfall.services.core.netguard import TargetPolicy, guarded_transport
from footfall.services.customers.commerce.domain import PersonSummary

log = logging.getLogger(__name__)

MAX_SUMMARY_CHARS = 2000
DEFAULT_MODEL = "gpt-4o-mini"
DEFAULT_TIMEOUT_S = 10.0
SYSTEM_PROMPT = (
    "You write a short summary of a restaurant guest for the staff who serve them. Use only the facts in the "
    "JSON the user sends; do not invent preferences, demographics or anything else. Write two to four plain "
    "sentences in English, without lists or markdown."
)
# Operator-chosen endpoints are often on the same host or the store's network.
LLM_POLICY = TargetPolicy.of(allow_private=True, allowed_networks=("127.0.0.0/8", "::1/128"))


class SummaryWriter(Protocol):
    async def write(self, summary: PersonSummary) -> str: ...


def _times(count: int) -> str:
    return "once" if count == 1 else "twice" if count == 2 else f"{count} times"


def generated_summary(summary: PersonSummary) -> str:
    """A deterministic summary of the figures, in English."""
    who = summary.person_name or "This guest"
    sentences: list[str] = []
    if summary.total_visits == 0 or summary.last_visit is None:
        sentences.append(f"{who} has no recorded visits yet.")
    else:
        day = summary.last_visit.date().isoformat()
        if summary.total_visits == 1:
            sentences.append(f"{who} has visited once, on {day}.")
        else:
            sentences.append(f"{who} has visited {summary.total_visits} times, most recently on {day}.")
    if summary.favorite_table is not None:
        sentences.append(f"They usually sit at table {summary.favorite_table}.")
    if summary.favorite_dishes:
        top, *others = summary.favorite_dishes
        sentence = f"Their favourite dish is {top.dish}, ordered {_times(top.count)}"
        if others:
            sentence += ", followed by " + " and ".join(f"{d.dish} ({d.count})" for d in others[:2])
        sentences.append(sentence + ".")
    if summary.total_spent_items:
        items = "item" if summary.total_spent_items == 1 else "items"
        sentences.append(f"They have ordered {summary.total_spent_items} {items} in total.")
    else:
        sentences.append("They have not ordered anything yet.")
    return " ".join(sentences)


class GeneratedSummaries:
    """The default writer: :func:`generated_summary`."""

    async def write(self, summary: PersonSummary) -> str:
        return generated_summary(summary)


def summary_facts(summary: PersonSummary) -> dict[str, Any]:
    """The only input the model gets."""
    return {
        "name": summary.person_name,
        "total_visits": summary.total_visits,
        "last_visit": summary.last_visit.isoformat() if summary.last_visit else None,
        "favorite_table": summary.favorite_table,
        "favorite_dishes": [{"dish": d.dish, "count": d.count} for d in summary.favorite_dishes],
        "total_items_ordered": summary.total_spent_items,
    }


def completions_url(base_url: str) -> str:
    """`<base>/chat/completions` for an OpenAI-style base URL (`.../v1`); a full endpoint URL as given."""
    base = base_url.rstrip("/")
    return base if base.endswith("/chat/completions") else base + "/chat/completions"


def _answer_text(body: Any) -> str:
    try:
        text = body["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise ValueError("no choices[0].message.content in the answer") from None
    if not isinstance(text, str) or not text.strip():
        raise ValueError("empty summary")
    return text.replace("\x00", "").strip()[:MAX_SUMMARY_CHARS]


class ModelSummaries:
    """Asks an OpenAI-compatible chat completions endpoint; the generator when that fails."""

    def __init__(
        self, url: str, *, model: str = DEFAULT_MODEL, api_key: str | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S, policy: TargetPolicy = LLM_POLICY,
    ) -> None:
        self.url = completions_url(url)
        self.model = model
        self.api_key = api_key
        self.timeout_s = timeout_s
        self.policy = policy

    async def write(self, summary: PersonSummary) -> str:
        try:
            return await asyncio.wait_for(self._ask(summary), self.timeout_s)
        except Exception as err:  # noqa: BLE001 - any failure of the model falls back to the generator
            log.warning("summary model unavailable (%s); using the built-in generator", type(err).__name__)
            return generated_summary(summary)

    async def _ask(self, summary: PersonSummary) -> str:
        request = {
            "model": self.model,
            "temperature": 0,
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": json.dumps(summary_facts(summary), ensure_ascii=False)},
            ],
        }
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        async with httpx.AsyncClient(
            transport=guarded_transport(self.policy), timeout=self.timeout_s, follow_redirects=False
        ) as client:
            response = await client.post(self.url, json=request, headers=headers)
            response.raise_for_status()
            return _answer_text(response.json())


def summary_writer(settings: Any) -> SummaryWriter:
    """The model writer when `summary_llm_url` is set, else the generator."""
    url = getattr(settings, "summary_llm_url", None)
    if not url:
        return GeneratedSummaries()
    return ModelSummaries(
        url,
        model=getattr(settings, "summary_llm_model", None) or DEFAULT_MODEL,
        api_key=getattr(settings, "summary_llm_api_key", None),
        timeout_s=getattr(settings, "summary_llm_timeout_s", None) or DEFAULT_TIMEOUT_S,
    )
