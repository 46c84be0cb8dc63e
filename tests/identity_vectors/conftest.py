"""One contract suite, every face store: the embedded Qdrant Edge shard and qdrant-client.

qdrant-client runs in its local mode (`AsyncQdrantClient(path=...)`): no Qdrant server binary can be
obtained here, and local mode implements the same client API the server store calls.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from qdrant_client import AsyncQdrantClient

from footfall.services.identity.vectors import EdgeFaceVectorStore, FaceVectorStore, ServerFaceVectorStore


@dataclass
class StoreKit:
    kind: str
    path: Path
    open_store: Callable[[], FaceVectorStore]


def _edge(path: Path) -> FaceVectorStore:
    return EdgeFaceVectorStore(path)


def _client_local(path: Path) -> FaceVectorStore:
    return ServerFaceVectorStore(AsyncQdrantClient(path=str(path)), "faces")


OPENERS = {"edge": _edge, "qdrant-client-local": _client_local}


@pytest.fixture(params=sorted(OPENERS))
async def kit(request: pytest.FixtureRequest, tmp_path: Path) -> StoreKit:
    opener = OPENERS[request.param]
    path = tmp_path / "qdrant"
    return StoreKit(request.param, path, lambda: opener(path))


@pytest.fixture
async def store(kit: StoreKit) -> AsyncIterator[FaceVectorStore]:
    opened = kit.open_store()
    await opened.ensure_collection()
    yield opened
    await opened.close()
