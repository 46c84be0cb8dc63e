"""The embedded face store: Qdrant Edge (`qdrant-edge-py`), Qdrant's engine inside this process.

Why it is configured the way it is:

- **Exact search, no HNSW graph** (`m=0, payload_m=0`). A recognition must not miss the enrolled face, and
  a brute-force scan over one organisation's faces is fast enough: 100k faces in a single organisation,
  p95 ~7 ms on two cores (bench/face_vectors.py). Big appendable segments are still converted by the
  optimizer into compact read-only ones, which scan faster.
- **No write-ahead log; flush after every write.** The WAL keeps every upserted vector and payload until
  its 32 MiB file rotates, long after an erasure. Without it a write is durable once `flush()` returns,
  which every method waits for.
- **Vacuum on every deletion** (`deleted_threshold=0`, `vacuum_min_vector_number=1`). Qdrant only marks
  deleted points; the bytes stay in the segment files until the segment is rewritten. After each delete
  (and each upsert, which may replace a vector) the store runs the optimizer, which rewrites every segment
  with a deleted point, so an erased face leaves nothing in `data_dir/qdrant`.

The shard is a Rust object whose calls release the GIL; they run in worker threads. Writes (and the
optimizer) are serialised by one lock; searches run concurrently with each other.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import qdrant_edge as qe

from footfall.services.core.errors import Unavailable
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


def _config() -> qe.EdgeConfig:
    return qe.EdgeConfig(
        vectors=qe.EdgeVectorParams(size=FACE_VECTOR_SIZE, distance=qe.Distance.Euclid),
        hnsw_config=qe.HnswIndexConfig(m=0, ef_construct=100, full_scan_threshold=10_000, payload_m=0),
        optimizers=qe.EdgeOptimizersConfig(deleted_threshold=0.0, vacuum_min_vector_number=1),
        wal_enabled=False,
    )


def _is(key: str, value: str) -> qe.FieldCondition:
    return qe.FieldCondition(key, match=qe.MatchValue(value))


def _of_org(org: str, *more: Any) -> qe.Filter:
    return qe.Filter(must=[_is(ORG, org), *more])


class EdgeFaceVectorStore:
    """Faces in a Qdrant Edge shard at `path` (the factory uses `data_dir/qdrant/<collection>`)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._shard: qe.EdgeShard | None = None
        self._write_lock = asyncio.Lock()

    # Lifecycle

    async def ensure_collection(self) -> None:
        async with self._write_lock:
            if self._shard is None:
                self._shard = await asyncio.to_thread(self._open)

    def _open(self) -> qe.EdgeShard:
        segments = self.path / "segments"
        try:
            if segments.is_dir() and any(segments.iterdir()):
                return qe.EdgeShard.load(str(self.path), _config())
            self.path.mkdir(parents=True, exist_ok=True)
            shard = qe.EdgeShard.create(str(self.path), _config())
        except Exception as err:  # the engine raises plain Exception with a message
            raise Unavailable(f"cannot open the embedded face store at {self.path}") from err
        for field, schema in (
            (ORG, qe.KeywordIndexParams(is_tenant=True)),
            (PERSON_ID, qe.PayloadSchemaType.Keyword),
            (CUSTOMER_ID, qe.PayloadSchemaType.Keyword),
            (CREATED_AT, qe.PayloadSchemaType.Float),
        ):
            shard.update(qe.UpdateOperation.create_field_index(field, schema))
        shard.flush()
        return shard

    async def close(self) -> None:
        async with self._write_lock:
            shard, self._shard = self._shard, None
            if shard is not None:
                await asyncio.to_thread(shard.close)

    @property
    def shard(self) -> qe.EdgeShard:
        if self._shard is None:
            raise Unavailable("face vector store is not open")
        return self._shard

    # Writes: applied, optimised (vacuums deleted points) and flushed before returning.

    async def _write(self, operation: qe.UpdateOperation) -> None:
        async with self._write_lock:
            shard = self.shard
            await asyncio.to_thread(self._apply, shard, operation)

    @staticmethod
    def _apply(shard: qe.EdgeShard, operation: qe.UpdateOperation) -> None:
        shard.update(operation)
        shard.optimize()
        shard.flush()

    async def upsert(self, org: str, faces: Sequence[FaceVector]) -> None:
        org = checked_org(org)
        points = [qe.Point(checked_id(f.id), checked_vector(f.vector), payload_of(org, f)) for f in faces]
        if points:
            # The condition only gates replacing existing points: another organisation's id stays untouched.
            await self._write(qe.UpdateOperation.upsert_points(points, condition=_of_org(org)))

    async def delete_ids(self, org: str, ids: Sequence[str]) -> None:
        wanted = {uuid.UUID(checked_id(i)) for i in ids}
        if wanted:
            condition = _of_org(checked_org(org), qe.HasIdCondition(wanted))
            await self._write(qe.UpdateOperation.delete_points_by_filter(condition))

    async def delete_person(self, org: str, person_id: str) -> None:
        filter_ = _of_org(checked_org(org), _is(PERSON_ID, str(person_id)))
        await self._write(qe.UpdateOperation.delete_points_by_filter(filter_))

    async def delete_customer(self, org: str, customer_id: str) -> None:
        filter_ = _of_org(checked_org(org), _is(CUSTOMER_ID, str(customer_id)))
        await self._write(qe.UpdateOperation.delete_points_by_filter(filter_))

    async def delete_org(self, org: str) -> None:
        await self._write(qe.UpdateOperation.delete_points_by_filter(_of_org(checked_org(org))))

    async def delete_unlinked_before(self, cutoff: datetime) -> None:
        filter_ = qe.Filter(
            must=[
                qe.FieldCondition(CREATED_AT, range=qe.RangeFloat(lt=cutoff.timestamp())),
                qe.IsEmptyCondition(CUSTOMER_ID),
            ]
        )
        await self._write(qe.UpdateOperation.delete_points_by_filter(filter_))

    # Reads

    async def search(
        self, org: str, vector: Sequence[float], *, limit: int = 5, max_distance: float | None = None
    ) -> list[FaceMatch]:
        request = qe.QueryRequest(
            limit=checked_limit(limit),
            query=qe.Query.Nearest(checked_vector(vector)),
            filter=_of_org(checked_org(org)),
            score_threshold=max_distance,
            params=qe.SearchParams(exact=True),
            with_payload=True,
        )
        found = await asyncio.to_thread(self.shard.query, request)
        return [match_of(p.id, p.score, p.payload) for p in found]

    async def count(self, org: str) -> int:
        request = qe.CountRequest(exact=True, filter=_of_org(checked_org(org)))
        return await asyncio.to_thread(self.shard.count, request)
