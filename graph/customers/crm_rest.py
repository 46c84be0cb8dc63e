"""The customer record over REST in seed 004's field names, thin adapters over CustomersService:

* `POST /api/v1/customers` (201), `GET /api/v1/customers` (a page), `GET/PUT /api/v1/customers/{customer_id}`
* `POST /api/v1/customers/{customer_id}/interactions` (201): `interaction_type`, `subject`, `status`,
  `interaction_date`
* `POST /api/v1/customers/{customer_id}/segments` (201): `segment_name`, `segment_value`, `description`,
  `assigned_date`

Readers may read, writers write; `organization_id` lets a platform admin pick the organisation. Errors are
seed 004's: 401, 403, 404 `{"detail": "Customer with ID 123 not found"}`, 409 (email taken), 422
`{"detail": [{"field", "message"}]}`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query
from footfall.graph.core.errors import FIELD_LIST
from footfall.graph.core.rest import INT64_MAX, client, domain_router, error_responses
from footfall.graph.customers.client import CustomersClient
from footfall.graph.customers.crm_access import reading_caller, writing_caller
from footfall.graph.customers.crm_convert import loyalty_number
from footfall.graph.customers.crm_models import (
    CustomerIn,
    CustomerOut,
    CustomerPageOut,
    CustomerUpdateIn,
    InteractionIn,
    InteractionOut,
    LoyaltyStatus,
    SegmentIn,
    SegmentOut,
)
from footfall.graph.security.auth import Caller
from footfall.v1 import customers_pb2

router = domain_router("/api/v1/customers", tags=["customers (CRM)"], style=FIELD_LIST)
Customers = Annotated[CustomersClient, Depends(client(CustomersClient))]
ReadingCaller = Annotated[Caller, Depends(reading_caller)]
WritingCaller = Annotated[Caller, Depends(writing_caller)]
CustomerId = Annotated[int, Path(ge=1, le=INT64_MAX, description="The customer's id")]


@router.post("", status_code=201, responses=error_responses(409, 422), summary="Create a customer")
async def create_customer(caller: WritingCaller, customers: Customers, body: CustomerIn) -> CustomerOut:
    return CustomerOut.of(await customers.create_customer(caller, body.to_proto()), caller.org)


@router.get("", responses=error_responses(422), summary="List customers")
async def list_customers(
    caller: ReadingCaller,
    customers: Customers,
    page_size: Annotated[int, Query(ge=1, le=1000, description="At most 1000")] = 100,
    page_token: Annotated[str | None, Query(max_length=512, description="next_page_token of the previous page")] = None,
    loyalty_status: Annotated[LoyaltyStatus | None, Query(description="Only this loyalty status")] = None,
    email: Annotated[str | None, Query(max_length=254, pattern=r"^[^\x00]*$", description="Only this email")] = None,
) -> CustomerPageOut:
    """The organisation's customers by id, oldest first."""
    request = customers_pb2.ListCustomersRequest(
        page_size=page_size, page_token=page_token or "", email=email or "",
        loyalty_status=loyalty_number(loyalty_status) if loyalty_status else 0,  # type: ignore[arg-type]
    )
    reply = await customers.list_customers(caller, request)
    return CustomerPageOut(
        customers=[CustomerOut.of(c, caller.org) for c in reply.customers], total_count=reply.total_size,
        next_page_token=reply.next_page_token or None,
    )


@router.get("/{customer_id}", responses=error_responses(404, 422), summary="Get a customer")
async def get_customer(caller: ReadingCaller, customers: Customers, customer_id: CustomerId) -> CustomerOut:
    return CustomerOut.of(await customers.get_customer(caller, customer_id), caller.org)


@router.put("/{customer_id}", responses=error_responses(404, 409, 422), summary="Update a customer")
async def update_customer(
    caller: WritingCaller, customers: Customers, customer_id: CustomerId, body: CustomerUpdateIn
) -> CustomerOut:
    """Changes the fields given; `email` or `phone` null clears it."""
    customer, paths = body.to_proto(customer_id)
    return CustomerOut.of(await customers.update_customer(caller, customer, paths), caller.org)


@router.post(
    "/{customer_id}/interactions", status_code=201, responses=error_responses(404, 422), summary="Log an interaction"
)
async def add_interaction(
    caller: WritingCaller, customers: Customers, customer_id: CustomerId, body: InteractionIn
) -> InteractionOut:
    return InteractionOut.of(await customers.add_interaction(caller, body.to_proto(customer_id)))


@router.post(
    "/{customer_id}/segments", status_code=201, responses=error_responses(404, 422), summary="Assign a segment"
)
async def assign_segment(
    caller: WritingCaller, customers: Customers, customer_id: CustomerId, body: SegmentIn
) -> SegmentOut:
    """Puts the customer in the segment; assigning it again replaces its value, description and date."""
    return SegmentOut.of(await customers.assign_segment(caller, body.to_proto(customer_id)))
