"""Face vectors for identity: one store interface (`FaceVectorStore`) over Qdrant, embedded or a server."""

from footfall.services.identity.vectors.edge import EdgeFaceVectorStore
from footfall.services.identity.vectors.factory import open_vector_store, vector_store_for
from footfall.services.identity.vectors.server import ServerFaceVectorStore
from footfall.services.identity.vectors.store import (
    DLIB_MATCH_DISTANCE,
    FACE_VECTOR_SIZE,
    FaceMatch,
    FaceVector,
    FaceVectorStore,
)

__all__ = [
    "DLIB_MATCH_DISTANCE",
    "FACE_VECTOR_SIZE",
    "EdgeFaceVectorStore",
    "FaceMatch",
    "FaceVector",
    "FaceVectorStore",
    "ServerFaceVectorStore",
    "open_vector_store",
    "vector_store_for",
]
