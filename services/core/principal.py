"""Who is calling: the principal every interface derives from a credential, and what each role may do.

The organisation comes from the credential, never from a request header: a header (`X-Footfall-Org`, gRPC
`x-footfall-org`) may only point a platform admin (or a service calling on a user's behalf) at another org.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from footfall.services.core.errors import PermissionDenied
from footfall.services.core.tenancy import validate_org


class Role(StrEnum):
    PLATFORM_ADMIN = "platform_admin"  # every organisation
    ORG_ADMIN = "org_admin"  # everything in one organisation
    ANALYST = "analyst"  # read-only
    DEVICE = "device"  # cameras and edge boxes: push frames, publish crossings
    SERVICE = "service"  # one Footfall service calling another


#: Roles that may read an organisation's data.
READERS = frozenset({Role.PLATFORM_ADMIN, Role.ORG_ADMIN, Role.ANALYST, Role.SERVICE})
#: Roles that may change an organisation's configuration and data.
WRITERS = frozenset({Role.PLATFORM_ADMIN, Role.ORG_ADMIN, Role.SERVICE})
#: Roles that may feed frames and crossings in.
FEEDERS = frozenset({Role.PLATFORM_ADMIN, Role.ORG_ADMIN, Role.DEVICE, Role.SERVICE})
#: Roles that may manage users and keys of an organisation.
ADMINS = frozenset({Role.PLATFORM_ADMIN, Role.ORG_ADMIN})

CredentialKind = Literal["user", "api_key", "service"]


@dataclass(frozen=True)
class Principal:
    """An authenticated caller.

    `org` is the organisation of the credential (for a platform admin: the org they act on by default);
    `subject` is the username, the API key id or the service name; `token_id` the JWT `jti` (revocable).
    """

    subject: str
    org: str
    role: Role
    kind: CredentialKind = "user"
    token_id: str | None = None
    display_name: str = ""
    expires_at: float | None = None
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def is_platform_admin(self) -> bool:
        return self.role is Role.PLATFORM_ADMIN

    def acting_on(self, requested_org: str | None) -> str:
        """The organisation this call acts on: the credential's, or (platform admin / service) the one asked for."""
        if not requested_org or requested_org == self.org:
            return self.org
        requested_org = validate_org(requested_org)
        if self.role in (Role.PLATFORM_ADMIN, Role.SERVICE):
            return requested_org
        raise PermissionDenied("this credential may not act on another organisation")

    def require(self, allowed: frozenset[Role] | set[Role]) -> None:
        """Raise `PermissionDenied` unless this principal's role is one of `allowed`."""
        if self.role not in allowed:
            raise PermissionDenied(f"role {self.role.value} may not do this")

    def with_org(self, org: str) -> Principal:
        return Principal(
            self.subject, org, self.role, self.kind, self.token_id, self.display_name, self.expires_at, self.extra
        )
