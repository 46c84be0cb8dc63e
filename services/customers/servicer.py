"""gRPC adapter: footfall.v1.CustomersService -> :class:`footfall.services.customers.service.Customers`."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
from footfall.v1 import customers_pb2, customers_pb2_grpc

from footfall.services.core.errors import InvalidArgument
from footfall.services.core.grpc import maps_domain_errors, org_of
from footfall.services.customers import convert
from footfall.services.customers.commerce.service import Commerce
from footfall.services.customers.commerce.servicer import CommerceServicer
from footfall.services.customers.records.service import CustomerRecords
from footfall.services.customers.records.servicer import CustomerRecordsServicer
from footfall.services.customers.service import Customers

EXPORT_CHUNK = 64 * 1024
_FORMATS = {customers_pb2.EXPORT_FORMAT_CSV: "csv", customers_pb2.EXPORT_FORMAT_XLSX: "xlsx",
            customers_pb2.EXPORT_FORMAT_UNSPECIFIED: "csv"}


class CustomersServicer(CommerceServicer, CustomerRecordsServicer, customers_pb2_grpc.CustomersServiceServicer):
    def __init__(
        self, customers: Customers, default_org: str, records: CustomerRecords | None = None,
        commerce: Commerce | None = None,
    ) -> None:
        self.customers = customers
        self.default_org = default_org
        self.records = records or CustomerRecords(customers.db)
        self.commerce = commerce or Commerce(customers.db, customers)

    def _org(self, context: grpc.aio.ServicerContext) -> str:
        return org_of(context)

    @maps_domain_errors
    async def ListJourneys(self, request, context):  # type: ignore[no-untyped-def]
        rows, token = await self.customers.list_journeys(
            self._org(context), convert.journey_filter(request), request.page_size, request.page_token
        )
        return customers_pb2.ListJourneysResponse(journeys=[convert.journey_pb(r) for r in rows], next_page_token=token)

    @maps_domain_errors
    async def GetJourney(self, request, context):  # type: ignore[no-untyped-def]
        rec = await self.customers.get_journey(self._org(context), request.id)
        return customers_pb2.GetJourneyResponse(journey=convert.journey_pb(rec))

    @maps_domain_errors
    async def RecordTransaction(self, request, context):  # type: ignore[no-untyped-def]
        if not request.HasField("transaction"):
            raise InvalidArgument("transaction is required")
        txn, journey, created = await self.customers.record_transaction(
            self._org(context), convert.transaction_domain(request.transaction)
        )
        response = customers_pb2.RecordTransactionResponse(transaction=convert.transaction_pb(txn), created=created)
        if journey is not None:
            response.journey.CopyFrom(convert.journey_pb(journey))
        return response

    @maps_domain_errors
    async def GetJourneyStats(self, request, context):  # type: ignore[no-untyped-def]
        stats = await self.customers.journey_stats(self._org(context), convert.journey_filter(request))
        return customers_pb2.GetJourneyStatsResponse(stats=convert.stats_pb(stats))

    @maps_domain_errors
    async def ExportJourneys(self, request, context) -> AsyncIterator[customers_pb2.ExportJourneysResponse]:  # type: ignore[no-untyped-def, override]
        fmt = _FORMATS.get(request.format)
        if fmt is None:
            raise InvalidArgument("unknown export format")
        name, content_type, data = await self.customers.export_journeys(
            self._org(context), convert.journey_filter(request), fmt
        )
        yield customers_pb2.ExportJourneysResponse(filename=name, content_type=content_type, chunk=data[:EXPORT_CHUNK])
        for start in range(EXPORT_CHUNK, len(data), EXPORT_CHUNK):
            yield customers_pb2.ExportJourneysResponse(chunk=data[start:start + EXPORT_CHUNK])

    @maps_domain_errors
    async def CreateWebhook(self, request, context):  # type: ignore[no-untyped-def]
        hook, secret = await self.customers.create_webhook(
            self._org(context), request.url, list(request.events), request.secret
        )
        return customers_pb2.CreateWebhookResponse(webhook=convert.webhook_pb(hook), secret=secret)

    @maps_domain_errors
    async def ListWebhooks(self, request, context):  # type: ignore[no-untyped-def]
        rows, token = await self.customers.list_webhooks(self._org(context), request.page_size, request.page_token)
        return customers_pb2.ListWebhooksResponse(webhooks=[convert.webhook_pb(h) for h in rows], next_page_token=token)

    @maps_domain_errors
    async def DeleteWebhook(self, request, context):  # type: ignore[no-untyped-def]
        await self.customers.delete_webhook(self._org(context), request.id)
        return customers_pb2.DeleteWebhookResponse()

    @maps_domain_errors
    async def ListWebhookDeliveries(self, request, context):  # type: ignore[no-untyped-def]
        rows, token = await self.customers.list_deliveries(
            self._org(context), request.webhook_id, request.page_size, request.page_token
        )
        return customers_pb2.ListWebhookDeliveriesResponse(
            deliveries=[convert.delivery_pb(d) for d in rows], next_page_token=token
        )
