"""`open_vector_store(settings)`: the embedded store by default, a Qdrant server when a URL is set."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from footfall.services.core.config import Settings
from footfall.services.core.errors import Unavailable
from footfall.services.identity.vectors import EdgeFaceVectorStore, ServerFaceVectorStore, open_vector_store
from footfall.services.identity.vectors.factory import vector_store_for


async def test_default_is_the_embedded_store_in_the_data_dir(tmp_path: Path) -> None:
    store = await open_vector_store(Settings(data_dir=tmp_path, qdrant_url=None))
    try:
        assert isinstance(store, EdgeFaceVectorStore)
        assert store.path == tmp_path / "qdrant" / "faces"
        assert (store.path / "segments").is_dir()
        assert await store.count("shop1") == 0
    finally:
        await store.close()


async def test_a_url_selects_the_server_store() -> None:
    store = vector_store_for(Settings(qdrant_url="http://qdrant.example:6333", qdrant_collection="faces_eu"))
    try:
        assert isinstance(store, ServerFaceVectorStore)
        assert store.collection == "faces_eu"
    finally:
        await store.close()


async def test_an_unreachable_server_is_unavailable_without_its_details() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(Unavailable) as raised:
        await open_vector_store(Settings(qdrant_url=f"http://127.0.0.1:{port}"))
    assert str(raised.value) == "face vector store unavailable"
