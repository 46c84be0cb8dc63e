"""Identity in the gateway: seed 002's face, user-service and identity-tracker routes (`rest`), seed 003's persons
and demographics (`persons_rest`), the organisation's identity policy (`policy_rest`), and GraphQL persons,
recognition, enrolment, policy and erasure (`schema`), over `footfall.v1.IdentityService` (customer records and
carts from `footfall.v1.CustomersService`)."""

from fastapi import APIRouter
from footfall.graph.core.domain import GatewayDomain
from footfall.graph.identity import persons_rest, policy_rest, rest, schema
from footfall.graph.identity.client import IdentityClient

# Each included router keeps its seed's error style: seed 002's `{"detail"}`, seed 003's `{"error"}`.
router = APIRouter()
for _part in (rest.router, persons_rest.router, policy_rest.router):
    router.include_router(_part)

DOMAIN = GatewayDomain(
    "identity",
    client=IdentityClient,
    router=router,
    schema=schema.MODULE,
    routes=persons_rest.upload_routes(),
    error_style=rest.ERROR_STYLE,
)
