"""Choose the face store from the settings: a Qdrant server when `qdrant_url` is set, else embedded."""

from __future__ import annotations

from qdrant_client import AsyncQdrantClient

from footfall.services.core.config import Settings
from footfall.services.identity.vectors.edge import EdgeFaceVectorStore
from footfall.services.identity.vectors.server import ServerFaceVectorStore
from footfall.services.identity.vectors.store import FaceVectorStore


def vector_store_for(settings: Settings) -> FaceVectorStore:
    """The store the settings name, not yet opened."""
    if settings.qdrant_url:
        # No version check: it is a blocking request made while constructing, inside the event loop.
        client = AsyncQdrantClient(
            url=settings.qdrant_url, api_key=settings.qdrant_api_key, timeout=10, check_compatibility=False
        )
        return ServerFaceVectorStore(client, settings.qdrant_collection)
    return EdgeFaceVectorStore(settings.data_dir / "qdrant" / settings.qdrant_collection)


async def open_vector_store(settings: Settings) -> FaceVectorStore:
    """The store the settings name, with its collection created or checked (raises `Unavailable`)."""
    store = vector_store_for(settings)
    try:
        await store.ensure_collection()
    except BaseException:
        await store.close()
        raise
    return store
