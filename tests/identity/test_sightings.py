"""Face crop events from cameras over real NATS: persons, customer identifications, cross-camera identity,
replays that change nothing, and crops that do not stay in the stream."""

from __future__ import annotations

import grpc
import pytest
from footfall.services.core.events import ReceivedEvent
from footfall.services.identity.consumer import decode
from footfall.v1 import events_pb2, identity_pb2
from nats.js.errors import NotFoundError

from tests.conftest import unique_org
from tests.identity.conftest import Stack


async def test_crop_of_a_registered_customer_identifies_them_once_and_a_replay_changes_nothing(stack: Stack) -> None:
    org = unique_org("idcam")
    enrolled = await stack.register(org, "obama", 0, name="Barack")
    watch = await stack.watch(org)
    crop = stack.crop_event(org, "obama", 3, "BAKERY_1", "t-1")
    await stack.bus.publish(crop)

    identified = events_pb2.CustomerIdentified()
    assert (await watch.next("customer_identified")).payload.Unpack(identified)
    assert identified.customer_id == enrolled.customer_id and identified.camera_id == "BAKERY_1"
    assert identified.track_id == "t-1"  # vision attaches the customer to this track
    # registered moments ago, so the camera's face is the registration's person (no new person joins)
    assert identified.confidence > 0.5 and identified.person_id == enrolled.person_id

    person = (await stack.identity.GetPerson(identity_pb2.GetPersonRequest(id=identified.person_id),
                                             metadata=stack.md(org, "analyst"))).person
    assert person.customer_id == enrolled.customer_id and person.full_name == "Barack"
    assert list(person.cameras) == ["BAKERY_1"] and person.positions[0].position.x == 100.0
    assert person.image and person.HasField("age")

    # the same event again (a redelivery), then a marker: the replay was applied before the marker
    await stack.bus.js.publish(stack.bus.subject(org, "vision", "face_crop"), crop.SerializeToString())
    await stack.bus.publish(stack.crop_event(org, "lin", 0, "BAKERY_1", "t-2"))
    joined = events_pb2.PersonJoined()
    assert (await watch.next("person_joined")).payload.Unpack(joined)
    assert joined.camera_id == "BAKERY_1" and joined.gender in ("Male", "Female")
    assert watch.pending("customer_identified") == []
    listed = await stack.identity.ListPersons(identity_pb2.ListPersonsRequest(), metadata=stack.md(org))
    assert listed.total_count == 2
    sighting = decode(ReceivedEvent(f"x.{org}.vision.face_crop", crop, None, None, 1))  # type: ignore[arg-type]
    assert sighting is not None
    direct = await stack.runtime.sightings.apply(org, sighting)
    assert not direct.applied and direct.reason == "already applied"

    # face crops are deleted from the stream once applied: no face image stays retained in NATS
    with pytest.raises(NotFoundError):
        await stack.bus.js.get_last_msg(stack.bus.stream, stack.bus.subject(org, "vision", "face_crop"))

    entries = [e for e in await stack.audit_actions(org) if e.action == "identity.recognize"]
    assert len(entries) == 1 and entries[0].detail["camera_id"] == "BAKERY_1"


async def test_a_face_seen_on_a_second_camera_is_the_same_person(stack: Stack) -> None:
    org = unique_org("idxcam")
    watch = await stack.watch(org)
    await stack.bus.publish(stack.crop_event(org, "alex", 1, "DOOR", "a-1"))
    first = events_pb2.PersonJoined()
    assert (await watch.next("person_joined")).payload.Unpack(first)

    await stack.bus.publish(stack.crop_event(org, "alex", 2, "TILLS", "b-7"))
    await stack.bus.publish(stack.crop_event(org, "kit", 0, "TILLS", "b-8"))  # someone else: a new person
    other = events_pb2.PersonJoined()
    assert (await watch.next("person_joined")).payload.Unpack(other)
    assert other.camera_id == "TILLS" and other.person_id != first.person_id
    assert watch.pending("customer_identified") == []

    person = (await stack.identity.GetPerson(identity_pb2.GetPersonRequest(id=first.person_id),
                                             metadata=stack.md(org))).person
    assert list(person.cameras) == ["DOOR", "TILLS"] and not person.HasField("customer_id")
    listed = await stack.identity.ListPersons(identity_pb2.ListPersonsRequest(), metadata=stack.md(org))
    assert listed.total_count == 2


async def test_another_organisation_sees_none_of_the_persons_or_faces(stack: Stack) -> None:
    org_a, org_b = unique_org("idisoa"), unique_org("idisob")
    await stack.register(org_a, "biden", 0)
    watch = await stack.watch(org_a)
    await stack.bus.publish(stack.crop_event(org_a, "biden", 1, "DOOR", "x-1"))
    joined = events_pb2.CustomerIdentified()
    assert (await watch.next("customer_identified")).payload.Unpack(joined)

    with pytest.raises(grpc.aio.AioRpcError) as hidden:
        await stack.identity.GetPerson(identity_pb2.GetPersonRequest(id=joined.person_id), metadata=stack.md(org_b))
    assert hidden.value.code() == grpc.StatusCode.NOT_FOUND
    listed = await stack.identity.ListPersons(identity_pb2.ListPersonsRequest(), metadata=stack.md(org_b))
    assert listed.total_count == 0 and not listed.persons
    reply = await stack.identity.Recognize(identity_pb2.RecognizeRequest(image=stack.photo("biden", 1)),
                                           metadata=stack.md(org_b))
    assert reply.unknown
    with pytest.raises(grpc.aio.AioRpcError) as erase:
        await stack.identity.ErasePerson(identity_pb2.ErasePersonRequest(id=joined.person_id), metadata=stack.md(org_b))
    assert erase.value.code() == grpc.StatusCode.NOT_FOUND

