"""The embedded store's erasure reaches the disk: after a delete returns, no file under its data directory
holds the erased face's vector, id or links (the shard runs without a WAL and vacuums on every delete)."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import numpy as np

from footfall.services.identity.vectors import EdgeFaceVectorStore, FaceVector

RNG = np.random.default_rng(11)
# Links are made of letters that never occur in hex, digits or the payload's keys, so a piece of one found on
# disk is that link and not a timestamp or another id.
LINK_LETTERS = str.maketrans("0123456789abcdef", "ghijklmnopqrstuv")
# A piece is 10 letters: 16**10 possible pieces, so another face's link (which stays on disk) never shares one
# by chance; with 6-letter pieces the chance was about 1 in 1,000 per run, and one run found a "leak" that way.
PIECE = 10
LINK_RUN = re.compile(rb"[g-v]{%d,}" % PIECE)


def random_link() -> str:
    return uuid.uuid4().hex.translate(LINK_LETTERS)


def customer_face() -> FaceVector:
    return FaceVector(
        id=str(uuid.uuid4()),
        vector=RNG.normal(scale=0.09, size=128).astype(np.float32).tolist(),
        person_id=random_link(),
        customer_id=random_link(),
        consent_id=random_link(),
    )


def pieces(link: str | None, size: int = PIECE) -> set[bytes]:
    """Every `size`-byte piece of a link: payloads are stored LZ4-compressed, which may replace a few bytes
    of a string with a back-reference (a random link keeps literal stretches far longer than a piece), so a
    link counts as present when any piece of it is."""
    text = str(link)
    return {text[i : i + size].encode() for i in range(len(text) - size + 1)}


def found_on_disk(root: Path, faces: list[FaceVector]) -> dict[str, set[str]]:
    """For each face, which of its traces (vector, id, person, customer, consent) files under `root` hold."""
    found: dict[str, set[str]] = {face.id: set() for face in faces}
    for file in root.rglob("*"):
        if not file.is_file():
            continue
        content = file.read_bytes().rstrip(b"\0")  # segment files are preallocated with zeros
        on_disk = {run[i : i + PIECE] for run in LINK_RUN.findall(content) for i in range(len(run) - PIECE + 1)}
        for face in faces:
            point = uuid.UUID(face.id)
            raw = {
                "vector": [np.asarray(face.vector, dtype=np.float32).tobytes()[:64]],
                "id": [face.id.encode(), point.bytes, point.bytes[::-1]],
            }
            found[face.id] |= {name for name, needles in raw.items() if any(n in content for n in needles)}
            links = {"person": face.person_id, "customer": face.customer_id, "consent": face.consent_id}
            found[face.id] |= {name for name, link in links.items() if pieces(link) & on_disk}
    return found


async def _erase_and_scan(
    store: EdgeFaceVectorStore, path: Path, others: list[FaceVector], remaining: int
) -> None:
    by_person, by_customer, by_id = customer_face(), customer_face(), customer_face()
    erased = [by_person, by_customer, by_id]
    await store.upsert("shop1", [*erased, *others])
    # the scan finds what is there: vectors and links are on disk before erasure
    for traces in found_on_disk(path, erased).values():
        assert {"vector", "person", "customer", "consent"} <= traces

    await store.delete_person("shop1", str(by_person.person_id))
    await store.delete_customer("shop1", str(by_customer.customer_id))
    await store.delete_ids("shop1", [by_id.id])

    assert found_on_disk(path, erased) == {face.id: set() for face in erased}
    for face in erased:
        assert await store.search("shop1", face.vector, limit=5, max_distance=0.6) == []
    assert await store.count("shop1") == remaining


async def test_erasure_leaves_no_bytes_in_a_small_shard(tmp_path: Path) -> None:
    path = tmp_path / "qdrant"
    store = EdgeFaceVectorStore(path)
    await store.ensure_collection()
    try:
        await _erase_and_scan(store, path, [customer_face()], remaining=1)
    finally:
        await store.close()


async def test_erasure_leaves_no_bytes_after_segments_were_optimised(tmp_path: Path) -> None:
    """25k faces pass the optimizer's threshold: segments become read-only; erasure must rewrite them."""
    path = tmp_path / "qdrant"
    store = EdgeFaceVectorStore(path)
    await store.ensure_collection()
    try:
        crowd = RNG.normal(scale=0.09, size=(25_000, 128)).astype(np.float32)
        for start in range(0, len(crowd), 5_000):
            batch = crowd[start : start + 5_000]
            await store.upsert("shop1", [FaceVector(id=str(uuid.uuid4()), vector=v.tolist()) for v in batch])
        assert any((path / "segments").rglob("matrix.dat")), "expected an optimised (read-only) segment"
        await _erase_and_scan(store, path, [], remaining=25_000)
    finally:
        await store.close()
