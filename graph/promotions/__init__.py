"""Promotions in the gateway: seed 002's promotions display routes and the GraphQL fields and subscription,
over `footfall.v1.PromotionsService`."""

from footfall.graph.core.domain import GatewayDomain
from footfall.graph.promotions import rest, schema
from footfall.graph.promotions.client import PromotionsClient

DOMAIN = GatewayDomain(
    "promotions", client=PromotionsClient, router=rest.router, schema=schema.MODULE, error_style=rest.ERROR_STYLE
)
