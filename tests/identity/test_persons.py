"""Persons through the API: seed 003's create/update/list/statistics and seed 002's /track updates."""

from __future__ import annotations

import grpc
import pytest
from footfall.v1 import common_pb2, identity_pb2

from tests.conftest import unique_org
from tests.identity.conftest import Stack


async def test_track_updates_follow_a_person_and_update_links_a_customer(stack: Stack) -> None:
    org = unique_org("idtrack")
    objects = [identity_pb2.TrackedObjectUpdate(object_id="7", position=common_pb2.Point(x=10, y=20))]
    first = await stack.identity.Track(identity_pb2.TrackRequest(camera_id="CAM1", objects=objects),
                                       metadata=stack.md(org))
    assert first.status == "updated" and first.objects_count == 1
    objects[0].position.x = 30
    again = await stack.identity.Track(identity_pb2.TrackRequest(camera_id="CAM1", objects=objects),
                                       metadata=stack.md(org))
    assert again.person_ids == first.person_ids
    person_id = first.person_ids[0]

    updated = await stack.identity.UpdatePerson(identity_pb2.UpdatePersonRequest(
        id=person_id, full_name="John Doe", phone_number="+998901234567", age=30, gender="male",
        body_type="Athletic"), metadata=stack.md(org))
    person = updated.person
    assert person.full_name == "John Doe" and person.phone_number == "+998901234567" and person.customer_id > 0
    assert person.age == 30 and person.gender == "Male" and person.body_type == "Athletic"
    assert [p.position.x for p in person.positions] == [10, 30] and list(person.cameras) == ["CAM1"]

    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await stack.identity.GetPerson(identity_pb2.GetPersonRequest(id="8a2c1f8e-0000-4000-8000-000000000000"),
                                       metadata=stack.md(org))
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND and missing.value.details() == "Person not found"


async def test_statistics_and_pages_over_client_created_persons(stack: Stack) -> None:
    org = unique_org("idstats")
    for age, gender, emotion, body in ((25, "Female", "Happy", "Normal"), (40, "Male", "Happy", "Athletic"),
                                       (60, "Female", "Sad", "Normal"), (19, "Female", "Neutral", "")):
        await stack.identity.CreatePerson(identity_pb2.CreatePersonRequest(
            vector=[0.01 * i for i in range(128)], age=age, gender=gender, emotion=emotion, body_type=body),
            metadata=stack.md(org))

    async def stats(kind: int) -> list[tuple[str, int, float]]:
        reply = await stack.identity.GetStatistics(identity_pb2.GetStatisticsRequest(kind=kind),
                                                   metadata=stack.md(org, "analyst"))
        return [(b.label, b.count, b.percentage) for b in reply.buckets]

    assert await stats(identity_pb2.STATISTICS_KIND_GENDER) == [("Female", 3, 75.0), ("Male", 1, 25.0)]
    assert await stats(identity_pb2.STATISTICS_KIND_AGE) == [("18-30", 2, 50.0), ("31-50", 1, 25.0), ("51+", 1, 25.0)]
    assert await stats(identity_pb2.STATISTICS_KIND_EMOTION) == [("Happy", 2, 50.0), ("Neutral", 1, 25.0),
                                                                 ("Sad", 1, 25.0)]
    assert await stats(identity_pb2.STATISTICS_KIND_BODY_TYPE) == [("Normal", 2, 66.7), ("Athletic", 1, 33.3)]

    page = await stack.identity.ListPersons(identity_pb2.ListPersonsRequest(page_size=3), metadata=stack.md(org))
    rest = await stack.identity.ListPersons(identity_pb2.ListPersonsRequest(page_size=3, page_token=page.next_page_token),
                                            metadata=stack.md(org))
    assert page.total_count == 4 and len(page.persons) == 3 and len(rest.persons) == 1 and not rest.next_page_token
    assert {p.id for p in page.persons}.isdisjoint({p.id for p in rest.persons})
