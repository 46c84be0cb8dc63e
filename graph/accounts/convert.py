"""Accounts protobuf <-> the shapes REST (seeds 002 and 003) and GraphQL share.

One place knows how a protobuf `User` becomes seed 002's admin user or seed 003's login user, and how an
audit entry reads as a log line, so the REST routes, the GraphQL types and the dashboard websocket agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from footfall.services.core.principal import Principal, Role
from footfall.v1 import accounts_pb2
from google.protobuf.json_format import MessageToDict
from google.protobuf.timestamp_pb2 import Timestamp

_ROLE_TO_PB: dict[Role, int] = {
    Role.PLATFORM_ADMIN: accounts_pb2.ROLE_PLATFORM_ADMIN,
    Role.ORG_ADMIN: accounts_pb2.ROLE_ORG_ADMIN,
    Role.ANALYST: accounts_pb2.ROLE_ANALYST,
    Role.DEVICE: accounts_pb2.ROLE_DEVICE,
    Role.SERVICE: accounts_pb2.ROLE_SERVICE,
}
_PB_TO_ROLE = {v: k for k, v in _ROLE_TO_PB.items()}
_KINDS = {
    accounts_pb2.CREDENTIAL_KIND_USER: "user",
    accounts_pb2.CREDENTIAL_KIND_API_KEY: "api_key",
    accounts_pb2.CREDENTIAL_KIND_SERVICE: "service",
}


def role_to_pb(role: Role | None) -> int:
    return _ROLE_TO_PB[role] if role is not None else accounts_pb2.ROLE_UNSPECIFIED


def role_from_pb(value: int) -> Role | None:
    """The role a protobuf enum value names; None for `ROLE_UNSPECIFIED` (never shown to callers)."""
    return _PB_TO_ROLE.get(value)


def has_time(ts: Timestamp) -> bool:
    return bool(ts.seconds or ts.nanos)


def to_datetime(ts: Timestamp) -> datetime | None:
    return ts.ToDatetime(tzinfo=UTC) if has_time(ts) else None


def iso(ts: Timestamp) -> str | None:
    when = to_datetime(ts)
    return when.isoformat() if when else None


def principal_from_pb(msg: accounts_pb2.Principal) -> Principal:
    role = role_from_pb(msg.role)
    if role is None:  # a service that answers without a role is broken, not permissive
        raise ValueError("principal without a role")
    expires = msg.expires_at.seconds + msg.expires_at.nanos / 1e9 if msg.HasField("expires_at") else None
    return Principal(
        subject=msg.subject,
        org=msg.org,
        role=role,
        kind=_KINDS.get(msg.kind, "user"),  # type: ignore[arg-type]
        token_id=msg.token_id or None,
        display_name=msg.display_name,
        expires_at=expires,
    )


def user_role(user: accounts_pb2.User, org: str | None = None) -> Role | None:
    """The user's role in `org` (a platform admin's role covers every org); the first one when `org` is None."""
    for membership in user.memberships:
        role = role_from_pb(membership.role)
        if role is Role.PLATFORM_ADMIN or org is None or membership.org == org:
            return role
    return None


def admin_user(user: accounts_pb2.User) -> dict[str, Any]:
    """Seed 002's admin user object."""
    return {
        "username": user.username,
        "full_name": user.full_name,
        "email": user.email,
        "is_active": user.is_active,
        "created_at": iso(user.created_at) or "",
    }


def session_user(user: accounts_pb2.User) -> dict[str, Any]:
    """Seed 003's login user: the full name split into first and last name."""
    first, _, last = user.full_name.strip().partition(" ")
    return {
        "id": user.id,
        "email": user.email,
        "first_name": first,
        "last_name": last.strip(),
        "is_verified": user.is_active,
    }


def log_entry(entry: accounts_pb2.AuditEntry) -> dict[str, Any]:
    """One audit entry as a seed 002 log line: who, what, when, from where, plus a readable message."""
    detail = MessageToDict(entry.detail) if entry.HasField("detail") else {}
    return {
        "id": entry.id,
        "timestamp": iso(entry.at) or "",
        "level": "info" if entry.outcome in ("", "success") else "warning",
        "message": log_message(entry),
        "org": entry.org or None,
        "actor": entry.actor,
        "action": entry.action,
        "target": entry.target or None,
        "outcome": entry.outcome or "success",
        "ip": entry.ip or None,
        "detail": detail,
    }


def log_message(entry: accounts_pb2.AuditEntry) -> str:
    target = f" {entry.target}" if entry.target else ""
    origin = f" from {entry.ip}" if entry.ip else ""
    outcome = "" if entry.outcome in ("", "success") else f" ({entry.outcome})"
    return f"{entry.actor or 'anonymous'}: {entry.action}{target}{outcome}{origin}"
