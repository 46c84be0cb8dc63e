"""The face vector store: one interface, whichever Qdrant holds the vectors.

Vectors are dlib's 128-d face descriptors compared by **euclidean distance**: dlib calibrated its ResNet so
that two photos of one person lie closer than ~0.6 (`DLIB_MATCH_DISTANCE`), and the descriptors are not
unit length, so cosine would discard the scale the threshold was calibrated on. A search therefore returns
distances (smaller is closer) and `max_distance` is an upper bound.

Every operation names an organisation: a search never sees another organisation's faces, a delete never
touches them and an upsert never overwrites them. Ids are UUID strings chosen by the caller. Deletes are
erasure: when they return, the faces are gone from every search and count, and (for the embedded store)
from the files on disk.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from footfall.services.core.errors import InvalidArgument

FACE_VECTOR_SIZE = 128
# dlib's documented same-person distance for its face-recognition ResNet (LFW accuracy 99.38 % at 0.6).
DLIB_MATCH_DISTANCE = 0.6
MAX_SEARCH_LIMIT = 100

# Payload keys (the same in every implementation; `created_at` is epoch seconds so ranges work everywhere).
ORG = "org"
CUSTOMER_ID = "customer_id"
PERSON_ID = "person_id"
CONSENT_ID = "consent_id"
CREATED_AT = "created_at"


@dataclass(frozen=True, slots=True)
class FaceVector:
    """One stored face: its descriptor and who it belongs to. `customer_id` is set for enrolled customers,
    `person_id` for anyone seen; `consent_id` names the consent record that allowed storing it."""

    id: str
    vector: Sequence[float]
    person_id: str | None = None
    customer_id: str | None = None
    consent_id: str | None = None
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class FaceMatch:
    id: str
    distance: float
    org: str
    person_id: str | None
    customer_id: str | None
    consent_id: str | None
    created_at: datetime | None


@runtime_checkable
class FaceVectorStore(Protocol):
    """What identity needs from a vector database. Implementations: `EdgeFaceVectorStore` (embedded,
    default) and `ServerFaceVectorStore` (a Qdrant server); `open_vector_store(settings)` picks one."""

    async def ensure_collection(self) -> None:
        """Create the collection (128-d, euclidean, payload indexes) if missing; check it if present."""
        ...

    async def upsert(self, org: str, faces: Sequence[FaceVector]) -> None:
        """Insert or replace faces of `org`; an id already used by another organisation is left untouched."""
        ...

    async def search(
        self, org: str, vector: Sequence[float], *, limit: int = 5, max_distance: float | None = None
    ) -> list[FaceMatch]:
        """The `limit` nearest faces of `org`, closest first, at most `max_distance` away when given."""
        ...

    async def delete_ids(self, org: str, ids: Sequence[str]) -> None: ...

    async def delete_person(self, org: str, person_id: str) -> None: ...

    async def delete_customer(self, org: str, customer_id: str) -> None: ...

    async def delete_org(self, org: str) -> None: ...

    async def delete_unlinked_before(self, cutoff: datetime) -> None:
        """Retention: erase, in every organisation, faces linked to no customer stored before `cutoff`."""
        ...

    async def count(self, org: str) -> int: ...

    async def close(self) -> None: ...


def checked_org(org: str) -> str:
    if not org:
        raise InvalidArgument("organisation is required")
    return org


def checked_vector(vector: Sequence[float]) -> list[float]:
    values = [float(v) for v in vector]
    if len(values) != FACE_VECTOR_SIZE:
        raise InvalidArgument(f"face vector must have {FACE_VECTOR_SIZE} values, got {len(values)}")
    if not all(math.isfinite(v) for v in values):
        raise InvalidArgument("face vector values must be finite numbers")
    return values


def checked_id(point_id: str) -> str:
    try:
        return str(uuid.UUID(str(point_id)))
    except ValueError:
        raise InvalidArgument("face vector id must be a UUID") from None


def checked_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_SEARCH_LIMIT:
        raise InvalidArgument(f"limit must be between 1 and {MAX_SEARCH_LIMIT}")
    return limit


def payload_of(org: str, face: FaceVector) -> dict[str, Any]:
    """The stored payload; absent links are left out (so "no customer" is an is-empty condition)."""
    created = face.created_at or datetime.now(UTC)
    if created.tzinfo is None:
        raise InvalidArgument("created_at must carry a time zone")
    payload: dict[str, Any] = {ORG: org, CREATED_AT: created.timestamp()}
    for key, value in (
        (PERSON_ID, face.person_id),
        (CUSTOMER_ID, face.customer_id),
        (CONSENT_ID, face.consent_id),
    ):
        if value:
            payload[key] = str(value)
    return payload


def match_of(point_id: Any, distance: float, payload: dict[str, Any] | None) -> FaceMatch:
    payload = payload or {}
    created = payload.get(CREATED_AT)
    return FaceMatch(
        id=str(point_id),
        distance=float(distance),
        org=str(payload.get(ORG, "")),
        person_id=payload.get(PERSON_ID),
        customer_id=payload.get(CUSTOMER_ID),
        consent_id=payload.get(CONSENT_ID),
        created_at=datetime.fromtimestamp(created, UTC) if created is not None else None,
    )
