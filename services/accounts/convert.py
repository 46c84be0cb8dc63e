"""Accounts domain records <-> footfall.v1 accounts messages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from footfall.services.accounts.models import ApiKey, AuditEntry, Org, User
from footfall.services.core.errors import InvalidArgument
from footfall.services.core.principal import Principal, Role
from footfall.services.core.timestamps import optional_timestamp, to_timestamp
from footfall.v1 import accounts_pb2
from google.protobuf import json_format, struct_pb2

_ROLE_PB = {
    Role.PLATFORM_ADMIN: accounts_pb2.ROLE_PLATFORM_ADMIN, Role.ORG_ADMIN: accounts_pb2.ROLE_ORG_ADMIN,
    Role.ANALYST: accounts_pb2.ROLE_ANALYST, Role.DEVICE: accounts_pb2.ROLE_DEVICE,
    Role.SERVICE: accounts_pb2.ROLE_SERVICE,
}
_PB_ROLE = {v: k for k, v in _ROLE_PB.items()}
_KIND_PB = {"user": accounts_pb2.CREDENTIAL_KIND_USER, "api_key": accounts_pb2.CREDENTIAL_KIND_API_KEY,
            "service": accounts_pb2.CREDENTIAL_KIND_SERVICE}
_PB_KIND = {v: k for k, v in _KIND_PB.items()}


def role_pb(role: Role) -> Any:
    return _ROLE_PB[role]


def role_from_pb(value: int, default: Role | None = None) -> Role | None:
    if value == accounts_pb2.ROLE_UNSPECIFIED:
        return default
    try:
        return _PB_ROLE[value]
    except KeyError:
        raise InvalidArgument("unknown role") from None


def principal_pb(p: Principal) -> accounts_pb2.Principal:
    return accounts_pb2.Principal(
        subject=p.subject, org=p.org, role=role_pb(p.role), kind=_KIND_PB[p.kind], token_id=p.token_id or "",
        display_name=p.display_name,
        expires_at=None if p.expires_at is None else to_timestamp(datetime.fromtimestamp(p.expires_at, UTC)),
    )


def principal_from_pb(m: accounts_pb2.Principal) -> Principal:
    """For clients of `Authenticate` (e.g. a gateway that runs apart from the services)."""
    role = role_from_pb(m.role)
    if role is None:
        raise InvalidArgument("principal without a role")
    return Principal(
        subject=m.subject, org=m.org, role=role, kind=_PB_KIND.get(m.kind, "user"), token_id=m.token_id or None,
        display_name=m.display_name, expires_at=m.expires_at.ToDatetime(UTC).timestamp() if m.HasField("expires_at") else None,
    )


def org_pb(o: Org) -> accounts_pb2.Org:
    return accounts_pb2.Org(id=o.id, name=o.name, created_at=to_timestamp(o.created_at))


def user_pb(u: User) -> accounts_pb2.User:
    return accounts_pb2.User(
        id=u.id, username=u.username, email=u.email, full_name=u.full_name, is_active=u.is_active,
        created_at=to_timestamp(u.created_at), last_login=optional_timestamp(u.last_login),
        memberships=[accounts_pb2.Membership(org=m.org or "", role=role_pb(m.role)) for m in u.memberships],
    )


def api_key_pb(k: ApiKey) -> accounts_pb2.ApiKey:
    return accounts_pb2.ApiKey(
        id=k.id, org=k.org, role=role_pb(k.role), name=k.name, prefix=k.prefix, created_at=to_timestamp(k.created_at),
        last_used_at=optional_timestamp(k.last_used_at), revoked_at=optional_timestamp(k.revoked_at),
        created_by=k.created_by,
    )


def audit_pb(e: AuditEntry) -> accounts_pb2.AuditEntry:
    detail = struct_pb2.Struct()
    detail.update(e.detail)
    return accounts_pb2.AuditEntry(
        id=e.id, org=e.org, at=to_timestamp(e.at), actor=e.actor, action=e.action, target=e.target, detail=detail,
        ip=e.ip, outcome=e.outcome,
    )


def detail_from_pb(s: struct_pb2.Struct) -> dict[str, Any]:
    return dict(json_format.MessageToDict(s))
