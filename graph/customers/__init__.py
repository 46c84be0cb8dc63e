"""Customers in the gateway: seed 000's documents, journeys, transactions and webhooks, the customer record
with seed 004's analytics (`crm_rest`, `analytics_rest`, `crm_schema`) and seed 003's commerce (`commerce_rest`,
`commerce_schema`), over REST and GraphQL, over `footfall.v1.CustomersService`."""

from fastapi import APIRouter
from footfall.graph.core.domain import GatewayDomain
from footfall.graph.customers import analytics_rest, commerce_rest, crm_rest, rest, schema
from footfall.graph.customers.client import CustomersClient
from footfall.graph.customers.commerce_schema import with_commerce
from footfall.graph.customers.crm_schema import with_crm

# Each included router keeps its own error style (seed 000's `{"detail"}`, seed 004's field lists, seed 003's
# `{"error"}` in commerce_rest).
router = APIRouter()
for _part in (rest.router, crm_rest.router, analytics_rest.router, commerce_rest.router):
    router.include_router(_part)

DOMAIN = GatewayDomain(
    "customers", client=CustomersClient, router=router, schema=with_commerce(with_crm(schema.MODULE)),
    error_style=rest.ERROR_STYLE,
)
