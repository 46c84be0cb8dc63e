"""Erasure and retention leave nothing behind: PostgreSQL, the vector store, the data directory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from footfall.v1 import events_pb2, identity_pb2

from tests.conftest import unique_org
from tests.identity.conftest import Stack

TABLES = ("identity_persons", "identity_face_vectors", "identity_consents", "identity_tracks")


async def _rows(stack: Stack, org: str) -> dict[str, int]:
    async with stack.db.system() as conn:
        counts = {}
        for table in TABLES:
            cur = await conn.execute(f"SELECT count(*) AS n FROM {table} WHERE org_id = %s", (org,))
            counts[table] = (await cur.fetchone())["n"]
        return counts


def _files(stack: Stack, org: str) -> list[str]:
    root = stack.settings.data_dir / "faces" / org
    return [str(p) for p in root.rglob("*") if p.is_file()] if root.exists() else []


async def test_erasing_a_customer_removes_rows_vectors_images_and_announces_it(stack: Stack) -> None:
    org = unique_org("iderase")
    enrolled = await stack.register(org, "obama", 0)
    watch = await stack.watch(org)
    await stack.bus.publish(stack.crop_event(org, "obama", 1, "DOOR", "e-1"))
    await watch.next("customer_identified")
    assert (await _rows(stack, org))["identity_face_vectors"] == 1 and _files(stack, org)
    assert await stack.runtime.deps.vectors.count(org) == 1

    reply = await stack.identity.EraseCustomer(identity_pb2.EraseCustomerRequest(customer_id=enrolled.customer_id),
                                               metadata=stack.md(org))
    assert enrolled.person_id in reply.report.person_ids and reply.report.face_vectors == 1
    erased = events_pb2.IdentityErased()
    assert (await watch.next("erased")).payload.Unpack(erased)
    assert erased.customer_id == enrolled.customer_id

    assert await _rows(stack, org) == dict.fromkeys(TABLES, 0)
    assert await stack.runtime.deps.vectors.count(org) == 0
    assert _files(stack, org) == []
    recognised = await stack.identity.Recognize(identity_pb2.RecognizeRequest(image=stack.photo("obama", 2)),
                                                metadata=stack.md(org))
    assert recognised.unknown
    assert any(e.action == "identity.erase" for e in await stack.audit_actions(org))


async def test_erasing_an_unknown_person_removes_their_face(stack: Stack) -> None:
    org = unique_org("iderp")
    watch = await stack.watch(org)
    await stack.bus.publish(stack.crop_event(org, "kit", 0, "DOOR", "u-1"))
    joined = events_pb2.PersonJoined()
    assert (await watch.next("person_joined")).payload.Unpack(joined)
    assert await stack.runtime.deps.vectors.count(org) == 1 and _files(stack, org)
    await stack.identity.ErasePerson(identity_pb2.ErasePersonRequest(id=joined.person_id), metadata=stack.md(org))
    assert await _rows(stack, org) == dict.fromkeys(TABLES, 0)
    assert await stack.runtime.deps.vectors.count(org) == 0 and _files(stack, org) == []


async def test_unknown_faces_expire_after_the_retention_but_enrolled_ones_stay(stack: Stack) -> None:
    org = unique_org("idret")
    enrolled = await stack.register(org, "biden", 0)
    created = await stack.identity.CreatePerson(identity_pb2.CreatePersonRequest(
        image=stack.photo("lin"), gender="Male", body_type="Slim"), metadata=stack.md(org))
    assert len(created.vector) == 128 and created.person.image.startswith("people/")
    assert await stack.runtime.deps.vectors.count(org) == 2

    later = datetime.now(UTC) + stack.settings.unknown_face_retention + timedelta(minutes=1)
    assert await stack.runtime.erasure.expire_unknown_faces(later) >= 2
    assert await stack.runtime.deps.vectors.count(org) == 1
    person = (await stack.identity.GetPerson(identity_pb2.GetPersonRequest(id=created.person.id),
                                             metadata=stack.md(org))).person
    assert person.image == "" and person.body_type == "Slim"  # the anonymous row stays, its face does not
    assert [p.split("/faces/")[1] for p in _files(stack, org)] == [f"{org}/enrolled/{enrolled.vector_id}.jpg"]
