"""Face vector store benchmark: search latency of the embedded store (Qdrant Edge) at 1k/10k/100k faces.

    .venv/bin/python bench/face_vectors.py                       # 1k, 10k, 100k faces over 5 orgs
    .venv/bin/python bench/face_vectors.py --orgs 1 --sizes 100000 --json bench/results/faces.json

For each size a fresh store in a temporary directory is filled with random unit vectors (128-d) spread
evenly over `--orgs` organisations, in batches through the store's own `upsert` (so the optimizer has run
as it does in production). Then `--queries` searches, each for a random organisation with a vector near one
of its faces (limit 5, dlib's 0.6 distance bound), are timed one after another through the async API
(worker thread included): p50/p95/max. Also timed: filling (faces/s) and one erasure (delete a person,
vacuum, flush) at that size. The issue asks for p95 <= 20 ms at 100k on a 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

from footfall.services.identity.vectors import DLIB_MATCH_DISTANCE, EdgeFaceVectorStore, FaceVector


def unit_vectors(rng: np.random.Generator, count: int) -> np.ndarray:
    vectors = rng.normal(size=(count, 128)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


async def bench_size(
    size: int, orgs: int, queries: int, batch: int, rng: np.random.Generator
) -> dict[str, float]:
    vectors = unit_vectors(rng, size)
    org_of = [f"org{i % orgs}" for i in range(size)]
    with tempfile.TemporaryDirectory(prefix="ff-faces-") as tmp:
        store = EdgeFaceVectorStore(Path(tmp) / "qdrant")
        await store.ensure_collection()
        try:
            started = time.perf_counter()
            for org_index in range(orgs):
                members = range(org_index, size, orgs)
                faces = [
                    FaceVector(id=str(uuid.uuid4()), vector=vectors[i].tolist(), person_id=f"p{i}")
                    for i in members
                ]
                for start in range(0, len(faces), batch):
                    await store.upsert(f"org{org_index}", faces[start : start + batch])
            fill_s = time.perf_counter() - started

            latencies = []
            for _ in range(queries):
                target = int(rng.integers(size))
                probe = vectors[target] + rng.normal(scale=0.01, size=128).astype(np.float32)
                t0 = time.perf_counter()
                await store.search(org_of[target], probe.tolist(), limit=5, max_distance=DLIB_MATCH_DISTANCE)
                latencies.append(time.perf_counter() - t0)

            t0 = time.perf_counter()
            await store.delete_person(org_of[size // 2], f"p{size // 2}")
            erase_s = time.perf_counter() - t0
            assert await store.count(org_of[0]) > 0
        finally:
            await store.close()
    ms = np.asarray(latencies) * 1000
    return {
        "faces": size,
        "orgs": orgs,
        "fill_faces_per_s": round(size / fill_s),
        "search_p50_ms": round(float(np.percentile(ms, 50)), 2),
        "search_p95_ms": round(float(np.percentile(ms, 95)), 2),
        "search_max_ms": round(float(ms.max()), 2),
        "erase_person_s": round(erase_s, 2),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--orgs", type=int, default=5)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    results = []
    print(f"{'faces':>7} {'orgs':>4} {'fill/s':>8} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} {'erase s':>7}")
    for size in args.sizes:
        row = await bench_size(size, args.orgs, args.queries, args.batch, rng)
        results.append(row)
        print(
            f"{row['faces']:>7} {row['orgs']:>4} {row['fill_faces_per_s']:>8} {row['search_p50_ms']:>7} "
            f"{row['search_p95_ms']:>7} {row['search_max_ms']:>7} {row['erase_person_s']:>7}"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        machine = {"cpus": os.cpu_count(), "machine": platform.machine(), "python": platform.python_version()}
        args.json.write_text(json.dumps({"machine": machine, "results": results}, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
