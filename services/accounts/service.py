"""The accounts domain: login and logout, user, organisation and key management, the audit log.

Every method takes the acting `Principal` (what the interceptor authenticated) and the organisation the call
acts on; role checks beyond the per-method policy of the gRPC interceptor live here.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
from datetime import UTC, datetime
from typing import Any

from footfall.services.accounts import passwords, store
from footfall.services.accounts.models import ApiKey, AuditEntry, DashboardStats, LoginResult, Org, User
from footfall.services.core.db import Database
from footfall.services.core.errors import InvalidArgument, NotFound, PermissionDenied, Unauthenticated
from footfall.services.core.principal import ADMINS, Principal, Role
from footfall.services.core.tenancy import validate_org
from footfall.services.core.tokens import TokenSigner

log = logging.getLogger(__name__)

INCORRECT_LOGIN = "Incorrect username or password"
DISABLED = "User account is disabled"
API_KEY_PREFIX = "ffk_"
#: Roles an API key may carry (never platform_admin or service).
KEY_ROLES = frozenset({Role.ORG_ADMIN, Role.ANALYST, Role.DEVICE})
MAX_PAGE = 500
OUTCOMES = ("success", "failure", "denied")
_MAX_TEXT = 256


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def new_api_key() -> tuple[str, str, str]:
    """(id, key, prefix): the key is 256 random bits, so a plain SHA-256 of it is a safe stored form."""
    key_id = secrets.token_hex(6)
    key = f"{API_KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    return key_id, key, key[: len(API_KEY_PREFIX) + len(key_id)]


def _page(token: str) -> str:
    if not token:
        return ""
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except ValueError:  # binascii.Error and UnicodeDecodeError included
        raise InvalidArgument("invalid page_token") from None


def _token(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode()


def _size(page_size: int, default: int = 100) -> int:
    if page_size < 0:
        raise InvalidArgument("page_size must not be negative")
    return min(page_size or default, MAX_PAGE)


def _text(value: str, name: str, *, required: bool = False, limit: int = _MAX_TEXT) -> str:
    value = value.strip()
    if required and not value:
        raise InvalidArgument(f"{name} is required")
    if len(value) > limit or "\x00" in value:
        raise InvalidArgument(f"invalid {name}")
    return value


def _check_username(username: str) -> str:
    username = _text(username, "username", required=True, limit=64)
    if any(c.isspace() for c in username) or not username.isprintable():
        raise InvalidArgument("invalid username")
    return username


class Accounts:
    """The accounts service over one database and one token signer."""

    def __init__(self, db: Database, signer: TokenSigner, *, access_ttl_s: int = 1800, session_ttl_s: int = 8 * 3600,
                 on_revoke: Any = None, default_org: str = "default") -> None:
        self.db = db
        self.signer = signer
        self.access_ttl_s = access_ttl_s
        self.session_ttl_s = session_ttl_s
        self.default_org = validate_org(default_org)
        self._on_revoke = on_revoke  # forget a revoked credential in this process's caches at once

    # --- login ---------------------------------------------------------------------------------------

    async def login(self, username_or_email: str, password: str, *, session: bool = False, ip: str = "") -> LoginResult:
        name = username_or_email.strip()[:_MAX_TEXT].replace("\x00", "")
        async with self.db.system() as conn:
            user = await store.find_user_system(conn, name) if name else None
        ok = passwords.verify_password(password, user.password_hash if user else None)
        if user is None or not ok:
            await self._audit_system(user_org(user, self.default_org), name, "auth.login", name, {}, ip, "failure")
            raise Unauthenticated(INCORRECT_LOGIN)
        if not user.is_active:
            await self._audit_system(user_org(user, self.default_org), user.username, "auth.login", user.username,
                                     {"reason": "disabled"}, ip, "denied")
            raise Unauthenticated(DISABLED)
        membership = user.memberships[0] if user.memberships else None
        if membership is None:  # a user whose every role was removed
            await self._audit_system("", user.username, "auth.login", user.username, {"reason": "no role"}, ip, "denied")
            raise Unauthenticated(INCORRECT_LOGIN)
        principal = Principal(
            subject=user.username, org=membership.org or self.default_org, role=membership.role, kind="user",
            display_name=user.full_name or user.username,
        )
        ttl = self.session_ttl_s if session else self.access_ttl_s
        token, jti, exp = self.signer.issue(principal, ttl, typ="session" if session else "access")
        principal = Principal(principal.subject, principal.org, principal.role, "user", jti, principal.display_name, exp)
        async with self.db.system() as conn:
            await store.touch_last_login_system(conn, user.id)
            user = await store.find_user_system(conn, user.username) or user
        await self._audit_system(user_org(user, self.default_org), user.username, "auth.login", user.username,
                                 {"session": session}, ip, "success")
        return LoginResult(token, ttl, user, principal)

    async def logout(self, token: str, *, ip: str = "") -> None:
        """Revoke `token` for good; an invalid or expired token is already unusable, so that is success too."""
        try:
            principal = self.signer.verify(token)
        except Unauthenticated:
            return
        assert principal.token_id is not None and principal.expires_at is not None
        async with self.db.system() as conn:
            await store.revoke_token_system(conn, principal.token_id, datetime.fromtimestamp(principal.expires_at, UTC))
        if self._on_revoke is not None:
            self._on_revoke(token)
        await self._audit_system(principal.org, principal.subject, "auth.logout", principal.subject, {}, ip, "success")

    # --- organisations -------------------------------------------------------------------------------

    async def create_org(self, actor: Principal, org_id: str, name: str) -> Org:
        actor.require({Role.PLATFORM_ADMIN})
        org_id = validate_org(org_id.strip())
        async with self.db.system() as conn:
            org = await store.insert_org_system(conn, org_id, _text(name, "name") or org_id)
        await self.audit(actor, org_id, "org.create", org_id, {"name": org.name})
        return org

    async def ensure_org(self, org_id: str, name: str = "") -> Org:
        """Create the organisation unless it exists (first run, tests, the CLI)."""
        async with self.db.system() as conn:
            return await store.insert_org_system(conn, validate_org(org_id), name or org_id, if_missing=True)

    async def list_orgs(self, actor: Principal, org: str, page_size: int, page_token: str) -> tuple[list[Org], str]:
        size = _size(page_size)
        after = _page(page_token)
        if actor.is_platform_admin:
            async with self.db.system() as conn:
                orgs = await store.list_orgs(conn, after, size + 1)
        else:
            async with self.db.tenant(org) as conn:
                orgs = await store.list_orgs(conn, after, size + 1)
        more = len(orgs) > size
        orgs = orgs[:size]
        return orgs, _token(orgs[-1].id) if more else ""

    # --- users ---------------------------------------------------------------------------------------

    async def create_user(
        self, actor: Principal | None, org: str, *, username: str, email: str, full_name: str, password: str,
        role: Role | None = None,
    ) -> User:
        """`actor` None: the platform itself (first run, CLI)."""
        role = role or Role.ORG_ADMIN
        if role is Role.SERVICE:
            raise InvalidArgument("users cannot have the service role")
        if actor is not None:
            actor.require(ADMINS)
            if role is Role.PLATFORM_ADMIN and not actor.is_platform_admin:
                raise PermissionDenied("only a platform admin may create a platform admin")
        username = _check_username(username)
        email = _text(email, "email")
        if email and "@" not in email:
            raise InvalidArgument("invalid email")
        full_name = _text(full_name, "full_name")
        password_hash = passwords.hash_password(password)
        fields = {"username": username, "email": email, "full_name": full_name, "password_hash": password_hash}
        if role is Role.PLATFORM_ADMIN:
            async with self.db.system() as conn:
                await store.insert_user(conn, org=None, role=role, **fields)
                user = await store.get_user(conn, username)
        else:
            await self.ensure_org(org)
            async with self.db.tenant(org) as conn:
                await store.insert_user(conn, org=org, role=role, **fields)
                user = await store.get_user(conn, username)
        assert user is not None
        await self.audit(actor, org, "user.create", username, {"role": role.value})
        return user

    async def list_users(self, actor: Principal, org: str, page_size: int, page_token: str) -> tuple[list[User], str, int]:
        """The org's users, then (for a platform admin) the platform admins, by username."""
        size = _size(page_size)
        after = _page(page_token)
        async with self.db.tenant(org) as conn:
            users = await store.list_users(conn, after, size + 1)
            total = (await store.count_users(conn))[0]
        if actor.is_platform_admin:
            async with self.db.system() as conn:
                admins = await store.list_users(conn, after, size + 1, platform_admins=True)
                total += len(await store.list_users(conn, "", 10_000, platform_admins=True))
            seen = {u.username for u in users}
            users = sorted([*users, *(u for u in admins if u.username not in seen)], key=lambda u: u.username)
        more = len(users) > size
        users = users[:size]
        return users, _token(users[-1].username) if more else "", total

    async def get_user(self, actor: Principal, org: str, username: str) -> User:
        user = await self._find(actor, org, username)
        if user is None:
            raise NotFound("User not found")
        return user

    async def disable_user(self, actor: Principal | None, org: str, username: str) -> User:
        user = await self._find(actor, org, username)
        if user is None:
            raise NotFound("User not found")
        if actor is not None and user.is_platform_admin and not actor.is_platform_admin:
            raise PermissionDenied("only a platform admin may disable a platform admin")
        async with self.db.system() as conn:
            await store.set_user_active(conn, user.username, False)
            user = await store.get_user(conn, user.username) or user
        await self.audit(actor, org, "user.disable", username, {})
        return user

    async def delete_user(self, actor: Principal, org: str, username: str) -> None:
        user = await self._find(actor, org, username)
        if user is None:
            raise NotFound("User not found")
        if actor.kind == "user" and actor.subject == user.username:
            raise InvalidArgument("Cannot delete your own account")
        if user.is_platform_admin:
            if not actor.is_platform_admin:
                raise PermissionDenied("only a platform admin may delete a platform admin")
            async with self.db.system() as conn:
                await store.delete_user_system(conn, user.id, only_if_orphaned=False)
        else:
            async with self.db.tenant(org) as conn:
                await store.delete_membership(conn, user.id)
            async with self.db.system() as conn:
                await store.delete_user_system(conn, user.id, only_if_orphaned=True)
        await self.audit(actor, org, "user.delete", username, {})

    async def _find(self, actor: Principal | None, org: str, username: str) -> User | None:
        username = username.strip()
        if not username or len(username) > 64:
            return None
        async with self.db.tenant(org) as conn:
            user = await store.get_user(conn, username)
        if user is None and (actor is None or actor.is_platform_admin):
            async with self.db.system() as conn:
                found = await store.get_user(conn, username)
            user = found if found is not None and found.is_platform_admin else None
        return user

    # --- API keys ------------------------------------------------------------------------------------

    async def create_api_key(self, actor: Principal | None, org: str, role: Role, name: str) -> tuple[ApiKey, str]:
        if role not in KEY_ROLES:
            raise InvalidArgument("an API key's role is org_admin, analyst or device")
        if actor is not None:
            actor.require(ADMINS)
        await self.ensure_org(org)
        key_id, key, prefix = new_api_key()
        async with self.db.tenant(org) as conn:
            record = await store.insert_api_key(
                conn, key_id=key_id, org=org, role=role, name=_text(name, "name"), prefix=prefix,
                key_hash=hash_api_key(key), created_by=actor.subject if actor else "cli",
            )
        await self.audit(actor, org, "api_key.create", key_id, {"role": role.value, "name": record.name})
        return record, key

    async def list_api_keys(self, org: str, page_size: int, page_token: str, include_revoked: bool) -> tuple[list[ApiKey], str]:
        size = _size(page_size)
        raw = _page(page_token)
        try:
            offset = int(raw or 0)
        except ValueError:
            raise InvalidArgument("invalid page_token") from None
        async with self.db.tenant(org) as conn:
            keys = await store.list_api_keys(conn, offset, size + 1, include_revoked)
        more = len(keys) > size
        return keys[:size], _token(str(offset + size)) if more else ""

    async def revoke_api_key(self, actor: Principal | None, org: str, key_id: str) -> ApiKey:
        async with self.db.tenant(org) as conn:
            key = await store.revoke_api_key(conn, key_id.strip()[:64])
        if key is None:
            raise NotFound("API key not found")
        if self._on_revoke is not None:
            self._on_revoke(None)
        await self.audit(actor, org, "api_key.revoke", key.id, {})
        return key

    # --- audit ---------------------------------------------------------------------------------------

    async def audit(
        self, actor: Principal | None, org: str, action: str, target: str = "", detail: dict[str, Any] | None = None,
        ip: str = "", outcome: str = "success",
    ) -> AuditEntry:
        if outcome not in OUTCOMES:
            raise InvalidArgument("outcome is success, failure or denied")
        action = _text(action, "action", required=True, limit=64)
        async with self.db.tenant(org) as conn:
            return await store.insert_audit(
                conn, org=org, actor=actor.subject if actor else "footfall", action=action,
                target=_text(target, "target"), detail=detail or {}, ip=_text(ip, "ip", limit=64), outcome=outcome,
            )

    async def _audit_system(self, org: str, actor: str, action: str, target: str, detail: dict[str, Any], ip: str,
                            outcome: str) -> None:
        """Entries written before anyone is authenticated (logins): never fail the login because of them."""
        try:
            async with self.db.system() as conn:
                await store.insert_audit(conn, org=org, actor=actor[:_MAX_TEXT], action=action,
                                         target=target[:_MAX_TEXT], detail=detail, ip=ip[:64], outcome=outcome)
        except Exception:
            log.exception("could not write the audit entry for %s", action)

    async def list_audit(self, org: str, limit: int, page_token: str) -> tuple[list[AuditEntry], str, int]:
        size = min(limit or 100, 1000)
        if size < 0:
            raise InvalidArgument("limit must not be negative")
        raw = _page(page_token)
        try:
            before = int(raw) if raw else None
        except ValueError:
            raise InvalidArgument("invalid page_token") from None
        async with self.db.tenant(org) as conn:
            entries, total = await store.list_audit(conn, before, size + 1)
        more = len(entries) > size
        entries = entries[:size]
        return entries, _token(str(entries[-1].id)) if more else "", total

    async def dashboard_stats(self, org: str) -> DashboardStats:
        async with self.db.tenant(org) as conn:
            return await store.dashboard_stats(conn)

    # --- first run -----------------------------------------------------------------------------------

    async def ensure_platform_admin(self, username: str, email: str, password: str | None) -> str | None:
        """Create the platform admin `username` unless that user exists; returns the generated password when
        none was given (to be shown once)."""
        async with self.db.system() as conn:
            if await store.get_user(conn, username) is not None:
                return None
        generated = None
        if not password:
            generated = password = secrets.token_urlsafe(12)
        await self.create_user(None, self.default_org, username=username, email=email, full_name="Administrator",
                               password=password, role=Role.PLATFORM_ADMIN)
        return generated


def user_org(user: User | None, default: str) -> str:
    """The organisation a user's audit entries belong to ('' for an unknown name)."""
    if user is None or not user.memberships:
        return ""
    return user.memberships[0].org or default
