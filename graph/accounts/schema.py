"""GraphQL for the admin pages: organisations, users, API keys and the audit log.

Every field is for admins (org admins in their organisation, platform admins everywhere); creating an
organisation is a platform admin's. The service checks the same roles again; these checks answer early and
keep the schema honest about who may use what. A new API key is shown once, in `createApiKey`'s answer.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry
from footfall.graph.accounts import convert
from footfall.graph.accounts.client import AccountsClient
from footfall.graph.core.context import Info
from footfall.graph.core.pagination import AfterArg, Connection, check_first
from footfall.graph.core.schema import SchemaModule, caller_of
from footfall.services.core.principal import ADMINS, Role
from footfall.v1 import accounts_pb2
from strawberry.permission import BasePermission
from strawberry.scalars import JSON

MAX_PAGE = 100


class CanAdminister(BasePermission):
    """Org admins and platform admins; raising keeps the domain error (UNAUTHENTICATED / FORBIDDEN)."""

    roles: frozenset[Role] = ADMINS

    def has_permission(self, source: object, info: Info, **kwargs: object) -> bool:
        caller_of(info).principal.require(self.roles)
        return True


class IsPlatformAdmin(CanAdminister):
    roles = frozenset({Role.PLATFORM_ADMIN})


@strawberry.enum(description="What a user or key may do.")
class AccountRole(Enum):
    PLATFORM_ADMIN = "platform_admin"
    ORG_ADMIN = "org_admin"
    ANALYST = "analyst"
    DEVICE = "device"


@strawberry.enum(description="How an audited action ended.")
class AuditOutcome(Enum):
    SUCCESS = "success"
    FAILURE = "failure"
    DENIED = "denied"


def _role(value: int) -> AccountRole | None:
    role = convert.role_from_pb(value)
    return AccountRole(role.value) if role is not None and role is not Role.SERVICE else None


@strawberry.type
class Organisation:
    id: str
    name: str
    created_at: datetime | None

    @classmethod
    def from_proto(cls, org: accounts_pb2.Org) -> Organisation:
        return cls(id=org.id, name=org.name, created_at=convert.to_datetime(org.created_at))


@strawberry.type(description="A user's role in one organisation (none for a platform admin: every one).")
class Membership:
    org: str | None
    role: AccountRole


@strawberry.type
class User:
    id: strawberry.ID
    username: str
    email: str
    full_name: str
    is_active: bool
    created_at: datetime | None
    last_login: datetime | None
    memberships: list[Membership]

    @classmethod
    def from_proto(cls, user: accounts_pb2.User) -> User:
        memberships = [
            Membership(org=m.org or None, role=role) for m in user.memberships if (role := _role(m.role))
        ]
        return cls(
            id=strawberry.ID(user.id),
            username=user.username,
            email=user.email,
            full_name=user.full_name,
            is_active=user.is_active,
            created_at=convert.to_datetime(user.created_at),
            last_login=convert.to_datetime(user.last_login),
            memberships=memberships,
        )


@strawberry.type(description="An API key's metadata; the key itself is only ever shown by createApiKey.")
class ApiKey:
    id: strawberry.ID
    org: str
    role: AccountRole | None
    name: str
    prefix: str
    created_by: str
    created_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def from_proto(cls, key: accounts_pb2.ApiKey) -> ApiKey:
        return cls(
            id=strawberry.ID(key.id),
            org=key.org,
            role=_role(key.role),
            name=key.name,
            prefix=key.prefix,
            created_by=key.created_by,
            created_at=convert.to_datetime(key.created_at),
            last_used_at=convert.to_datetime(key.last_used_at),
            revoked_at=convert.to_datetime(key.revoked_at),
        )


@strawberry.type(description="Who did what, when, from where.")
class AuditEntry:
    id: strawberry.ID
    org: str | None
    at: datetime | None
    actor: str
    action: str
    target: str | None
    outcome: AuditOutcome
    ip: str | None
    message: str
    detail: JSON

    @classmethod
    def from_proto(cls, entry: accounts_pb2.AuditEntry) -> AuditEntry:
        shaped = convert.log_entry(entry)
        try:
            outcome = AuditOutcome(shaped["outcome"])
        except ValueError:
            outcome = AuditOutcome.SUCCESS
        return cls(
            id=strawberry.ID(str(entry.id)),
            org=shaped["org"],
            at=convert.to_datetime(entry.at),
            actor=entry.actor,
            action=entry.action,
            target=shaped["target"],
            outcome=outcome,
            ip=shaped["ip"],
            message=shaped["message"],
            detail=shaped["detail"],
        )


def _first(first: int) -> int:
    return check_first(first, MAX_PAGE)


def _accounts(info: Info) -> AccountsClient:
    return info.context.client(AccountsClient)


@strawberry.type
class ApiKeyCreated:
    api_key: ApiKey
    key: str = strawberry.field(description="The key, shown this once: send it as `X-API-Key` or a Bearer token")


@strawberry.type
class AccountsQuery:
    @strawberry.field(permission_classes=[CanAdminister], description="Organisations (platform admins: all)")
    async def organisations(
        self, info: Info, first: int = 50, after: AfterArg = None
    ) -> Connection[Organisation]:
        reply = await _accounts(info).list_orgs(caller_of(info), page_size=_first(first), page_token=after or "")
        nodes = [Organisation.from_proto(o) for o in reply.orgs]
        return Connection.of_page(nodes, reply.next_page_token, None)

    @strawberry.field(permission_classes=[CanAdminister], description="Users with a role in the organisation")
    async def users(self, info: Info, first: int = 50, after: AfterArg = None) -> Connection[User]:
        reply = await _accounts(info).list_users(caller_of(info), page_size=_first(first), page_token=after or "")
        nodes = [User.from_proto(u) for u in reply.users]
        return Connection.of_page(nodes, reply.next_page_token, reply.total_size)

    @strawberry.field(permission_classes=[CanAdminister])
    async def api_keys(
        self, info: Info, first: int = 50, after: AfterArg = None, include_revoked: bool = False
    ) -> Connection[ApiKey]:
        reply = await _accounts(info).list_api_keys(
            caller_of(info), page_size=_first(first), page_token=after or "", include_revoked=include_revoked
        )
        nodes = [ApiKey.from_proto(k) for k in reply.api_keys]
        return Connection.of_page(nodes, reply.next_page_token, None)

    @strawberry.field(permission_classes=[CanAdminister], description="The audit log, newest first")
    async def audit_log(
        self, info: Info, first: int = 50, after: AfterArg = None
    ) -> Connection[AuditEntry]:
        reply = await _accounts(info).audit_log(caller_of(info), limit=_first(first), page_token=after or "")
        nodes = [AuditEntry.from_proto(e) for e in reply.entries]
        return Connection.of_page(nodes, reply.next_page_token, reply.total_size)


@strawberry.input
class CreateUserInput:
    username: str
    password: str
    email: str = ""
    full_name: str = ""
    role: AccountRole = AccountRole.ORG_ADMIN
    org: str | None = strawberry.field(default=None, description="Default: the organisation acted on")


@strawberry.type
class AccountsMutation:
    @strawberry.mutation(permission_classes=[IsPlatformAdmin])
    async def create_organisation(self, info: Info, id: str, name: str) -> Organisation:
        return Organisation.from_proto(await _accounts(info).create_org(caller_of(info), id, name))

    @strawberry.mutation(permission_classes=[CanAdminister])
    async def create_user(self, info: Info, input: CreateUserInput) -> User:
        user = await _accounts(info).create_user(
            caller_of(info),
            username=input.username,
            password=input.password,
            email=input.email,
            full_name=input.full_name,
            role=Role(input.role.value),
            org=input.org or "",
        )
        return User.from_proto(user)

    @strawberry.mutation(permission_classes=[CanAdminister], description="The user can no longer log in")
    async def disable_user(self, info: Info, username: str) -> User:
        return User.from_proto(await _accounts(info).disable_user(caller_of(info), username))

    @strawberry.mutation(permission_classes=[CanAdminister])
    async def create_api_key(
        self, info: Info, role: AccountRole, name: str, org: str | None = None
    ) -> ApiKeyCreated:
        reply = await _accounts(info).create_api_key(caller_of(info), role=Role(role.value), name=name, org=org or "")
        return ApiKeyCreated(api_key=ApiKey.from_proto(reply.api_key), key=reply.key)

    @strawberry.mutation(permission_classes=[CanAdminister])
    async def revoke_api_key(self, info: Info, id: strawberry.ID) -> ApiKey:
        return ApiKey.from_proto(await _accounts(info).revoke_api_key(caller_of(info), str(id)))


ACCOUNTS_SCHEMA = SchemaModule("accounts", query=AccountsQuery, mutation=AccountsMutation)
