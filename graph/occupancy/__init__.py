"""Occupancy in the gateway: seed 001's REST routes, its GraphQL types, over `footfall.v1.OccupancyService`."""

from footfall.graph.core.domain import GatewayDomain
from footfall.graph.occupancy import rest, schema
from footfall.graph.occupancy.client import OccupancyClient

DOMAIN = GatewayDomain(
    "occupancy", client=OccupancyClient, router=rest.router, schema=schema.MODULE, error_style=rest.ERROR_STYLE
)
