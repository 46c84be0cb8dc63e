"""Vision in the gateway: seed 002's edge-processor routes (tracking, frames, MJPEG, `/ws/tracking`) and
its GraphQL types, over `footfall.v1.VisionService`."""

from footfall.graph.core.domain import GatewayDomain
from footfall.graph.vision import rest, schema
from footfall.graph.vision.client import VisionClient

DOMAIN = GatewayDomain(
    "vision",
    client=VisionClient,
    router=rest.router,
    schema=schema.MODULE,
    routes=rest.ROUTES,
    error_style=rest.ERROR_STYLE,
)
