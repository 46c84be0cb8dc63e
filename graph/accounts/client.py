"""`footfall.v1.AccountsService` for the gateway: logins, users, keys, organisations and the audit log.

Login and logout need no caller (the login is what makes one); every other call is made for a `Caller`, whose
credential and client address travel as metadata so the service checks the role and audits from where.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import grpc
from footfall.graph.accounts.convert import role_to_pb
from footfall.graph.core.client import Identity, ServiceClient
from footfall.services.core.errors import InvalidArgument
from footfall.services.core.principal import Role
from footfall.v1 import accounts_pb2, accounts_pb2_grpc
from google.protobuf.message import Message
from google.protobuf.struct_pb2 import Struct

R = TypeVar("R", bound=Message)
M = TypeVar("M", bound=Message)

#: The audit log pages the service serves at most.
MAX_AUDIT_LIMIT = 1000


class AccountsClient(ServiceClient):
    service_name = "Accounts"
    grpc_service = "footfall.v1.AccountsService"

    def __init__(self, channel: grpc.aio.Channel, *, timeout: float = 10.0) -> None:
        super().__init__(channel, timeout=timeout)
        self.stub = accounts_pb2_grpc.AccountsServiceStub(channel)

    async def _anonymous(self, method: Callable[..., Awaitable[R]], request: Message) -> R:
        try:
            return await method(request, timeout=self.timeout)
        except grpc.aio.AioRpcError as err:
            raise self.error(err) from None

    # Sessions

    async def login(
        self, username_or_email: str, password: str, *, ip: str = "", session: bool = False
    ) -> accounts_pb2.LoginResponse:
        request = _request(
            accounts_pb2.LoginRequest,
            username_or_email=username_or_email,
            password=password,
            session=session,
            ip=ip,
        )
        return await self._anonymous(self.stub.Login, request)

    async def logout(self, token: str, *, ip: str = "") -> None:
        await self._anonymous(self.stub.Logout, _request(accounts_pb2.LogoutRequest, token=token, ip=ip))

    # Organisations

    async def create_org(self, caller: Identity, org_id: str, name: str) -> accounts_pb2.Org:
        request = _request(accounts_pb2.CreateOrgRequest, id=org_id, name=name)
        return (await self.unary(self.stub.CreateOrg, request, caller)).org

    async def list_orgs(
        self, caller: Identity, *, page_size: int = 0, page_token: str = ""
    ) -> accounts_pb2.ListOrgsResponse:
        request = _request(accounts_pb2.ListOrgsRequest, page_size=page_size, page_token=page_token)
        return await self.unary(self.stub.ListOrgs, request, caller)

    # Users

    async def create_user(
        self,
        caller: Identity,
        *,
        username: str,
        password: str,
        email: str = "",
        full_name: str = "",
        role: Role | None = None,
        org: str = "",
    ) -> accounts_pb2.User:
        request = _request(
            accounts_pb2.CreateUserRequest,
            username=username,
            password=password,
            email=email,
            full_name=full_name,
            role=role_to_pb(role),  # type: ignore[arg-type]
            org=org,
        )
        return (await self.unary(self.stub.CreateUser, request, caller)).user

    async def list_users(
        self, caller: Identity, *, page_size: int = 0, page_token: str = ""
    ) -> accounts_pb2.ListUsersResponse:
        request = _request(accounts_pb2.ListUsersRequest, page_size=page_size, page_token=page_token)
        return await self.unary(self.stub.ListUsers, request, caller)

    async def all_users(self, caller: Identity) -> list[accounts_pb2.User]:
        users: list[accounts_pb2.User] = []
        token = ""
        while True:
            reply = await self.list_users(caller, page_size=100, page_token=token)
            users.extend(reply.users)
            token = reply.next_page_token
            if not token:
                return users

    async def get_user(self, caller: Identity, username: str) -> accounts_pb2.User:
        return (
            await self.unary(
                self.stub.GetUser, _request(accounts_pb2.GetUserRequest, username=username), caller
            )
        ).user

    async def disable_user(self, caller: Identity, username: str) -> accounts_pb2.User:
        request = _request(accounts_pb2.DisableUserRequest, username=username)
        return (await self.unary(self.stub.DisableUser, request, caller)).user

    async def delete_user(self, caller: Identity, username: str) -> None:
        await self.unary(
            self.stub.DeleteUser, _request(accounts_pb2.DeleteUserRequest, username=username), caller
        )

    # API keys

    async def create_api_key(
        self, caller: Identity, *, role: Role, name: str, org: str = ""
    ) -> accounts_pb2.CreateApiKeyResponse:
        request = _request(accounts_pb2.CreateApiKeyRequest, org=org, role=role_to_pb(role), name=name)  # type: ignore[arg-type]
        return await self.unary(self.stub.CreateApiKey, request, caller)

    async def list_api_keys(
        self, caller: Identity, *, page_size: int = 0, page_token: str = "", include_revoked: bool = False
    ) -> accounts_pb2.ListApiKeysResponse:
        request = _request(
            accounts_pb2.ListApiKeysRequest,
            page_size=page_size,
            page_token=page_token,
            include_revoked=include_revoked,
        )
        return await self.unary(self.stub.ListApiKeys, request, caller)

    async def revoke_api_key(self, caller: Identity, key_id: str) -> accounts_pb2.ApiKey:
        request = _request(accounts_pb2.RevokeApiKeyRequest, id=key_id)
        return (await self.unary(self.stub.RevokeApiKey, request, caller)).api_key

    # Audit log and dashboard

    async def audit_log(
        self, caller: Identity, *, limit: int = 100, page_token: str = "", org: str = ""
    ) -> accounts_pb2.ListAuditLogResponse:
        request = _request(
            accounts_pb2.ListAuditLogRequest,
            org=org,
            limit=max(1, min(limit, MAX_AUDIT_LIMIT)),
            page_token=page_token,
        )
        return await self.unary(self.stub.ListAuditLog, request, caller)

    async def record_audit(
        self,
        caller: Identity,
        action: str,
        *,
        target: str = "",
        detail: dict[str, object] | None = None,
        outcome: str = "success",
        ip: str = "",
    ) -> accounts_pb2.AuditEntry:
        request = _request(
            accounts_pb2.RecordAuditRequest, action=action, target=target, outcome=outcome, ip=ip
        )
        if detail:
            struct = Struct()
            struct.update(detail)
            request.detail.CopyFrom(struct)
        return (await self.unary(self.stub.RecordAudit, request, caller)).entry

    async def dashboard_stats(self, caller: Identity) -> accounts_pb2.GetDashboardStatsResponse:
        return await self.unary(
            self.stub.GetDashboardStats, _request(accounts_pb2.GetDashboardStatsRequest), caller
        )


def _request(cls: type[M], **fields: object) -> M:
    """A request message; text protobuf cannot encode (a lone surrogate) is the caller's mistake, not a 500."""
    try:
        return cls(**fields)
    except (UnicodeEncodeError, ValueError):
        raise InvalidArgument("text must be valid UTF-8") from None
