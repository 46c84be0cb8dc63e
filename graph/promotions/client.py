"""The typed gRPC client of `footfall.v1.PromotionsService`."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import grpc
from footfall.graph.core.client import DEFAULT_TIMEOUT_S, Identity, ServiceClient
from footfall.v1 import promotions_pb2, promotions_pb2_grpc


class PromotionsClient(ServiceClient):
    service_name = "Promotions"
    grpc_service = "footfall.v1.PromotionsService"

    def __init__(self, channel: grpc.aio.Channel, *, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        super().__init__(channel, timeout=timeout)
        self.stub = promotions_pb2_grpc.PromotionsServiceStub(channel)

    async def create_promotion(self, caller: Identity, promotion: promotions_pb2.Promotion) -> promotions_pb2.Promotion:
        request = promotions_pb2.CreatePromotionRequest(promotion=promotion)
        return (await self.unary(self.stub.CreatePromotion, request, caller)).promotion

    async def list_promotions(
        self, caller: Identity, *, page_size: int, page_token: str = "", include_expired: bool = False, zone: str = ""
    ) -> promotions_pb2.ListPromotionsResponse:
        request = promotions_pb2.ListPromotionsRequest(
            page_size=page_size, page_token=page_token, include_expired=include_expired, zone=zone)
        return await self.unary(self.stub.ListPromotions, request, caller)

    async def customer_promotions(self, caller: Identity, customer_id: int) -> promotions_pb2.GetCustomerPromotionsResponse:
        request = promotions_pb2.GetCustomerPromotionsRequest(customer_id=customer_id)
        return await self.unary(self.stub.GetCustomerPromotions, request, caller)

    async def set_zone_products(
        self, caller: Identity, zone: str, products: list[str], camera_ids: list[str]
    ) -> promotions_pb2.StoreZone:
        request = promotions_pb2.SetZoneProductsRequest(zone=zone, products=products, camera_ids=camera_ids)
        return (await self.unary(self.stub.SetZoneProducts, request, caller)).zone

    async def zone_products(self, caller: Identity, zone: str) -> promotions_pb2.StoreZone:
        request = promotions_pb2.GetZoneProductsRequest(zone=zone)
        return (await self.unary(self.stub.GetZoneProducts, request, caller)).zone

    async def create_display(self, caller: Identity, name: str, zone: str) -> promotions_pb2.Display:
        request = promotions_pb2.CreateDisplayRequest(name=name, zone=zone)
        return (await self.unary(self.stub.CreateDisplay, request, caller)).display

    async def display(self, caller: Identity, display_id: int) -> promotions_pb2.DisplayContent:
        request = promotions_pb2.GetDisplayRequest(id=display_id)
        return (await self.unary(self.stub.GetDisplay, request, caller)).content

    def watch_display(self, caller: Identity, display_id: int) -> AsyncGenerator[promotions_pb2.WatchDisplayResponse, None]:
        """What the display shows now, then each change; closing the iterator cancels the call."""
        return self.stream(self.stub.WatchDisplay, promotions_pb2.WatchDisplayRequest(id=display_id), caller)

    async def list_actions(
        self, caller: Identity, *, page_size: int, page_token: str = "", customer_id: int = 0
    ) -> promotions_pb2.ListActionsResponse:
        request = promotions_pb2.ListActionsRequest(page_size=page_size, page_token=page_token, customer_id=customer_id)
        return await self.unary(self.stub.ListActions, request, caller)
