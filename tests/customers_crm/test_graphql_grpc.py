"""The customer record over GraphQL (the same gateway) and gRPC (the service's own contract), and the Python
API `CustomerAnalyticsService(db, organization_id)` with a fixed clock."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import grpc
import httpx
import pytest
from footfall.services.core.errors import InvalidArgument, NotFound
from footfall.services.customers.records import CustomerAnalyticsService
from footfall.services.customers.records.domain import CustomerDraft, InteractionDraft, SegmentAssignment
from footfall.v1 import customers_pb2, customers_pb2_grpc
from google.protobuf.field_mask_pb2 import FieldMask

from tests.conftest import unique_org
from tests.customers_crm import generated
from tests.customers_crm.conftest import Crm
from tests.graphql_client import gql, gql_data


async def test_graphql_round_trip(crm: Crm) -> None:
    email = f"g-{uuid.uuid4().hex[:8]}@example.com"
    async with httpx.AsyncClient(base_url=crm.base_url, headers=crm.headers(crm.admin_a), timeout=30) as client:
        made = (await gql_data(client, """mutation($email: String!) { createCustomer(input: {name: "Grace",
            email: $email, loyaltyStatus: GOLD, externalIds: [{system: "pos", value: "P-9"}]})
            { id name email phone loyaltyStatus externalIds { system value } } }""", {"email": email}))["createCustomer"]
        assert made == {"id": made["id"], "name": "Grace", "email": email, "phone": None, "loyaltyStatus": "GOLD",
                        "externalIds": [{"system": "pos", "value": "P-9"}]}
        cid = made["id"]
        changed = (await gql_data(client, """mutation($id: ID!) { updateCustomer(id: $id,
            input: {loyaltyStatus: PLATINUM, phone: "555-0199"}) { name loyaltyStatus phone } }""", {"id": cid}))
        assert changed["updateCustomer"] == {"name": "Grace", "loyaltyStatus": "PLATINUM", "phone": "555-0199"}
        added = (await gql_data(client, """mutation($id: ID!) { addInteraction(customerId: $id, input: {
            interactionType: COMPLAINT, subject: "Cold coffee", status: COMPLETED,
            interactionDate: "2024-03-01T09:00:00Z"}) { customerId interactionType status subject interactionDate } }""",
            {"id": cid}))["addInteraction"]
        assert added == {"customerId": cid, "interactionType": "COMPLAINT", "status": "COMPLETED",
                         "subject": "Cold coffee", "interactionDate": "2024-03-01T09:00:00+00:00"}
        segment = (await gql_data(client, """mutation($id: ID!) { assignSegment(customerId: $id,
            input: {segmentName: "vip", segmentValue: 99.5}) { segmentName segmentValue isActive } }""", {"id": cid}))
        assert segment["assignSegment"] == {"segmentName": "vip", "segmentValue": 99.5, "isActive": True}
        data = await gql_data(client, """query($id: ID!, $email: String!) {
            customer(id: $id) { name }
            customers(first: 5, email: $email) { totalCount edges { node { id } } }
            customerAnalytics(customerId: $id, recentInteractionsLimit: 1) { totalInteractions
                interactionTypes { name count } segments { segmentName } recentInteractions { subject } }
            segments
            dashboardMetrics { totalCustomers }
        }""", {"id": cid, "email": email})
        assert data["customer"] == {"name": "Grace"}
        assert data["customers"] == {"totalCount": 1, "edges": [{"node": {"id": cid}}]}
        assert data["customerAnalytics"] == {
            "totalInteractions": 1, "interactionTypes": [{"name": "complaint", "count": 1}],
            "segments": [{"segmentName": "vip"}], "recentInteractions": [{"subject": "Cold coffee"}]}
        assert "vip" in data["segments"] and data["dashboardMetrics"]["totalCustomers"] >= 1
        missing = await gql(client, "{ customerAnalytics(customerId: \"987654321\") { totalInteractions } }")
        assert missing["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        assert (await gql_data(client, '{ customer(id: "987654321") { id } }')) == {"customer": None}
    async with httpx.AsyncClient(base_url=crm.base_url, headers=crm.headers(crm.analyst_a), timeout=30) as client:
        denied = await gql(client, 'mutation { createCustomer(input: {name: "No"}) { id } }')
        assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    entries, _, _ = await crm.accounts.list_audit(crm.org_a, 1000, "")
    assert {"graphql:customerAnalytics", "graphql:segments", "graphql:dashboardMetrics"} <= {
        e.target for e in entries if e.action == "analytics.view"}


async def test_grpc_contract(crm: Crm) -> None:
    stub = customers_pb2_grpc.CustomersServiceStub(crm.channel)
    admin = (("authorization", f"Bearer {crm.tokens[crm.admin_a.username]}"),)
    analyst = (("authorization", f"Bearer {crm.tokens[crm.analyst_a.username]}"),)
    made = (await stub.CreateCustomer(customers_pb2.CreateCustomerRequest(customer=customers_pb2.Customer(
        name="Linus", phone="555-0101", external_ids={"shop": "42"})), metadata=admin)).customer
    assert made.loyalty_status == customers_pb2.LOYALTY_STATUS_BRONZE
    # A mask names what changes: the phone is cleared, the name kept although the message leaves it empty.
    changed = (await stub.UpdateCustomer(customers_pb2.UpdateCustomerRequest(
        customer=customers_pb2.Customer(id=made.id, loyalty_status=customers_pb2.LOYALTY_STATUS_SILVER),
        update_mask=FieldMask(paths=["loyalty_status", "phone"])), metadata=admin)).customer
    assert (changed.name, changed.phone, changed.loyalty_status) == ("Linus", "", customers_pb2.LOYALTY_STATUS_SILVER)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.UpdateCustomer(customers_pb2.UpdateCustomerRequest(
            customer=customers_pb2.Customer(id=made.id), update_mask=FieldMask(paths=["id"])), metadata=admin)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.AddInteraction(customers_pb2.AddInteractionRequest(
            interaction=customers_pb2.Interaction(customer_id=made.id)), metadata=admin)
    assert (err.value.code(), err.value.details()) == (grpc.StatusCode.INVALID_ARGUMENT, "interaction_type is required")
    # Analysts read (Get/List) but never write.
    got = await stub.GetCustomerAnalytics(customers_pb2.GetCustomerAnalyticsRequest(customer_id=made.id), metadata=analyst)
    assert got.analytics.customer_name == "Linus" and not got.analytics.HasField("last_interaction_date")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.CreateCustomer(customers_pb2.CreateCustomerRequest(customer=customers_pb2.Customer(name="x")),
                                  metadata=analyst)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.GetCustomer(customers_pb2.GetCustomerRequest(id=made.id))
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_python_api_with_a_fixed_clock(crm: Crm) -> None:
    org = unique_org("crmpy")
    now = datetime(2024, 1, 16, 12, 0, tzinfo=UTC)
    data = await generated.generate(crm.records, org, seed=7, customers=12, now=now)
    analytics = CustomerAnalyticsService(crm.records.db, org, clock=lambda: now)
    dashboard = await analytics.get_dashboard_metrics()
    expected = generated.dashboard_metrics(data, now.date(), "")
    assert (dashboard.total_interactions_today, dashboard.total_interactions_week,
            dashboard.total_interactions_month) == (expected["total_interactions_today"],
                                                    expected["total_interactions_week"],
                                                    expected["total_interactions_month"])
    assert [(d.day.isoformat(), d.interaction_count) for d in dashboard.recent_activity] == [
        (d["date"], d["interaction_count"]) for d in expected["recent_activity"]]  # type: ignore[attr-defined]
    segment = await analytics.get_segment_analytics("premium", timeline_days=365)
    want = generated.segment_analytics(data, "premium", now.date(), 365, "")
    assert (segment.total_customers, segment.total_interactions, segment.interaction_distribution) == (
        want["total_customers"], want["total_interactions"], want["interaction_distribution"])
    names, token = await analytics.list_segments(2)
    rest, last = await analytics.list_segments(1000, token)
    assert names + rest == await analytics.get_available_segments() and last == ""
    with pytest.raises(NotFound, match="^Customer with ID 5 not found$"):
        await CustomerAnalyticsService(crm.records.db, unique_org("crmempty")).get_customer_metrics(5)
    with pytest.raises(InvalidArgument):
        await analytics.get_customer_metrics(next(iter(data.names)), recent_interactions_limit=21)
    # A customer id of one organisation is not found from another (writes included).
    other = unique_org("crmother")
    cid = next(iter(data.names))
    with pytest.raises(NotFound):
        await crm.records.add_interaction(other, InteractionDraft(cid, "call"))
    with pytest.raises(NotFound):
        await crm.records.assign_segment(other, SegmentAssignment(cid, "vip"))
    c = await crm.records.create(other, CustomerDraft(name="Other"))
    assert (await CustomerAnalyticsService(crm.records.db, other).get_organization_summary()).total_customers == 1
    assert c.id not in data.names
    assert now - timedelta(days=1) < dashboard.calculated_at <= now
