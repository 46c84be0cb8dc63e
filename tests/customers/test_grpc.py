"""CustomersService through a real gRPC server, and the seed's REST bodies built from it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import grpc
import pytest
from footfall.v1 import customers_pb2, customers_pb2_grpc
from google.protobuf.timestamp_pb2 import Timestamp

from footfall.services.core.config import Settings
from footfall.services.core.db import Database
from footfall.services.core.grpc import GrpcServer
from footfall.services.customers import exports, rest_shapes
from footfall.services.customers.runtime import CustomersRuntime, start_customers
from footfall.services.customers.service import CustomersConfig
from tests.conftest import AuthKit, unique_org
from tests.customers.factories import tick, visit_events

T0 = 1_700_200_000.0


def ts(seconds: float) -> Timestamp:
    out = Timestamp()
    out.FromNanoseconds(int(seconds * 1e9))
    return out


@pytest.fixture
async def served(
    database: Database, auth: AuthKit
) -> AsyncIterator[tuple[CustomersRuntime, customers_pb2_grpc.CustomersServiceStub]]:
    server = GrpcServer("127.0.0.1", 0, authenticator=auth.authenticator)
    runtime = await start_customers(Settings(), database, None, server, config=CustomersConfig(idle_flush_s=3600))
    port = await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    yield runtime, customers_pb2_grpc.CustomersServiceStub(channel)
    await channel.close()
    await runtime.stop()
    await server.stop(0)


async def seed_journeys(runtime: CustomersRuntime, org: str, n: int = 5) -> None:
    events = []
    for i in range(n):
        start = T0 + i * 600
        events += visit_events("GATE_A", f"g{i}", start, start + 60 + i * 30,
                               [("shelves", start + 5, start + 40), ("checkout", start + 45, start + 55 + i * 30)])
    await runtime.customers.apply_vision_events(org, events + [tick("GATE_A", T0 + n * 600 + 100)])


async def test_journeys_over_grpc(served, auth: AuthKit) -> None:  # type: ignore[no-untyped-def]
    runtime, stub = served
    org = unique_org()
    md = auth.metadata(org)
    await seed_journeys(runtime, org)
    first = await stub.ListJourneys(customers_pb2.ListJourneysRequest(page_size=2), metadata=md)
    assert len(first.journeys) == 2 and first.next_page_token
    ids = [j.id for j in first.journeys]
    token = first.next_page_token
    while token:
        page = await stub.ListJourneys(customers_pb2.ListJourneysRequest(page_size=2, page_token=token), metadata=md)
        ids += [j.id for j in page.journeys]
        token = page.next_page_token
    assert len(ids) == 5 == len(set(ids))
    window = await stub.ListJourneys(
        customers_pb2.ListJourneysRequest(start_time=ts(T0 + 600), end_time=ts(T0 + 1800)), metadata=md
    )
    assert len(window.journeys) == 2
    j = (await stub.GetJourney(customers_pb2.GetJourneyRequest(id=ids[-1]), metadata=md)).journey
    assert j.camera_id == "GATE_A" and j.status == customers_pb2.JOURNEY_STATUS_COMPLETED
    assert list(j.zones_visited) == ["shelves", "checkout"] and j.duration_seconds == 60
    assert j.dwell_seconds["shelves"] == pytest.approx(35) and len(j.zone_stays) == 2
    assert j.entry_time.ToDatetime(tzinfo=UTC) == datetime.fromtimestamp(T0, UTC)
    assert j.conversion == customers_pb2.CONVERSION_STATUS_NO_PURCHASE and j.behavior == "browser"
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.GetJourney(customers_pb2.GetJourneyRequest(id=ids[0]), metadata=auth.metadata(unique_org()))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.ListJourneys(customers_pb2.ListJourneysRequest(page_token="garbage!"), metadata=md)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    sale = customers_pb2.Transaction(transaction_id="r-1", amount=19.99, currency="EUR", till_id="till-2",
                                     zone_name="checkout", items=[customers_pb2.TransactionItem(sku="A1", quantity=2)])
    sale.transaction_time.CopyFrom(ts(T0 + 50))
    recorded = await stub.RecordTransaction(customers_pb2.RecordTransactionRequest(transaction=sale), metadata=md)
    assert recorded.created and recorded.journey.id == ids[-1]
    assert recorded.journey.conversion == customers_pb2.CONVERSION_STATUS_PURCHASED
    assert list(recorded.journey.transaction_ids) == ["r-1"] and recorded.transaction.items[0].sku == "A1"
    again = await stub.RecordTransaction(customers_pb2.RecordTransactionRequest(transaction=sale), metadata=md)
    assert not again.created and again.transaction.journey_id == ids[-1]
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.RecordTransaction(customers_pb2.RecordTransactionRequest(
            transaction=customers_pb2.Transaction(transaction_id="no-time")), metadata=md)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    stats = (await stub.GetJourneyStats(customers_pb2.GetJourneyStatsRequest(), metadata=md)).stats
    assert stats.total_customers == 5 and stats.completed_journeys == 5 and stats.converted_journeys == 1
    assert stats.conversion_rate_percent == pytest.approx(20.0) and stats.revenue == pytest.approx(19.99)
    assert stats.average_duration_seconds == pytest.approx(60 + 30 * 2)

    # The seed's REST bodies, over gRPC and in-process, are the same document.
    over_grpc = await rest_shapes.fetch_customers(stub, org)
    in_process = await rest_shapes.get_customers(runtime.customers, org)
    assert over_grpc == in_process
    assert json.loads(json.dumps(over_grpc)) == over_grpc
    assert list(over_grpc) == ["customers"] and len(over_grpc["customers"]) == 5
    row = over_grpc["customers"][-1]
    assert row[:8] == [ids[-1], j.customer_id, T0, T0 + 60, 60.0, '["shelves", "checkout"]', "browser", "Purchased"]
    datetime.fromisoformat(row[8])  # TIMESTAMP text
    assert [r[2] for r in over_grpc["customers"]] == sorted((r[2] for r in over_grpc["customers"]), reverse=True)
    assert await rest_shapes.fetch_stats(stub, org) == {"total_customers": 5}
    assert await rest_shapes.get_stats(runtime.customers, org) == {"total_customers": 5}


@pytest.mark.parametrize("fmt", [customers_pb2.EXPORT_FORMAT_CSV, customers_pb2.EXPORT_FORMAT_XLSX])
async def test_export_streams_a_file(served, fmt, auth: AuthKit) -> None:  # type: ignore[no-untyped-def]
    runtime, stub = served
    org = unique_org()
    await seed_journeys(runtime, org, 4)
    chunks = [r async for r in stub.ExportJourneys(
        customers_pb2.ExportJourneysRequest(format=fmt, start_time=ts(T0 + 500)), metadata=auth.metadata(org))]
    name, content_type = chunks[0].filename, chunks[0].content_type
    data = b"".join(c.chunk for c in chunks)
    rows = exports.read_csv(data) if fmt == customers_pb2.EXPORT_FORMAT_CSV else exports.read_xlsx(data)
    assert name.endswith(".csv" if fmt == customers_pb2.EXPORT_FORMAT_CSV else ".xlsx")
    assert content_type in (exports.CSV_TYPE, exports.XLSX_TYPE)
    assert len(rows) == 3
    assert list(rows[0])[:9] == list(exports.SEED_COLUMNS)
    assert [float(r["entry_time"]) for r in rows] == [T0 + 600, T0 + 1200, T0 + 1800]
    assert json.loads(rows[0]["zones"]) == ["shelves", "checkout"]


async def test_webhooks_over_grpc(served, auth: AuthKit) -> None:  # type: ignore[no-untyped-def]
    _, stub = served
    md = auth.metadata(unique_org())
    created = await stub.CreateWebhook(customers_pb2.CreateWebhookRequest(url="https://example.com/h"), metadata=md)
    assert created.secret and list(created.webhook.events) == ["customer_entry", "journey_complete"]
    listed = await stub.ListWebhooks(customers_pb2.ListWebhooksRequest(), metadata=md)
    assert [w.id for w in listed.webhooks] == [created.webhook.id]
    log = await stub.ListWebhookDeliveries(customers_pb2.ListWebhookDeliveriesRequest(webhook_id=created.webhook.id),
                                           metadata=md)
    assert list(log.deliveries) == []
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.CreateWebhook(customers_pb2.CreateWebhookRequest(url="not a url"), metadata=md)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    await stub.DeleteWebhook(customers_pb2.DeleteWebhookRequest(id=created.webhook.id), metadata=md)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.DeleteWebhook(customers_pb2.DeleteWebhookRequest(id=created.webhook.id), metadata=md)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
