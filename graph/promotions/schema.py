"""Promotions in GraphQL: promotions (a connection), a customer's promotions, store zones, displays, the
recommendations made, and `displayUpdates(displayId)`, what a screen should show as it changes.

    query { promotions(first: 20) { totalCount nodes { id title validFrom validUntil audience } } }
    mutation { createPromotion(input: {title: "Gold croissants", validUntil: "2030-01-01T00:00:00Z",
                                       audience: GOLD, zone: "bakery"}) { id } }
    subscription { displayUpdates(displayId: "1") { mode customerId recommendedProducts promotions { title } } }
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from datetime import datetime
from enum import Enum

import strawberry
from footfall.graph.core.context import Info
from footfall.graph.core.convert import parse_id, to_datetime
from footfall.graph.core.pagination import DEFAULT_FIRST, AfterArg, Connection, FirstArg, check_first
from footfall.graph.core.schema import CanRead, CanWrite, SchemaModule
from footfall.graph.promotions import convert
from footfall.graph.promotions.client import PromotionsClient
from footfall.v1 import promotions_pb2


@strawberry.enum(description="Who a promotion is for: everyone or one loyalty status.")
class PromotionAudience(Enum):
    ALL = "all"
    BRONZE = "bronze"
    SILVER = "silver"
    GOLD = "gold"
    PLATINUM = "platinum"


@strawberry.enum(description="What a display shows: the zone's promotions, or an identified customer's offer.")
class DisplayMode(Enum):
    DEFAULT = "default"
    PERSONAL = "personal"


@strawberry.type(description="An offer, shown during its validity period to its audience.")
class Promotion:
    id: strawberry.ID
    title: str
    description: str
    discount: str
    valid_from: datetime | None
    valid_until: datetime | None
    audience: PromotionAudience
    zone: str | None = strawberry.field(description="The store zone; null for every zone")
    created_at: datetime | None

    @classmethod
    def from_proto(cls, p: promotions_pb2.Promotion) -> Promotion:
        return cls(
            id=strawberry.ID(str(p.id)), title=p.title, description=p.description, discount=p.discount,
            valid_from=to_datetime(p.valid_from), valid_until=to_datetime(p.valid_until),
            audience=PromotionAudience(convert.loyalty_name(p.target_loyalty_status)), zone=p.zone or None,
            created_at=to_datetime(p.created_at),
        )


@strawberry.type(description="A store zone's products and the cameras that cover it.")
class StoreZone:
    zone: str
    products: list[str]
    camera_ids: list[str]
    updated_at: datetime | None

    @classmethod
    def from_proto(cls, z: promotions_pb2.StoreZone) -> StoreZone:
        return cls(zone=z.zone, products=list(z.products), camera_ids=list(z.camera_ids),
                   updated_at=to_datetime(z.updated_at))


@strawberry.type(description="A screen in a store zone.")
class Display:
    id: strawberry.ID
    name: str
    zone: str
    created_at: datetime | None

    @classmethod
    def from_proto(cls, d: promotions_pb2.Display) -> Display:
        return cls(id=strawberry.ID(str(d.id)), name=d.name, zone=d.zone, created_at=to_datetime(d.created_at))


@strawberry.type(description="What a display should show at `asOf`.")
class DisplayContent:
    display: Display
    mode: DisplayMode
    customer_id: strawberry.ID | None = strawberry.field(description="PERSONAL: the identified customer")
    recommended_products: list[str]
    personal_until: datetime | None
    promotions: list[Promotion]
    as_of: datetime | None

    @classmethod
    def from_proto(cls, c: promotions_pb2.DisplayContent) -> DisplayContent:
        personal = c.mode == promotions_pb2.DISPLAY_MODE_PERSONAL
        return cls(
            display=Display.from_proto(c.display), mode=DisplayMode.PERSONAL if personal else DisplayMode.DEFAULT,
            customer_id=strawberry.ID(str(c.customer_id)) if personal else None,
            recommended_products=list(c.recommended_products),
            personal_until=to_datetime(c.personal_until) if personal else None,
            promotions=[Promotion.from_proto(p) for p in c.promotions], as_of=to_datetime(c.as_of),
        )


@strawberry.type(description="A recommendation made for an identified customer in a store zone.")
class PromotionAction:
    event_id: str
    customer_id: strawberry.ID
    store_zone: str
    recommended_products: list[str]
    timestamp: datetime | None
    camera_id: str
    confidence: float

    @classmethod
    def from_proto(cls, a: promotions_pb2.PromotionAction) -> PromotionAction:
        return cls(event_id=a.event_id, customer_id=strawberry.ID(str(a.customer_id)), store_zone=a.store_zone,
                   recommended_products=list(a.recommended_products), timestamp=to_datetime(a.timestamp),
                   camera_id=a.camera_id, confidence=a.confidence)


@strawberry.input(description="A new promotion; `validFrom` omitted means now.")
class PromotionInput:
    title: str
    valid_until: datetime
    description: str = ""
    discount: str = ""
    valid_from: datetime | None = None
    audience: PromotionAudience = PromotionAudience.ALL
    zone: str | None = None


def _client(info: Info) -> PromotionsClient:
    return info.context.client(PromotionsClient)


@strawberry.type
class PromotionsQuery:
    @strawberry.field(permission_classes=[CanRead], description="Promotions, newest first; valid now unless asked")
    async def promotions(
        self, info: Info, include_expired: bool = False, zone: str | None = None, first: FirstArg = DEFAULT_FIRST,
        after: AfterArg = None,
    ) -> Connection[Promotion]:
        reply = await _client(info).list_promotions(
            info.context.caller, page_size=check_first(first), page_token=after or "",
            include_expired=include_expired, zone=zone or "")
        return Connection.of_page([Promotion.from_proto(p) for p in reply.promotions], reply.next_page_token,
                                  reply.total_size)

    @strawberry.field(permission_classes=[CanRead], description="The promotions valid now for a customer's loyalty status")
    async def customer_promotions(self, info: Info, customer_id: strawberry.ID) -> list[Promotion]:
        reply = await _client(info).customer_promotions(info.context.caller, parse_id(customer_id, "customerId"))
        return [Promotion.from_proto(p) for p in reply.promotions]

    @strawberry.field(permission_classes=[CanRead], description="A store zone's products and cameras")
    async def store_zone(self, info: Info, zone: str) -> StoreZone:
        return StoreZone.from_proto(await _client(info).zone_products(info.context.caller, zone))

    @strawberry.field(permission_classes=[CanRead], description="What a display should show now")
    async def display(self, info: Info, id: strawberry.ID) -> DisplayContent:
        return DisplayContent.from_proto(await _client(info).display(info.context.caller, parse_id(id)))

    @strawberry.field(permission_classes=[CanRead], description="Recommendations made, newest first")
    async def promotion_actions(
        self, info: Info, customer_id: strawberry.ID | None = None, first: FirstArg = DEFAULT_FIRST,
        after: AfterArg = None,
    ) -> Connection[PromotionAction]:
        reply = await _client(info).list_actions(
            info.context.caller, page_size=check_first(first), page_token=after or "",
            customer_id=parse_id(customer_id, "customerId") if customer_id is not None else 0)
        return Connection.of_page([PromotionAction.from_proto(a) for a in reply.actions], reply.next_page_token)


@strawberry.type
class PromotionsMutation:
    @strawberry.mutation(permission_classes=[CanWrite], description="Create a promotion")
    async def create_promotion(self, info: Info, input: PromotionInput) -> Promotion:
        pb = convert.promotion_proto(
            title=input.title, description=input.description, discount=input.discount, start=input.valid_from,
            end=input.valid_until, target_loyalty_status=input.audience.value, zone=input.zone)
        return Promotion.from_proto(await _client(info).create_promotion(info.context.caller, pb))

    @strawberry.mutation(permission_classes=[CanWrite], description="Replace a store zone's products and cameras")
    async def set_zone_products(
        self, info: Info, zone: str, products: list[str], camera_ids: list[str] | None = None
    ) -> StoreZone:
        reply = await _client(info).set_zone_products(info.context.caller, zone, products, camera_ids or [])
        return StoreZone.from_proto(reply)

    @strawberry.mutation(permission_classes=[CanWrite], description="Create a display in a store zone")
    async def create_display(self, info: Info, zone: str, name: str = "") -> Display:
        return Display.from_proto(await _client(info).create_display(info.context.caller, name, zone))


@strawberry.type
class PromotionsSubscription:
    @strawberry.subscription(permission_classes=[CanRead],
                             description="What a display should show: now, then each time it changes")
    async def display_updates(self, info: Info, display_id: strawberry.ID) -> AsyncGenerator[DisplayContent, None]:
        stream = _client(info).watch_display(info.context.caller, parse_id(display_id, "displayId"))
        async with aclosing(stream):
            async for update in stream:
                yield DisplayContent.from_proto(update.content)


MODULE = SchemaModule(
    "promotions", query=PromotionsQuery, mutation=PromotionsMutation, subscription=PromotionsSubscription,
    types=(Promotion, Display, DisplayContent, StoreZone, PromotionAction),
)
