"""The typed gRPC client of `footfall.v1.CustomersService`: journeys, transactions, stats, exports, webhooks."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import grpc
from footfall.graph.core.client import DEFAULT_TIMEOUT_S, Identity, ServiceClient
from footfall.graph.customers.commerce_client import CommerceCalls
from footfall.graph.customers.crm_client import CustomerRecordsCalls
from footfall.v1 import customers_pb2, customers_pb2_grpc

# The whole export (the service builds the file before its first chunk) may take longer than a unary call.
EXPORT_TIMEOUT_S = 120.0


class CustomersClient(CommerceCalls, CustomerRecordsCalls, ServiceClient):
    """`footfall.v1.CustomersService`: journeys, transactions, stats, exports, webhooks, and the customer
    records with their analytics (`CustomerRecordsCalls`), seed 003's commerce (`CommerceCalls`)."""

    service_name = "Customers"
    grpc_service = "footfall.v1.CustomersService"

    def __init__(self, channel: grpc.aio.Channel, *, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        super().__init__(channel, timeout=timeout)
        self.stub = customers_pb2_grpc.CustomersServiceStub(channel)

    async def latest_journeys(self, caller: Identity, limit: int) -> customers_pb2.ListJourneysResponse:
        """The newest `limit` journeys by entry time (the seed's `GET /api/customers`)."""
        return await self.unary(self.stub.ListJourneys, customers_pb2.ListJourneysRequest(page_size=limit), caller)

    async def list_journeys(
        self, caller: Identity, request: customers_pb2.ListJourneysRequest
    ) -> customers_pb2.ListJourneysResponse:
        return await self.unary(self.stub.ListJourneys, request, caller)

    async def get_journey(self, caller: Identity, journey_id: int) -> customers_pb2.Journey:
        return (
            await self.unary(self.stub.GetJourney, customers_pb2.GetJourneyRequest(id=journey_id), caller)
        ).journey

    async def record_transaction(
        self, caller: Identity, transaction: customers_pb2.Transaction
    ) -> customers_pb2.RecordTransactionResponse:
        request = customers_pb2.RecordTransactionRequest(transaction=transaction)
        return await self.unary(self.stub.RecordTransaction, request, caller)

    async def stats(
        self, caller: Identity, request: customers_pb2.GetJourneyStatsRequest
    ) -> customers_pb2.JourneyStats:
        return (await self.unary(self.stub.GetJourneyStats, request, caller)).stats

    def export(
        self, caller: Identity, request: customers_pb2.ExportJourneysRequest
    ) -> AsyncGenerator[customers_pb2.ExportJourneysResponse, None]:
        """The file's chunks (the first names it); closing the iterator cancels the call."""
        timeout = max(self.timeout, EXPORT_TIMEOUT_S)
        return self.stream(self.stub.ExportJourneys, request, caller, timeout=timeout)

    async def create_webhook(
        self, caller: Identity, url: str, events: list[str] | None = None, secret: str = ""
    ) -> customers_pb2.CreateWebhookResponse:
        request = customers_pb2.CreateWebhookRequest(url=url, events=events or [], secret=secret)
        return await self.unary(self.stub.CreateWebhook, request, caller)

    async def list_webhooks(
        self, caller: Identity, page_size: int = 0, page_token: str = ""
    ) -> customers_pb2.ListWebhooksResponse:
        request = customers_pb2.ListWebhooksRequest(page_size=page_size, page_token=page_token)
        return await self.unary(self.stub.ListWebhooks, request, caller)

    async def delete_webhook(self, caller: Identity, webhook_id: int) -> None:
        await self.unary(self.stub.DeleteWebhook, customers_pb2.DeleteWebhookRequest(id=webhook_id), caller)

    async def list_deliveries(
        self, caller: Identity, webhook_id: int, page_size: int = 0, page_token: str = ""
    ) -> customers_pb2.ListWebhookDeliveriesResponse:
        request = customers_pb2.ListWebhookDeliveriesRequest(
            webhook_id=webhook_id, page_size=page_size, page_token=page_token
        )
        return await self.unary(self.stub.ListWebhookDeliveries, request, caller)
