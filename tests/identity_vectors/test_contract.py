"""The face store contract, run against every implementation (see conftest.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from footfall.services.core.errors import InvalidArgument
from footfall.services.identity.vectors import DLIB_MATCH_DISTANCE, FaceVector, FaceVectorStore

from .conftest import StoreKit

pytestmark = pytest.mark.filterwarnings("ignore:Payload indexes have no effect")

RNG = np.random.default_rng(7)


def descriptor() -> np.ndarray:
    """A random vector shaped like a dlib descriptor (norm ~1, strangers ~1.4 apart)."""
    return RNG.normal(scale=0.09, size=128).astype(np.float32)


def near(vector: np.ndarray, distance: float) -> np.ndarray:
    """A vector exactly `distance` away from `vector` (another photo of the same face)."""
    step = RNG.normal(size=128)
    return (vector + step / np.linalg.norm(step) * distance).astype(np.float32)


def face(vector: np.ndarray, **links: str | datetime | None) -> FaceVector:
    return FaceVector(id=str(uuid.uuid4()), vector=vector.tolist(), **links)  # type: ignore[arg-type]


async def test_search_finds_the_nearest_face_with_its_links(store: FaceVectorStore) -> None:
    alice, bob = descriptor(), descriptor()
    created = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
    enrolled = face(
        alice, person_id="p-alice", customer_id="c-alice", consent_id="k-alice", created_at=created
    )
    await store.upsert("shop1", [enrolled, face(bob, person_id="p-bob")])

    matches = await store.search("shop1", near(alice, 0.3), limit=2)

    assert [m.person_id for m in matches] == ["p-alice", "p-bob"]
    top = matches[0]
    assert top.id == enrolled.id and top.org == "shop1"
    assert (top.customer_id, top.consent_id, top.created_at) == ("c-alice", "k-alice", created)
    assert top.distance == pytest.approx(0.3, abs=1e-3)
    assert matches[1].distance > 1.0 and matches[1].customer_id is None
    assert await store.count("shop1") == 2


async def test_another_orgs_face_is_never_returned_even_when_closer(store: FaceVectorStore) -> None:
    probe = descriptor()
    await store.upsert("shop1", [face(near(probe, 0.5), person_id="ours")])
    await store.upsert(
        "shop2", [face(probe, person_id="theirs"), face(near(probe, 0.01), person_id="theirs-2")]
    )

    matches = await store.search("shop1", probe, limit=10)

    assert [m.person_id for m in matches] == ["ours"]
    assert await store.search("shop3", probe, limit=10) == []
    assert (await store.count("shop1"), await store.count("shop2"), await store.count("shop3")) == (1, 2, 0)


async def test_max_distance_and_limit_bound_the_matches(store: FaceVectorStore) -> None:
    probe = descriptor()
    distances = [0.1, 0.4, 0.55, 0.7, 0.9]
    await store.upsert("shop1", [face(near(probe, d), person_id=f"at-{d}") for d in distances])

    within = await store.search("shop1", probe, limit=10, max_distance=DLIB_MATCH_DISTANCE)
    assert [m.person_id for m in within] == ["at-0.1", "at-0.4", "at-0.55"]
    assert [m.distance for m in within] == sorted(m.distance for m in within)
    assert [m.person_id for m in await store.search("shop1", probe, limit=2)] == ["at-0.1", "at-0.4"]
    assert await store.search("shop1", near(probe, 0.05), limit=5, max_distance=0.01) == []


async def test_upsert_replaces_a_face_but_never_another_orgs(store: FaceVectorStore) -> None:
    first, better = descriptor(), descriptor()
    mine = face(first, person_id="p1")
    await store.upsert("shop1", [mine])
    await store.upsert("shop1", [FaceVector(id=mine.id, vector=better.tolist(), person_id="p1")])
    hijack = FaceVector(id=mine.id, vector=descriptor().tolist(), person_id="intruder")
    await store.upsert("shop2", [hijack])

    assert await store.count("shop1") == 1
    (top,) = await store.search("shop1", better, limit=5)
    assert (top.id, top.person_id, top.distance) == (mine.id, "p1", pytest.approx(0.0, abs=1e-3))
    assert await store.search("shop1", first, limit=5, max_distance=0.6) == []
    assert await store.count("shop2") == 0


async def test_delete_by_ids_only_within_the_org(store: FaceVectorStore) -> None:
    a, b = face(descriptor(), person_id="a"), face(descriptor(), person_id="b")
    await store.upsert("shop1", [a, b])

    await store.delete_ids("shop2", [a.id])
    assert await store.count("shop1") == 2
    await store.delete_ids("shop1", [a.id])

    assert await store.count("shop1") == 1
    assert await store.search("shop1", np.asarray(a.vector), limit=5, max_distance=0.6) == []


async def test_erasing_a_person_or_a_customer_leaves_nothing_of_them(store: FaceVectorStore) -> None:
    gone, kept, customer = descriptor(), descriptor(), descriptor()
    await store.upsert(
        "shop1",
        [
            face(gone, person_id="p-gone"),
            face(near(gone, 0.2), person_id="p-gone"),
            face(kept, person_id="p-kept"),
        ]
        + [face(near(customer, d), person_id=f"visit-{d}", customer_id="c-gone") for d in (0.0, 0.2, 0.3)],
    )
    await store.upsert("shop2", [face(gone, person_id="p-gone")])  # the same id string in another org

    await store.delete_person("shop1", "p-gone")
    await store.delete_customer("shop1", "c-gone")

    assert await store.count("shop1") == 1
    assert await store.search("shop1", gone, limit=10, max_distance=0.6) == []
    assert await store.search("shop1", customer, limit=10, max_distance=0.6) == []
    assert [m.person_id for m in await store.search("shop1", kept, limit=10)] == ["p-kept"]
    assert await store.count("shop2") == 1


async def test_erasing_an_org_and_unlinked_faces_past_retention(store: FaceVectorStore) -> None:
    now = datetime.now(UTC)
    old, fresh = now - timedelta(hours=30), now - timedelta(hours=1)
    await store.upsert(
        "shop1",
        [
            face(descriptor(), person_id="stranger-old", created_at=old),
            face(descriptor(), person_id="stranger-new", created_at=fresh),
            face(descriptor(), person_id="customer-old", customer_id="c1", created_at=old),
        ],
    )
    await store.upsert("shop2", [face(descriptor(), person_id="stranger-old-2", created_at=old)])
    await store.upsert("shop3", [face(descriptor()), face(descriptor())])

    await store.delete_unlinked_before(now - timedelta(hours=24))
    await store.delete_org("shop3")

    probe_all = [m.person_id for m in await store.search("shop1", descriptor(), limit=10)]
    assert sorted(probe_all) == ["customer-old", "stranger-new"]
    assert (await store.count("shop2"), await store.count("shop3")) == (0, 0)


async def test_faces_survive_a_reopen(kit: StoreKit) -> None:
    vector = descriptor()
    store = kit.open_store()
    await store.ensure_collection()
    await store.upsert("shop1", [face(vector, person_id="p1", customer_id="c1")])
    await store.close()

    reopened = kit.open_store()
    try:
        await reopened.ensure_collection()
        await reopened.ensure_collection()  # idempotent
        (match,) = await reopened.search("shop1", vector, limit=5)
        assert (match.person_id, match.customer_id) == ("p1", "c1")
        assert await reopened.count("shop1") == 1
    finally:
        await reopened.close()


@pytest.mark.parametrize(
    "bad",
    [
        FaceVector(id=str(uuid.uuid4()), vector=[0.1] * 127),
        FaceVector(id=str(uuid.uuid4()), vector=[0.1] * 127 + [float("nan")]),
        FaceVector(id="not-a-uuid", vector=[0.1] * 128),
        FaceVector(id=str(uuid.uuid4()), vector=[0.1] * 128, created_at=datetime(2026, 1, 1)),
    ],
    ids=["short", "nan", "id", "naive-time"],
)
async def test_malformed_faces_are_refused(store: FaceVectorStore, bad: FaceVector) -> None:
    with pytest.raises(InvalidArgument):
        await store.upsert("shop1", [bad])
    assert await store.count("shop1") == 0


async def test_searches_need_an_org_and_a_sane_limit(store: FaceVectorStore) -> None:
    with pytest.raises(InvalidArgument):
        await store.search("", descriptor())
    with pytest.raises(InvalidArgument):
        await store.search("shop1", descriptor(), limit=0)
    with pytest.raises(InvalidArgument):
        await store.search("shop1", [0.0] * 3)
