"""Customers in the gateway: seed 000's documents, journeys, transactions and webhooks over REST and
GraphQL, over `footfall.v1.CustomersService`."""

from footfall.graph.core.domain import GatewayDomain
from footfall.graph.customers import rest, schema
from footfall.graph.customers.client import CustomersClient

DOMAIN = GatewayDomain(
    "customers", client=CustomersClient, router=rest.router, schema=schema.MODULE, error_style=rest.ERROR_STYLE
)
