"""An organisation's identity policy over `IdentityService` (not in the seeds), errors `{"detail": ...}`:

* `GET /identity/policy` -> `{"auto_register", "auto_register_purpose", "updated_at", "updated_by"}`
* `PUT /identity/policy` `{"auto_register": true, "auto_register_purpose": "loyalty enrolment"}` -> the policy saved

Auto-registration stores faces without the person doing anything, so it is off until an organisation's admin
turns it on; both routes are for org admins (platform admins acting on an org) only, and every change is in the
audit log (the identity service records it, with the value it replaced).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from footfall.graph.core.convert import iso_offset
from footfall.graph.core.rest import client, domain_router, error_responses
from footfall.graph.identity.client import IdentityClient
from footfall.graph.identity.models import PolicyIn, PolicyOut
from footfall.graph.identity.rest import ERROR_STYLE
from footfall.graph.security.auth import Caller, require
from footfall.services.core.principal import ADMINS
from footfall.v1 import identity_pb2

router = domain_router(tags=["identity policy"], style=ERROR_STYLE)
Identity = Annotated[IdentityClient, Depends(client(IdentityClient))]
Admin = Annotated[Caller, Depends(require(ADMINS))]


def policy_out(policy: identity_pb2.IdentityPolicy) -> PolicyOut:
    return PolicyOut(
        auto_register=policy.auto_register,
        auto_register_purpose=policy.auto_register_purpose,
        updated_at=iso_offset(policy.updated_at),
        updated_by=policy.updated_by or None,
    )


@router.get("/identity/policy", responses=error_responses(403), summary="The organisation's identity policy")
async def get_policy(caller: Admin, identity: Identity) -> PolicyOut:
    return policy_out(await identity.get_policy(caller))


@router.put(
    "/identity/policy", responses=error_responses(400, 403), summary="Set the organisation's identity policy"
)
async def set_policy(caller: Admin, identity: Identity, body: PolicyIn) -> PolicyOut:
    """Turns auto-registration on or off (audited)."""
    saved = await identity.set_policy(
        caller, auto_register=body.auto_register, auto_register_purpose=body.auto_register_purpose
    )
    return policy_out(saved)


__all__ = ["router"]
