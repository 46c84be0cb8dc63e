"""PostgreSQL storage of the accounts service: every SQL statement of the service lives here.

Functions take a connection from `Database.tenant(org)` (row-level security scopes them to one organisation)
except the `*_system` ones, which run inside `Database.system()`: lookups by credential before the
organisation is known, platform admins, and the platform-wide audit entries.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import psycopg
from footfall.services.accounts.models import ApiKey, AuditEntry, DashboardStats, Membership, Org, User
from footfall.services.core.errors import AlreadyExists
from footfall.services.core.principal import Role
from psycopg.types.json import Jsonb

Conn = psycopg.AsyncConnection

_USER_COLUMNS = """u.id::text AS id, u.username, u.email, u.full_name, u.is_active, u.created_at, u.last_login,
    u.password_hash,
    COALESCE((SELECT jsonb_agg(jsonb_build_array(m.org_id, m.role) ORDER BY m.org_id NULLS FIRST)
              FROM memberships m WHERE m.user_id = u.id), '[]'::jsonb) AS memberships"""
_KEY_COLUMNS = "id, org_id, role, name, prefix, created_at, created_by, last_used_at, revoked_at"
_AUDIT_COLUMNS = "id, org_id, at, actor, action, target, detail, ip, outcome"


def _user(row: dict[str, Any]) -> User:
    return User(
        id=row["id"], username=row["username"], email=row["email"], full_name=row["full_name"],
        is_active=row["is_active"], created_at=row["created_at"], last_login=row["last_login"],
        memberships=tuple(Membership(org, Role(role)) for org, role in row["memberships"]),
        password_hash=row["password_hash"],
    )


def _key(row: dict[str, Any]) -> ApiKey:
    return ApiKey(
        id=row["id"], org=row["org_id"], role=Role(row["role"]), name=row["name"], prefix=row["prefix"],
        created_at=row["created_at"], created_by=row["created_by"], last_used_at=row["last_used_at"],
        revoked_at=row["revoked_at"],
    )


def _audit(row: dict[str, Any]) -> AuditEntry:
    return AuditEntry(
        id=row["id"], org=row["org_id"], at=row["at"], actor=row["actor"], action=row["action"],
        target=row["target"], detail=dict(row["detail"] or {}), ip=row["ip"], outcome=row["outcome"],
    )


# --- organisations -------------------------------------------------------------------------------------


async def insert_org_system(conn: Conn, org_id: str, name: str, *, if_missing: bool = False) -> Org:
    conflict = "ON CONFLICT (id) DO NOTHING" if if_missing else ""
    try:
        await conn.execute(f"INSERT INTO orgs (id, name) VALUES (%s, %s) {conflict}", (org_id, name))
    except psycopg.errors.UniqueViolation:
        raise AlreadyExists("Organisation already exists") from None
    row = await (await conn.execute("SELECT id, name, created_at FROM orgs WHERE id = %s", (org_id,))).fetchone()
    assert row is not None
    return Org(row["id"], row["name"], row["created_at"])


async def list_orgs(conn: Conn, after: str, limit: int) -> list[Org]:
    """Every org visible on `conn` (all inside system(), the tenant's own inside tenant())."""
    cur = await conn.execute(
        "SELECT id, name, created_at FROM orgs WHERE id > %s ORDER BY id LIMIT %s", (after, limit)
    )
    return [Org(r["id"], r["name"], r["created_at"]) for r in await cur.fetchall()]


# --- users ---------------------------------------------------------------------------------------------


async def find_user_system(conn: Conn, username_or_email: str) -> User | None:
    cur = await conn.execute(
        f"SELECT {_USER_COLUMNS} FROM users u WHERE u.username = %s OR (u.email <> '' AND lower(u.email) = lower(%s))"
        " ORDER BY (u.username = %s) DESC LIMIT 1",
        (username_or_email, username_or_email, username_or_email),
    )
    row = await cur.fetchone()
    return _user(row) if row else None


async def get_user(conn: Conn, username: str) -> User | None:
    """The user on `conn` (inside a tenant: only if they have a role in it)."""
    cur = await conn.execute(f"SELECT {_USER_COLUMNS} FROM users u WHERE u.username = %s", (username,))
    row = await cur.fetchone()
    return _user(row) if row else None


async def insert_user(
    conn: Conn, *, username: str, email: str, full_name: str, password_hash: str, org: str | None, role: Role
) -> str:
    """Insert a user and their one membership (org None: platform admin); returns the user's id."""
    user_id = str(uuid.uuid4())
    try:
        async with conn.transaction():
            await conn.execute(
                "INSERT INTO users (id, username, email, full_name, password_hash) VALUES (%s, %s, %s, %s, %s)",
                (user_id, username, email, full_name, password_hash),
            )
            await conn.execute(
                "INSERT INTO memberships (user_id, org_id, role) VALUES (%s, %s, %s)", (user_id, org, role.value)
            )
    except psycopg.errors.UniqueViolation as err:
        if "email" in str(err.diag.constraint_name or ""):
            raise AlreadyExists("Email already registered") from None
        raise AlreadyExists("Username already exists") from None
    return user_id


async def list_users(conn: Conn, after: str, limit: int, *, platform_admins: bool = False) -> list[User]:
    """Users on `conn`; inside system() with `platform_admins` only the platform admins."""
    where = "EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = u.id AND m.org_id IS NULL)" if platform_admins else "TRUE"
    cur = await conn.execute(
        f"SELECT {_USER_COLUMNS} FROM users u WHERE u.username > %s AND {where} ORDER BY u.username LIMIT %s",
        (after, limit),
    )
    return [_user(r) for r in await cur.fetchall()]


async def count_users(conn: Conn) -> tuple[int, int]:
    row = await (await conn.execute(
        "SELECT count(*) AS total, count(*) FILTER (WHERE is_active) AS active FROM users"
    )).fetchone()
    assert row is not None
    return int(row["total"]), int(row["active"])


async def set_user_active(conn: Conn, username: str, active: bool) -> bool:
    cur = await conn.execute("UPDATE users SET is_active = %s WHERE username = %s", (active, username))
    return cur.rowcount > 0


async def touch_last_login_system(conn: Conn, user_id: str) -> None:
    await conn.execute("UPDATE users SET last_login = now() WHERE id = %s", (user_id,))


async def delete_membership(conn: Conn, user_id: str) -> bool:
    """Remove the user's role in the tenant of `conn`."""
    cur = await conn.execute("DELETE FROM memberships WHERE user_id = %s", (user_id,))
    return cur.rowcount > 0


async def delete_user_system(conn: Conn, user_id: str, *, only_if_orphaned: bool) -> None:
    """Delete the user row (with `only_if_orphaned`: only once no organisation holds a role for them)."""
    extra = " AND NOT EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = users.id)" if only_if_orphaned else ""
    await conn.execute(f"DELETE FROM users WHERE id = %s{extra}", (user_id,))


async def user_state_system(conn: Conn, username: str) -> bool | None:
    """Whether the user may still use their tokens: active (True), disabled (False), gone (None)."""
    row = await (await conn.execute("SELECT is_active FROM users WHERE username = %s", (username,))).fetchone()
    return None if row is None else bool(row["is_active"])


# --- tokens --------------------------------------------------------------------------------------------


async def revoke_token_system(conn: Conn, jti: str, expires_at: datetime) -> None:
    await conn.execute(
        "INSERT INTO revoked_tokens (jti, expires_at) VALUES (%s, %s) ON CONFLICT (jti) DO NOTHING", (jti, expires_at)
    )


async def token_revoked_system(conn: Conn, jti: str) -> bool:
    return await (await conn.execute("SELECT 1 FROM revoked_tokens WHERE jti = %s", (jti,))).fetchone() is not None


async def prune_revoked_tokens_system(conn: Conn) -> int:
    cur = await conn.execute("DELETE FROM revoked_tokens WHERE expires_at < now() - interval '1 day'")
    return cur.rowcount


# --- API keys ------------------------------------------------------------------------------------------


async def insert_api_key(
    conn: Conn, *, key_id: str, org: str, role: Role, name: str, prefix: str, key_hash: str, created_by: str
) -> ApiKey:
    cur = await conn.execute(
        f"INSERT INTO api_keys (id, org_id, role, name, prefix, key_hash, created_by)"
        f" VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING {_KEY_COLUMNS}",
        (key_id, org, role.value, name, prefix, key_hash, created_by),
    )
    row = await cur.fetchone()
    assert row is not None
    return _key(row)


async def list_api_keys(conn: Conn, offset: int, limit: int, include_revoked: bool) -> list[ApiKey]:
    where = "TRUE" if include_revoked else "revoked_at IS NULL"
    cur = await conn.execute(
        f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE {where} ORDER BY created_at DESC, id OFFSET %s LIMIT %s",
        (offset, limit),
    )
    return [_key(r) for r in await cur.fetchall()]


async def revoke_api_key(conn: Conn, key_id: str) -> ApiKey | None:
    cur = await conn.execute(
        f"UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now()) WHERE id = %s RETURNING {_KEY_COLUMNS}",
        (key_id,),
    )
    row = await cur.fetchone()
    return _key(row) if row else None


async def find_api_key_system(conn: Conn, key_hash: str) -> ApiKey | None:
    cur = await conn.execute(f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE key_hash = %s", (key_hash,))
    row = await cur.fetchone()
    return _key(row) if row else None


async def touch_api_key_system(conn: Conn, key_id: str, min_interval_s: float) -> None:
    """Record use, at most once per `min_interval_s` (a busy device must not write on every frame)."""
    await conn.execute(
        "UPDATE api_keys SET last_used_at = now() WHERE id = %s"
        " AND (last_used_at IS NULL OR last_used_at < now() - make_interval(secs => %s))",
        (key_id, min_interval_s),
    )


# --- audit log -----------------------------------------------------------------------------------------


async def insert_audit(
    conn: Conn, *, org: str, actor: str, action: str, target: str, detail: dict[str, Any], ip: str, outcome: str
) -> AuditEntry:
    cur = await conn.execute(
        f"INSERT INTO audit_log (org_id, actor, action, target, detail, ip, outcome)"
        f" VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING {_AUDIT_COLUMNS}",
        (org, actor, action, target, Jsonb(detail), ip, outcome),
    )
    row = await cur.fetchone()
    assert row is not None
    return _audit(row)


async def list_audit(conn: Conn, before_id: int | None, limit: int) -> tuple[list[AuditEntry], int]:
    args: list[Any] = []
    where = "TRUE"
    if before_id is not None:
        where, args = "id < %s", [before_id]
    cur = await conn.execute(f"SELECT {_AUDIT_COLUMNS} FROM audit_log WHERE {where} ORDER BY id DESC LIMIT %s",
                             (*args, limit))
    rows = [_audit(r) for r in await cur.fetchall()]
    total = await (await conn.execute("SELECT count(*) AS n FROM audit_log")).fetchone()
    assert total is not None
    return rows, int(total["n"])


async def dashboard_stats(conn: Conn) -> DashboardStats:
    total, active = await count_users(conn)
    logs = await (await conn.execute("SELECT count(*) AS n FROM audit_log")).fetchone()
    assert logs is not None
    return DashboardStats(total, active, int(logs["n"]))
