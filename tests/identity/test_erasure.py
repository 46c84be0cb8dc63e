"""Erasure and retention leave nothing behind: PostgreSQL, the vector store, the data directory, the NATS stream,
and (through `identity.erased`) the customers service's carts and journeys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from footfall.services.customers.commerce.domain import CartDraft
from footfall.services.customers.runtime import start_customers
from footfall.services.customers.service import CustomersConfig
from footfall.services.customers.store import complete_journey
from footfall.v1 import events_pb2, identity_pb2
from nats.js.errors import NotFoundError

from tests.conftest import unique_org
from tests.customers.test_erasure import holdings, visit
from tests.customers.test_events import wait_for
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


async def _stream_payloads(stack: Stack, org: str) -> list[bytes]:
    """Every message of the organisation still retained in the JetStream stream."""
    subject, seq, found = stack.bus.subject(org, "*", "*"), 1, []
    while True:
        try:
            msg = await stack.bus.js.get_msg(stack.bus.stream, seq, subject=subject, next=True)
        except NotFoundError:
            return found
        found.append(msg.data or b"")
        seq = (msg.seq or seq) + 1


async def test_erasing_a_customer_leaves_nothing_of_them_anywhere(stack: Stack) -> None:
    """End to end: a customer enrolled, seen on a camera (a person with a crop), holding a cart and visits in the
    customers service; erased, nothing leads back to them in any store identity writes to or informs."""
    org = unique_org("idgone")
    customers = await start_customers(stack.settings, stack.db, stack.bus, None,
                                      config=CustomersConfig(idle_flush_s=3600))  # consumes identity.erased
    try:
        enrolled = await stack.register(org, "obama", 0)
        watch = await stack.watch(org)
        await stack.bus.publish(stack.crop_event(org, "obama", 1, "DOOR", "g-1"))
        identified = events_pb2.CustomerIdentified()
        assert (await watch.next("customer_identified")).payload.Unpack(identified)
        person = identified.person_id
        commerce = customers.servicer.commerce
        anonymous_cart = await commerce.create_cart(org, CartDraft(person_id=person, table_number=3))
        customer_cart = await commerce.create_cart(org, CartDraft(person_id=person,
                                                                  customer_id=enrolled.customer_id))
        async with stack.db.tenant(org) as conn:
            await complete_journey(conn, org, visit(person, datetime.now(UTC).timestamp() - 600))
        assert person in {p for _, p, _ in (await holdings(stack.db, org))["carts"]}

        reply = await stack.identity.EraseCustomer(
            identity_pb2.EraseCustomerRequest(customer_id=enrolled.customer_id), metadata=stack.md(org))
        assert person in reply.report.person_ids

        async def unlinked() -> dict[str, Any] | None:
            held = await holdings(stack.db, org)
            names = {p for _, p, _ in held["carts"]} | {c for _, c in held["journeys"]}
            return held if not names & set(reply.report.person_ids) else None

        held = await wait_for(unlinked)
    finally:
        await customers.stop()
    carts = {cart_id: (holder, customer) for cart_id, holder, customer in held["carts"]}
    assert carts[customer_cart.id] == (None, enrolled.customer_id)  # the customer's own record stays theirs
    assert carts[anonymous_cart.id][1] is None and carts[anonymous_cart.id][0].startswith("erased-")
    assert [holder.startswith("erased-") for _, holder in held["journeys"]] == [True]

    assert await _rows(stack, org) == dict.fromkeys(TABLES, 0)
    assert await stack.runtime.deps.vectors.count(org) == 0
    assert _files(stack, org) == []
    # What NATS still holds of the organisation (identity's own events, the erasure announced): no face crop,
    # no image of any kind (JPEG's start-of-image marker).
    retained = await _stream_payloads(stack, org)
    assert retained and not [m for m in retained if b"\xff\xd8\xff" in m]
    with pytest.raises(NotFoundError):
        await stack.bus.js.get_last_msg(stack.bus.stream, stack.bus.subject(org, "vision", "face_crop"))


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
