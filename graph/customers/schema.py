"""Customers in GraphQL: journeys (a federation entity), their totals, POS transactions and webhooks.

Resolvers are thin: one call to `CustomersService` over gRPC (`CustomersClient`) with the caller's credential,
then the reply as GraphQL types (`schema_types`); root fields check the caller's role. A camera is named by
its public id, `Camera.id` (its key); every list is a Relay connection.

    query { journeys(first: 20, since: "2025-01-15T00:00:00Z") { edges { node { id customerId zonesVisited
                                                                 conversion } } pageInfo { hasNextPage endCursor } } }
    query { journey(id: "42") { behavior durationSeconds zoneStays { zoneName dwellSeconds } } }
    query { journeyStats(cameraId: "GATE_A") { totalCustomers conversionRatePercent zones { zoneName journeys } } }
    mutation { recordTransaction(input: {transactionId: "r-1", transactionTime: "...", amount: 19.99,
                                         zoneName: "checkout"}) { created journey { id conversion } } }
    mutation { createWebhook(input: {url: "https://example.com/h", events: [JOURNEY_COMPLETE]}) { secret webhook { id } } }
    mutation { deleteWebhook(id: "7") }

No subscription: CustomersService has no streaming watch RPC, and the gateway reaches services over gRPC only
(the `journey_complete` NATS subject is not available to it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from footfall.graph.core.context import Info
from footfall.graph.core.convert import parse_id
from footfall.graph.core.pagination import (
    DEFAULT_FIRST,
    MAX_FIRST,
    AfterArg,
    Connection,
    FirstArg,
    check_first,
)
from footfall.graph.core.schema import CanRead, CanWrite, SchemaModule
from footfall.graph.customers.convert import timestamp
from footfall.graph.customers.schema_types import (
    CAMERA_ID,
    Behavior,
    ConversionStatus,
    Journey,
    JourneyStats,
    JourneyStatus,
    Transaction,
    TransactionInput,
    TransactionRecorded,
    Webhook,
    WebhookCreated,
    WebhookInput,
    customers,
    journey_or_none,
)
from footfall.services.core.errors import InvalidArgument
from footfall.v1 import customers_pb2

CameraIdArg = Annotated[strawberry.ID | None, strawberry.argument(description=CAMERA_ID)]


def _range(request: object, since: datetime | None, until: datetime | None) -> None:
    if since is not None:
        request.start_time.CopyFrom(timestamp(since))  # type: ignore[attr-defined]
    if until is not None:
        request.end_time.CopyFrom(timestamp(until))  # type: ignore[attr-defined]


def _behavior_filter(behavior: Behavior | None, label: str | None) -> str:
    if behavior is Behavior.CUSTOM and not label:
        raise InvalidArgument("behavior CUSTOM needs a behaviorLabel")
    if behavior is not None and behavior is not Behavior.CUSTOM:
        if label and label != behavior.value:
            raise InvalidArgument("give behavior or behaviorLabel, not two different ones")
        return behavior.value
    return label or ""


# Root types


@strawberry.type
class CustomersQuery:
    @strawberry.field(
        permission_classes=[CanRead],
        description="Journeys newest entry first, entered in [since, until) and matching the filters"
    )
    async def journeys(
        self,
        info: Info,
        first: FirstArg = DEFAULT_FIRST,
        after: AfterArg = None,
        since: datetime | None = None,
        until: datetime | None = None,
        camera_id: CameraIdArg = None,
        customer_id: str | None = None,
        status: JourneyStatus | None = None,
        conversion: ConversionStatus | None = None,
        behavior: Behavior | None = None,
        behavior_label: Annotated[
            str | None, strawberry.argument(description="A configured rule's label (see `Behavior.CUSTOM`)")
        ] = None,
        zone: str | None = None,
    ) -> Connection[Journey]:
        request = customers_pb2.ListJourneysRequest(
            page_size=check_first(first),
            page_token=after or "",
            camera_id=str(camera_id) if camera_id is not None else "",
            customer_id=customer_id or "",
            status=status.value if status else 0,  # type: ignore[arg-type]
            conversion=conversion.value if conversion else 0,  # type: ignore[arg-type]
            behavior=_behavior_filter(behavior, behavior_label),
            zone_name=zone or "",
        )
        _range(request, since, until)
        reply = await customers(info).list_journeys(info.context.caller, request)
        return Connection.of_page([Journey.from_proto(j) for j in reply.journeys], reply.next_page_token)

    @strawberry.field(permission_classes=[CanRead], description="One journey; null when the organisation has none with this id")
    async def journey(self, info: Info, id: strawberry.ID) -> Journey | None:
        return await journey_or_none(info, parse_id(id))

    @strawberry.field(permission_classes=[CanRead], description="Totals over the journeys that entered in [since, until)")
    async def journey_stats(
        self,
        info: Info,
        since: datetime | None = None,
        until: datetime | None = None,
        camera_id: CameraIdArg = None,
    ) -> JourneyStats:
        request = customers_pb2.GetJourneyStatsRequest(camera_id=str(camera_id) if camera_id is not None else "")
        _range(request, since, until)
        return JourneyStats.from_proto(await customers(info).stats(info.context.caller, request))

    @strawberry.field(permission_classes=[CanRead], description="The organisation's webhooks, oldest first")
    async def webhooks(
        self, info: Info, first: FirstArg = DEFAULT_FIRST, after: AfterArg = None
    ) -> Connection[Webhook]:
        out: list[Webhook] = []
        token = ""
        while True:
            reply = await customers(info).list_webhooks(info.context.caller, MAX_FIRST, token)
            out += [Webhook.from_proto(w) for w in reply.webhooks]
            token = reply.next_page_token
            if not token:
                return Connection.of_list(out, first, after)


@strawberry.type
class CustomersMutation:
    @strawberry.mutation(
        permission_classes=[CanWrite],
        description="Record a POS transaction; it converts the journey present at its time "
        "(in its zone when it names one)"
    )
    async def record_transaction(self, info: Info, input: TransactionInput) -> TransactionRecorded:
        reply = await customers(info).record_transaction(info.context.caller, input.to_proto())
        return TransactionRecorded(
            transaction=Transaction.from_proto(reply.transaction),
            journey=Journey.from_proto(reply.journey) if reply.HasField("journey") else None,
            created=reply.created,
        )

    @strawberry.mutation(permission_classes=[CanWrite], description="Register a URL for journey, person, identification and promotion events")
    async def create_webhook(self, info: Info, input: WebhookInput) -> WebhookCreated:
        events = [e.value for e in input.events or ()]
        reply = await customers(info).create_webhook(info.context.caller, input.url, events, input.secret or "")
        return WebhookCreated(webhook=Webhook.from_proto(reply.webhook), secret=reply.secret)

    @strawberry.mutation(permission_classes=[CanWrite], description="Delete a webhook; returns its id (NOT_FOUND when there is none)")
    async def delete_webhook(self, info: Info, id: strawberry.ID) -> strawberry.ID:
        webhook_id = parse_id(id)
        await customers(info).delete_webhook(info.context.caller, webhook_id)
        return strawberry.ID(str(webhook_id))


TYPES = (Journey, JourneyStats, Transaction, Webhook)
MODULE = SchemaModule("customers", query=CustomersQuery, mutation=CustomersMutation, types=TYPES)
