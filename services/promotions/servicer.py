"""gRPC adapter for `footfall.v1.PromotionsService`: proto <-> domain, nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
from footfall.services.core.errors import InvalidArgument
from footfall.services.core.grpc import maps_domain_errors, org_of
from footfall.services.promotions import convert
from footfall.services.promotions.service import Promotions
from footfall.v1 import promotions_pb2, promotions_pb2_grpc

SERVICE_NAME = promotions_pb2.DESCRIPTOR.services_by_name["PromotionsService"].full_name

Ctx = grpc.aio.ServicerContext


class PromotionsServicer(promotions_pb2_grpc.PromotionsServiceServicer):
    def __init__(self, promotions: Promotions) -> None:
        self.promotions = promotions

    @maps_domain_errors
    async def CreatePromotion(self, request: promotions_pb2.CreatePromotionRequest, context: Ctx) -> promotions_pb2.CreatePromotionResponse:
        if not request.HasField("promotion"):
            raise InvalidArgument("promotion is required")
        new = convert.new_promotion(request.promotion, self.promotions.clock())
        created = await self.promotions.create_promotion(org_of(context), new)
        return promotions_pb2.CreatePromotionResponse(promotion=convert.promotion(created))

    @maps_domain_errors
    async def ListPromotions(self, request: promotions_pb2.ListPromotionsRequest, context: Ctx) -> promotions_pb2.ListPromotionsResponse:
        rows, token, total = await self.promotions.list_promotions(
            org_of(context), request.page_size, request.page_token, include_expired=request.include_expired,
            zone=request.zone)
        return promotions_pb2.ListPromotionsResponse(
            promotions=[convert.promotion(p) for p in rows], next_page_token=token, total_size=total)

    @maps_domain_errors
    async def GetCustomerPromotions(self, request: promotions_pb2.GetCustomerPromotionsRequest, context: Ctx) -> promotions_pb2.GetCustomerPromotionsResponse:
        status, rows = await self.promotions.customer_promotions(org_of(context), request.customer_id)
        return promotions_pb2.GetCustomerPromotionsResponse(
            promotions=[convert.promotion(p) for p in rows], loyalty_status=convert.loyalty_number(status))

    @maps_domain_errors
    async def SetZoneProducts(self, request: promotions_pb2.SetZoneProductsRequest, context: Ctx) -> promotions_pb2.SetZoneProductsResponse:
        zone = await self.promotions.set_zone(org_of(context), request.zone, request.products, request.camera_ids)
        return promotions_pb2.SetZoneProductsResponse(zone=convert.store_zone(zone))

    @maps_domain_errors
    async def GetZoneProducts(self, request: promotions_pb2.GetZoneProductsRequest, context: Ctx) -> promotions_pb2.GetZoneProductsResponse:
        zone = await self.promotions.get_zone(org_of(context), request.zone)
        return promotions_pb2.GetZoneProductsResponse(zone=convert.store_zone(zone))

    @maps_domain_errors
    async def CreateDisplay(self, request: promotions_pb2.CreateDisplayRequest, context: Ctx) -> promotions_pb2.CreateDisplayResponse:
        display = await self.promotions.create_display(org_of(context), request.name, request.zone)
        return promotions_pb2.CreateDisplayResponse(display=convert.display(display))

    @maps_domain_errors
    async def GetDisplay(self, request: promotions_pb2.GetDisplayRequest, context: Ctx) -> promotions_pb2.GetDisplayResponse:
        content = await self.promotions.display(org_of(context), request.id)
        return promotions_pb2.GetDisplayResponse(content=convert.content(content))

    @maps_domain_errors
    async def WatchDisplay(self, request: promotions_pb2.WatchDisplayRequest, context: Ctx) -> AsyncIterator[promotions_pb2.WatchDisplayResponse]:
        async for content in self.promotions.watch_display(org_of(context), request.id):
            yield promotions_pb2.WatchDisplayResponse(content=convert.content(content))

    @maps_domain_errors
    async def ListActions(self, request: promotions_pb2.ListActionsRequest, context: Ctx) -> promotions_pb2.ListActionsResponse:
        actions, token = await self.promotions.list_actions(
            org_of(context), request.customer_id, request.page_size, request.page_token)
        return promotions_pb2.ListActionsResponse(actions=[convert.action(a) for a in actions], next_page_token=token)
