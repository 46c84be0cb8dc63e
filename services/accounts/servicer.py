"""gRPC adapter: footfall.v1.AccountsService -> :class:`footfall.services.accounts.service.Accounts`."""

from __future__ import annotations

from footfall.services.accounts import convert
from footfall.services.accounts.authenticator import Authenticator
from footfall.services.accounts.service import Accounts
from footfall.services.core.grpc import current_principal, maps_domain_errors, org_of
from footfall.services.core.principal import Role
from footfall.v1 import accounts_pb2, accounts_pb2_grpc

SERVICE_NAME = accounts_pb2.DESCRIPTOR.services_by_name["AccountsService"].full_name


class AccountsServicer(accounts_pb2_grpc.AccountsServiceServicer):
    def __init__(self, accounts: Accounts, authenticator: Authenticator) -> None:
        self.accounts = accounts
        self.authenticator = authenticator

    def _org(self, context, requested: str = "") -> str:  # type: ignore[no-untyped-def]
        """The org the call acts on; a request's own `org` field is held to the same rule as the header."""
        org = org_of(context)
        return current_principal().acting_on(requested) if requested and requested != org else org

    @maps_domain_errors
    async def Login(self, request, context):  # type: ignore[no-untyped-def]
        result = await self.accounts.login(request.username_or_email, request.password, session=request.session,
                                           ip=request.ip)
        return accounts_pb2.LoginResponse(
            access_token=result.token, token_type="bearer", expires_in=result.expires_in,
            user=convert.user_pb(result.user), principal=convert.principal_pb(result.principal),
        )

    @maps_domain_errors
    async def Logout(self, request, context):  # type: ignore[no-untyped-def]
        await self.accounts.logout(request.token, ip=request.ip)
        return accounts_pb2.LogoutResponse()

    @maps_domain_errors
    async def Authenticate(self, request, context):  # type: ignore[no-untyped-def]
        principal = await self.authenticator.authenticate(request.credential)
        return accounts_pb2.AuthenticateResponse(principal=convert.principal_pb(principal))

    @maps_domain_errors
    async def CreateOrg(self, request, context):  # type: ignore[no-untyped-def]
        org = await self.accounts.create_org(current_principal(), request.id, request.name)
        return accounts_pb2.CreateOrgResponse(org=convert.org_pb(org))

    @maps_domain_errors
    async def ListOrgs(self, request, context):  # type: ignore[no-untyped-def]
        orgs, token = await self.accounts.list_orgs(current_principal(), self._org(context), request.page_size,
                                                    request.page_token)
        return accounts_pb2.ListOrgsResponse(orgs=[convert.org_pb(o) for o in orgs], next_page_token=token)

    @maps_domain_errors
    async def CreateUser(self, request, context):  # type: ignore[no-untyped-def]
        user = await self.accounts.create_user(
            current_principal(), self._org(context, request.org), username=request.username, email=request.email,
            full_name=request.full_name, password=request.password, role=convert.role_from_pb(request.role),
        )
        return accounts_pb2.CreateUserResponse(user=convert.user_pb(user))

    @maps_domain_errors
    async def ListUsers(self, request, context):  # type: ignore[no-untyped-def]
        users, token, total = await self.accounts.list_users(current_principal(), self._org(context),
                                                             request.page_size, request.page_token)
        return accounts_pb2.ListUsersResponse(users=[convert.user_pb(u) for u in users], next_page_token=token,
                                              total_size=total)

    @maps_domain_errors
    async def GetUser(self, request, context):  # type: ignore[no-untyped-def]
        user = await self.accounts.get_user(current_principal(), self._org(context), request.username)
        return accounts_pb2.GetUserResponse(user=convert.user_pb(user))

    @maps_domain_errors
    async def DisableUser(self, request, context):  # type: ignore[no-untyped-def]
        user = await self.accounts.disable_user(current_principal(), self._org(context), request.username)
        self.authenticator.forget()
        return accounts_pb2.DisableUserResponse(user=convert.user_pb(user))

    @maps_domain_errors
    async def DeleteUser(self, request, context):  # type: ignore[no-untyped-def]
        await self.accounts.delete_user(current_principal(), self._org(context), request.username)
        self.authenticator.forget()
        return accounts_pb2.DeleteUserResponse()

    @maps_domain_errors
    async def CreateApiKey(self, request, context):  # type: ignore[no-untyped-def]
        key, secret = await self.accounts.create_api_key(
            current_principal(), self._org(context, request.org), convert.role_from_pb(request.role, Role.DEVICE),
            request.name,
        )
        return accounts_pb2.CreateApiKeyResponse(api_key=convert.api_key_pb(key), key=secret)

    @maps_domain_errors
    async def ListApiKeys(self, request, context):  # type: ignore[no-untyped-def]
        keys, token = await self.accounts.list_api_keys(self._org(context), request.page_size, request.page_token,
                                                        request.include_revoked)
        return accounts_pb2.ListApiKeysResponse(api_keys=[convert.api_key_pb(k) for k in keys], next_page_token=token)

    @maps_domain_errors
    async def RevokeApiKey(self, request, context):  # type: ignore[no-untyped-def]
        key = await self.accounts.revoke_api_key(current_principal(), self._org(context), request.id)
        return accounts_pb2.RevokeApiKeyResponse(api_key=convert.api_key_pb(key))

    @maps_domain_errors
    async def ListAuditLog(self, request, context):  # type: ignore[no-untyped-def]
        entries, token, total = await self.accounts.list_audit(self._org(context, request.org), request.limit,
                                                               request.page_token)
        return accounts_pb2.ListAuditLogResponse(entries=[convert.audit_pb(e) for e in entries],
                                                 next_page_token=token, total_size=total)

    @maps_domain_errors
    async def RecordAudit(self, request, context):  # type: ignore[no-untyped-def]
        entry = await self.accounts.audit(
            current_principal(), self._org(context), request.action, request.target,
            convert.detail_from_pb(request.detail), request.ip, request.outcome or "success",
        )
        return accounts_pb2.RecordAuditResponse(entry=convert.audit_pb(entry))

    @maps_domain_errors
    async def GetDashboardStats(self, request, context):  # type: ignore[no-untyped-def]
        stats = await self.accounts.dashboard_stats(self._org(context))
        return accounts_pb2.GetDashboardStatsResponse(total_users=stats.total_users, active_users=stats.active_users,
                                                      total_logs=stats.total_logs)
