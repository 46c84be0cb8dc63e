"""The recommendation consumer replayed from the stream's start: no action recommended or published twice.

Deleting the durable makes JetStream deliver every identification again from the first one (as after a
consumer was lost); the event-id claims absorb that, and once the claims have expired (they are pruned
after the stream's retention) the actions' unique, derived event ids still do.
"""

from __future__ import annotations

from footfall.services.core.db import Database
from footfall.services.promotions.consumer import DURABLE
from footfall.services.promotions.service import CONSUMER
from footfall.v1 import customers_pb2, promotions_pb2

from tests.conftest import unique_org
from tests.consumer_replay import caught_up, delete_durable
from tests.promotions.conftest import ActionWatch, Stack


async def replay_from_start(stack: Stack) -> None:
    consumer = stack.runtime.consumer
    assert consumer is not None
    await consumer.stop()
    await delete_durable(stack.bus, DURABLE)
    consumer.start()
    await caught_up(stack.bus, DURABLE)


async def actions_of(stack: Stack, org: str, customer: int) -> list[str]:
    reply = await stack.promotions.ListActions(promotions_pb2.ListActionsRequest(customer_id=customer),
                                               metadata=stack.auth.metadata(org))
    return [a.identification_event_id for a in reply.actions]


async def sentinel(stack: Stack, org: str, watch: ActionWatch, customer: int) -> None:
    """One more identification: the consumer applies in order, so its action comes after any replayed one."""
    await stack.bus.publish(stack.identification(org, customer, "REPLAY_CAM"))
    _, action = await watch.next()
    assert action.customer_id == customer
    assert watch.queue.empty()


async def test_replay_from_the_start_recommends_nothing_twice(stack: Stack, database: Database) -> None:
    org = unique_org("promreplay")
    await stack.set_zone(org, "deli", ["ham", "cheese"], ["REPLAY_CAM"])
    customers = [await stack.customer(org, customers_pb2.LOYALTY_STATUS_SILVER, f"Replay {i}") for i in range(3)]
    marker = await stack.customer(org, customers_pb2.LOYALTY_STATUS_BRONZE, "Marker")
    watch = await stack.actions(org)
    try:
        sent = [stack.identification(org, c, "REPLAY_CAM") for c in customers]
        for envelope in sent:
            await stack.bus.publish(envelope)
        firsts = [await watch.next() for _ in sent]
        assert sorted(a.customer_id for _, a in firsts) == sorted(customers)
        before = {c: await actions_of(stack, org, c) for c in customers}
        assert all(len(ids) == 1 for ids in before.values())

        await replay_from_start(stack)  # the claims absorb it
        await sentinel(stack, org, watch, marker)
        assert {c: await actions_of(stack, org, c) for c in customers} == before

        async with database.tenant(org) as conn:  # claims expired: the database's unique keys alone
            cur = await conn.execute("DELETE FROM processed_events WHERE consumer = %s", (CONSUMER,))
            assert cur.rowcount == len(sent) + 1
        await replay_from_start(stack)
        await sentinel(stack, org, watch, marker)
        assert {c: await actions_of(stack, org, c) for c in customers} == before
        assert len(await actions_of(stack, org, marker)) == 2
    finally:
        await watch.close()
