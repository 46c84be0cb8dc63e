"""The face crop consumer replayed: recreated from the stream's start, and handed a whole batch again.

Crops are deleted from the stream once applied, so a consumer recreated from the first message finds none
of them; a batch redelivered before that (its ack lost) comes again with the same event ids. Neither makes
a second person, identification, announcement or audit entry.
"""

from __future__ import annotations

from footfall.services.identity.consumer import DURABLE
from footfall.v1 import events_pb2, identity_pb2

from tests.conftest import unique_org
from tests.consumer_replay import caught_up, delete_durable
from tests.identity.conftest import Stack


async def persons(stack: Stack, org: str) -> list[tuple[str, str, int]]:
    reply = await stack.identity.ListPersons(identity_pb2.ListPersonsRequest(), metadata=stack.md(org))
    return sorted((p.id, p.full_name, p.customer_id) for p in reply.persons)


async def test_recreated_consumer_and_redelivered_batch_change_nothing(stack: Stack) -> None:
    org = unique_org("idreplay")
    enrolled = await stack.register(org, "obama", 0, name="Barack")
    watch = await stack.watch(org)
    crops = [stack.crop_event(org, "obama", 3, "DOOR_1", "t-1"), stack.crop_event(org, "lin", 0, "DOOR_1", "t-2")]
    for crop in crops:
        await stack.bus.publish(crop)
    identified = events_pb2.CustomerIdentified()
    assert (await watch.next("customer_identified")).payload.Unpack(identified)
    assert identified.customer_id == enrolled.customer_id
    await watch.next("person_joined")  # lin, a face never seen before
    before = await persons(stack, org)
    audit = [e.action for e in await stack.audit_actions(org)]
    assert len(before) == 2

    consumer = stack.runtime.consumer
    assert consumer is not None
    await consumer.stop()
    await delete_durable(stack.bus, DURABLE)
    consumer.start()  # from the stream's first message
    await caught_up(stack.bus, DURABLE)
    # The same batch again under new message ids (JetStream would drop the old ones as duplicates)...
    for i, crop in enumerate(crops):
        await stack.bus.js.publish(stack.bus.subject(org, "vision", "face_crop"), crop.SerializeToString(),
                                   headers={"Nats-Msg-Id": f"{crop.event_id}-again-{i}"})
    # ...then a new face: applied in order, so once it is announced the replays were handled.
    await stack.bus.publish(stack.crop_event(org, "kit", 0, "DOOR_1", "t-3"))
    joined = events_pb2.PersonJoined()
    assert (await watch.next("person_joined")).payload.Unpack(joined)
    assert watch.pending("customer_identified") == [] and watch.pending("person_joined") == []
    after = await persons(stack, org)
    assert len(after) == 3 and set(before) <= set(after)
    recognised = [a for a in (e.action for e in await stack.audit_actions(org)) if a == "identity.recognize"]
    assert len(recognised) == audit.count("identity.recognize")
