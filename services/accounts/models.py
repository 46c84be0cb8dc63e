"""The accounts domain's records: plain dataclasses, no SQL or protobuf."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from footfall.services.core.principal import Role


@dataclass(frozen=True)
class Org:
    id: str
    name: str
    created_at: datetime


@dataclass(frozen=True)
class Membership:
    org: str | None  # None for platform_admin: every organisation
    role: Role


@dataclass(frozen=True)
class User:
    id: str
    username: str
    email: str
    full_name: str
    is_active: bool
    created_at: datetime
    last_login: datetime | None = None
    memberships: tuple[Membership, ...] = ()
    password_hash: str | None = field(default=None, repr=False, compare=False)

    @property
    def is_platform_admin(self) -> bool:
        return any(m.role is Role.PLATFORM_ADMIN for m in self.memberships)

    def role_in(self, org: str) -> Role | None:
        if self.is_platform_admin:
            return Role.PLATFORM_ADMIN
        return next((m.role for m in self.memberships if m.org == org), None)


@dataclass(frozen=True)
class ApiKey:
    id: str
    org: str
    role: Role
    name: str
    prefix: str
    created_at: datetime
    created_by: str = ""
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class AuditEntry:
    id: int
    org: str
    at: datetime
    actor: str
    action: str
    target: str
    detail: dict[str, Any]
    ip: str
    outcome: str


@dataclass(frozen=True)
class LoginResult:
    token: str
    expires_in: int
    user: User
    principal: Any  # footfall.services.core.principal.Principal


@dataclass(frozen=True)
class DashboardStats:
    total_users: int
    active_users: int
    total_logs: int
