"""Faces in a Qdrant server, through `qdrant-client` (used when `FOOTFALL_QDRANT_URL` is set).

The collection mirrors the embedded store: 128-d euclidean vectors and the same payload. Unlike the
embedded store it keeps an HNSW graph per organisation only (`m=0, payload_m=16`, Qdrant's multitenancy
layout with `org` as the tenant key), since a server may hold many organisations' faces. Deleted points
are vacuumed as soon as the server's optimizer allows (`deleted_threshold=0`, smallest
`vacuum_min_vector_number`); the server's WAL keeps written operations until it rotates, so size its
`wal_capacity_mb` small where erasure must reach the disk quickly.

The contract suite runs this class against qdrant-client's local mode (`AsyncQdrantClient(path=...)`),
which implements the same client API in Python; no Qdrant server binary is available to the tests.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from qdrant_client import AsyncQdrantClient, models

from footfall.services.core.errors import FootfallError, Unavailable
from footfall.services.identity.vectors.store import (
    CREATED_AT,
    CUSTOMER_ID,
    FACE_VECTOR_SIZE,
    ORG,
    PERSON_ID,
    FaceMatch,
    FaceVector,
    checked_id,
    checked_limit,
    checked_org,
    checked_vector,
    match_of,
    payload_of,
)

T = TypeVar("T")


def _is(key: str, value: str) -> models.FieldCondition:
    return models.FieldCondition(key=key, match=models.MatchValue(value=value))


def _of_org(org: str, *more: Any) -> models.Filter:
    return models.Filter(must=[_is(ORG, org), *more])


class ServerFaceVectorStore:
    """Faces in the collection `collection` of the Qdrant that `client` talks to."""

    def __init__(self, client: AsyncQdrantClient, collection: str = "faces") -> None:
        self.client = client
        self.collection = collection

    async def _call(self, awaitable: Awaitable[T]) -> T:
        """Callers see `Unavailable` without the client's message (it may quote the server's address)."""
        try:
            return await awaitable
        except FootfallError:
            raise
        except Exception as err:
            raise Unavailable("face vector store unavailable") from err

    async def ensure_collection(self) -> None:
        if await self._call(self.client.collection_exists(self.collection)):
            info = await self._call(self.client.get_collection(self.collection))
            params = info.config.params.vectors
            if not isinstance(params, models.VectorParams) or (params.size, params.distance) != (
                FACE_VECTOR_SIZE,
                models.Distance.EUCLID,
            ):
                raise Unavailable(
                    f"Qdrant collection {self.collection!r} is not a 128-d euclidean face collection"
                )
            return
        await self._call(
            self.client.create_collection(
                self.collection,
                vectors_config=models.VectorParams(size=FACE_VECTOR_SIZE, distance=models.Distance.EUCLID),
                hnsw_config=models.HnswConfigDiff(m=0, payload_m=16),
                optimizers_config=models.OptimizersConfigDiff(
                    deleted_threshold=0.0, vacuum_min_vector_number=100
                ),
            )
        )
        for field, schema in (
            (ORG, models.KeywordIndexParams(type=models.KeywordIndexType.KEYWORD, is_tenant=True)),
            (PERSON_ID, models.PayloadSchemaType.KEYWORD),
            (CUSTOMER_ID, models.PayloadSchemaType.KEYWORD),
            (CREATED_AT, models.PayloadSchemaType.FLOAT),
        ):
            await self._call(self.client.create_payload_index(self.collection, field, field_schema=schema))

    async def close(self) -> None:
        await self.client.close()

    async def upsert(self, org: str, faces: Sequence[FaceVector]) -> None:
        org = checked_org(org)
        points = [
            models.PointStruct(
                id=checked_id(f.id), vector=checked_vector(f.vector), payload=payload_of(org, f)
            )
            for f in faces
        ]
        if points:
            # update_filter only gates replacing existing points: another organisation's id stays untouched.
            await self._call(
                self.client.upsert(self.collection, points, wait=True, update_filter=_of_org(org))
            )

    async def _delete(self, filter_: models.Filter) -> None:
        selector = models.FilterSelector(filter=filter_)
        await self._call(self.client.delete(self.collection, points_selector=selector, wait=True))

    async def delete_ids(self, org: str, ids: Sequence[str]) -> None:
        wanted = [checked_id(i) for i in ids]
        if wanted:
            await self._delete(_of_org(checked_org(org), models.HasIdCondition(has_id=wanted)))

    async def delete_person(self, org: str, person_id: str) -> None:
        await self._delete(_of_org(checked_org(org), _is(PERSON_ID, str(person_id))))

    async def delete_customer(self, org: str, customer_id: str) -> None:
        await self._delete(_of_org(checked_org(org), _is(CUSTOMER_ID, str(customer_id))))

    async def delete_org(self, org: str) -> None:
        await self._delete(_of_org(checked_org(org)))

    async def delete_unlinked_before(self, cutoff: datetime) -> None:
        await self._delete(
            models.Filter(
                must=[
                    models.FieldCondition(key=CREATED_AT, range=models.Range(lt=cutoff.timestamp())),
                    models.IsEmptyCondition(is_empty=models.PayloadField(key=CUSTOMER_ID)),
                ]
            )
        )

    async def search(
        self, org: str, vector: Sequence[float], *, limit: int = 5, max_distance: float | None = None
    ) -> list[FaceMatch]:
        response = await self._call(
            self.client.query_points(
                self.collection,
                query=checked_vector(vector),
                query_filter=_of_org(checked_org(org)),
                limit=checked_limit(limit),
                score_threshold=max_distance,
                with_payload=True,
            )
        )
        return [match_of(p.id, p.score, p.payload) for p in response.points]

    async def count(self, org: str) -> int:
        result = await self._call(
            self.client.count(self.collection, count_filter=_of_org(checked_org(org)), exact=True)
        )
        return result.count
