"""Login, logout, tokens and API keys through a real gRPC server, and the interceptor on every service."""

from __future__ import annotations

import asyncio
import time

import grpc
import pytest
from footfall.services.accounts.authenticator import Authenticator
from footfall.services.core.errors import Unauthenticated
from footfall.services.core.grpc import required_roles
from footfall.services.core.principal import Principal, Role
from footfall.services.core.tokens import TokenSigner
from footfall.v1 import accounts_pb2, customers_pb2, occupancy_pb2, vision_pb2

from tests.accounts.conftest import PASSWORD, Stack, bearer, expect_code, new_name, new_org

UNAUTH, DENIED = grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED


async def make_user(stack: Stack, org: str, role: Role = Role.ORG_ADMIN) -> str:
    username = new_name()
    await stack.runtime.accounts.create_user(None, org, username=username, email=f"{username}@example.com",
                                             full_name="Test User", password=PASSWORD, role=role)
    return username


async def login(stack: Stack, username: str, password: str = PASSWORD) -> accounts_pb2.LoginResponse:
    return await stack.accounts.Login(accounts_pb2.LoginRequest(username_or_email=username, password=password,
                                                                ip="203.0.113.9"))


async def test_login_logout_and_revocation(stack: Stack) -> None:
    org = new_org()
    username = await make_user(stack, org)
    reply = await login(stack, username)
    assert reply.token_type == "bearer" and reply.expires_in == 1800
    assert reply.user.username == username and reply.user.is_active and reply.user.HasField("last_login")
    assert reply.principal.org == org and reply.principal.role == accounts_pb2.ROLE_ORG_ADMIN
    by_email = await login(stack, f"{username}@EXAMPLE.com")
    assert by_email.user.username == username

    md = bearer(reply.access_token)
    assert (await stack.occupancy.ListCameras(occupancy_pb2.ListCamerasRequest(), metadata=md)).cameras == []
    who = await stack.accounts.Authenticate(accounts_pb2.AuthenticateRequest(credential=reply.access_token))
    assert who.principal.subject == username and who.principal.token_id

    other_process = Authenticator(stack.runtime.accounts.db, stack.auth.signer, cache_s=0)
    await other_process.authenticate(reply.access_token)
    await stack.accounts.Logout(accounts_pb2.LogoutRequest(token=reply.access_token))
    await expect_code(stack.occupancy.ListCameras(occupancy_pb2.ListCamerasRequest(), metadata=md), UNAUTH)
    with pytest.raises(Exception, match="Not authenticated"):
        await other_process.authenticate(reply.access_token)  # persisted: every process refuses it
    # the other token of the same user still works
    await stack.occupancy.ListCameras(occupancy_pb2.ListCamerasRequest(), metadata=bearer(by_email.access_token))


async def test_login_failures_are_refused_and_audited(stack: Stack) -> None:
    org = new_org()
    username = await make_user(stack, org)
    assert await expect_code(login(stack, username, "wrong password"), UNAUTH) == "Incorrect username or password"
    assert await expect_code(login(stack, "nobody-" + username), UNAUTH) == "Incorrect username or password"
    admin = (await login(stack, username)).access_token
    await stack.runtime.accounts.disable_user(None, org, username)
    assert await expect_code(login(stack, username), UNAUTH) == "User account is disabled"
    log = await stack.accounts.ListAuditLog(accounts_pb2.ListAuditLogRequest(limit=10),
                                            metadata=stack.auth.metadata(org))
    seen = [(e.action, e.outcome, e.actor, e.ip) for e in log.entries]
    assert ("auth.login", "failure", username, "203.0.113.9") in seen
    assert ("auth.login", "denied", username, "203.0.113.9") in seen
    assert ("user.disable", "success", "footfall", "") in seen
    stack.auth.authenticator.forget()
    await expect_code(stack.occupancy.ListCameras(occupancy_pb2.ListCamerasRequest(), metadata=bearer(admin)), UNAUTH)


async def test_expired_tampered_and_foreign_tokens(stack: Stack) -> None:
    org = new_org()
    principal = Principal("svc-test", org, Role.SERVICE, "service")
    expired, _, _ = stack.auth.signer.issue(principal, -60)
    good, _, _ = stack.auth.signer.issue(principal, 60)
    header, payload, signature = good.split(".")
    tampered = ".".join([header, payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB"), signature])
    foreign, _, _ = TokenSigner("another-deployment-secret-" + "x" * 32).issue(principal, 60)
    for token in (expired, tampered, foreign, "not-a-token", "ffk_unknown_key", good + "x"):
        details = await expect_code(stack.occupancy.ListCameras(occupancy_pb2.ListCamerasRequest(),
                                                                metadata=bearer(token)), UNAUTH)
        assert details == "Not authenticated"
    await stack.occupancy.ListCameras(occupancy_pb2.ListCamerasRequest(), metadata=bearer(good))


async def test_api_keys(stack: Stack) -> None:
    org = new_org()
    admin = stack.auth.metadata(org)
    created = await stack.accounts.CreateApiKey(
        accounts_pb2.CreateApiKeyRequest(role=accounts_pb2.ROLE_ANALYST, name="dashboard"), metadata=admin)
    key = created.key
    assert key.startswith("ffk_") and created.api_key.prefix and key.startswith(created.api_key.prefix)
    assert created.api_key.org == org and not created.api_key.HasField("last_used_at")
    md = bearer(key)
    assert (await stack.occupancy.ListCameras(occupancy_pb2.ListCamerasRequest(), metadata=md)).cameras == []
    await expect_code(stack.occupancy.CreateCamera(occupancy_pb2.CreateCameraRequest(camera_id="K1"), metadata=md),
                      DENIED)  # analyst: read-only
    listed = await stack.accounts.ListApiKeys(accounts_pb2.ListApiKeysRequest(), metadata=admin)
    (record,) = [k for k in listed.api_keys if k.id == created.api_key.id]
    assert record.HasField("last_used_at") and not hasattr(record, "key")
    await stack.accounts.RevokeApiKey(accounts_pb2.RevokeApiKeyRequest(id=record.id), metadata=admin)
    await expect_code(stack.occupancy.ListCameras(occupancy_pb2.ListCamerasRequest(), metadata=md), UNAUTH)
    # a device key feeds crossings but reads nothing; keys never carry platform_admin
    device = (await stack.accounts.CreateApiKey(accounts_pb2.CreateApiKeyRequest(
        role=accounts_pb2.ROLE_DEVICE, name="door cam"), metadata=admin)).key
    await expect_code(stack.occupancy.ListCameras(occupancy_pb2.ListCamerasRequest(), metadata=bearer(device)), DENIED)
    await expect_code(stack.occupancy.RecordCrossing(occupancy_pb2.RecordCrossingRequest(
        event_id="e1", camera_id="NOPE", line_name="door", direction=1), metadata=bearer(device)),
        grpc.StatusCode.NOT_FOUND)  # authorised; the camera does not exist
    await expect_code(stack.accounts.CreateApiKey(accounts_pb2.CreateApiKeyRequest(
        role=accounts_pb2.ROLE_PLATFORM_ADMIN, name="x"), metadata=admin), grpc.StatusCode.INVALID_ARGUMENT)


async def test_user_management_errors(stack: Stack) -> None:
    org = new_org()
    me = await make_user(stack, org)
    token = (await login(stack, me)).access_token
    md = bearer(token)
    user = accounts_pb2.CreateUserRequest(username=new_name(), email="", full_name="Other", password=PASSWORD,
                                          role=accounts_pb2.ROLE_ANALYST)
    created = (await stack.accounts.CreateUser(user, metadata=md)).user
    assert [(m.org, m.role) for m in created.memberships] == [(org, accounts_pb2.ROLE_ANALYST)]
    assert await expect_code(stack.accounts.CreateUser(user, metadata=md),
                             grpc.StatusCode.ALREADY_EXISTS) == "Username already exists"
    names = [u.username for u in (await stack.accounts.ListUsers(accounts_pb2.ListUsersRequest(), metadata=md)).users]
    assert names == sorted([me, user.username])
    assert await expect_code(stack.accounts.DeleteUser(accounts_pb2.DeleteUserRequest(username=me), metadata=md),
                             grpc.StatusCode.INVALID_ARGUMENT) == "Cannot delete your own account"
    await stack.accounts.DeleteUser(accounts_pb2.DeleteUserRequest(username=user.username), metadata=md)
    assert await expect_code(stack.accounts.DeleteUser(accounts_pb2.DeleteUserRequest(username=user.username),
                                                       metadata=md), grpc.StatusCode.NOT_FOUND) == "User not found"
    stats = await stack.accounts.GetDashboardStats(accounts_pb2.GetDashboardStatsRequest(), metadata=md)
    assert stats.total_users == 1 and stats.active_users == 1 and stats.total_logs >= 3
    # an org admin cannot create platform admins, an analyst cannot manage users
    await expect_code(stack.accounts.CreateUser(accounts_pb2.CreateUserRequest(
        username=new_name(), password=PASSWORD, role=accounts_pb2.ROLE_PLATFORM_ADMIN), metadata=md), DENIED)
    await expect_code(stack.accounts.ListUsers(accounts_pb2.ListUsersRequest(),
                                               metadata=stack.auth.metadata(org, "analyst")), DENIED)


async def test_tenant_comes_from_the_credential(stack: Stack) -> None:
    org_a, org_b = new_org(), new_org()
    token_a = (await login(stack, await make_user(stack, org_a))).access_token
    await stack.occupancy.CreateCamera(occupancy_pb2.CreateCameraRequest(camera_id="B1"),
                                       metadata=stack.auth.metadata(org_b))
    forged = bearer(token_a, org_b)
    await expect_code(stack.occupancy.ListCameras(occupancy_pb2.ListCamerasRequest(), metadata=forged), DENIED)
    await expect_code(stack.accounts.ListUsers(accounts_pb2.ListUsersRequest(), metadata=forged), DENIED)
    await expect_code(stack.accounts.ListAuditLog(accounts_pb2.ListAuditLogRequest(org=org_b),
                                                  metadata=bearer(token_a)), DENIED)
    await expect_code(stack.accounts.CreateApiKey(accounts_pb2.CreateApiKeyRequest(org=org_b, name="x"),
                                                  metadata=bearer(token_a)), DENIED)
    own = await stack.occupancy.ListCameras(occupancy_pb2.ListCamerasRequest(), metadata=bearer(token_a, org_a))
    assert own.cameras == []

    admin = await make_user(stack, org_a, Role.PLATFORM_ADMIN)
    admin_token = (await login(stack, admin)).access_token
    acting = await stack.occupancy.ListCameras(occupancy_pb2.ListCamerasRequest(), metadata=bearer(admin_token, org_b))
    assert [c.camera_id for c in acting.cameras] == ["B1"]
    orgs = await stack.accounts.ListOrgs(accounts_pb2.ListOrgsRequest(page_size=500), metadata=bearer(admin_token))
    assert {org_a, org_b} <= {o.id for o in orgs.orgs} or org_a in {o.id for o in orgs.orgs}
    mine = await stack.accounts.ListOrgs(accounts_pb2.ListOrgsRequest(), metadata=bearer(token_a))
    assert [o.id for o in mine.orgs] == [org_a]


def _all_methods() -> list[tuple[str, bool, bool]]:
    methods = []
    for module in (accounts_pb2, occupancy_pb2, customers_pb2, vision_pb2):
        for service in module.DESCRIPTOR.services_by_name.values():
            for m in service.methods:
                methods.append((f"/{service.full_name}/{m.name}", m.client_streaming, m.server_streaming))
    return methods


async def test_anonymous_calls_are_refused_on_every_method(stack: Stack) -> None:
    """Every method but the three open ones answers UNAUTHENTICATED without a credential (and with a
    forged org header alone); health checking stays open."""
    checked = 0
    for path, client_streaming, server_streaming in _all_methods():
        if required_roles(path) is None:
            assert path.rsplit("/", 1)[1] in {"Login", "Logout", "Authenticate"}
            continue
        for md in ((), (("x-footfall-org", "default"),), (("authorization", "Basic YWRtaW46YWRtaW4="),)):
            if client_streaming:
                call = stack.channel.stream_unary(path) if not server_streaming else stack.channel.stream_stream(path)
                rpc = call(iter([b""]), metadata=md)
            elif server_streaming:
                rpc = stack.channel.unary_stream(path)(b"", metadata=md)
            else:
                rpc = stack.channel.unary_unary(path)(b"", metadata=md)
            with pytest.raises(grpc.aio.AioRpcError) as info:
                if server_streaming:
                    async for _ in rpc:
                        pass
                else:
                    await rpc
            assert info.value.code() == UNAUTH, (path, info.value.details())
            checked += 1
    assert checked >= 3 * 40
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    health = await health_pb2_grpc.HealthStub(stack.channel).Check(health_pb2.HealthCheckRequest())
    assert health.status == health_pb2.HealthCheckResponse.SERVING


def test_role_policy() -> None:
    assert required_roles("/footfall.v1.OccupancyService/ListCameras") == frozenset(
        {Role.PLATFORM_ADMIN, Role.ORG_ADMIN, Role.ANALYST, Role.SERVICE})
    assert Role.DEVICE in required_roles("/footfall.v1.VisionService/ProcessFrame")  # type: ignore[operator]
    assert Role.ANALYST not in required_roles("/footfall.v1.OccupancyService/CreateCamera")  # type: ignore[operator]
    assert required_roles("/footfall.v1.AccountsService/ListUsers") == frozenset({Role.PLATFORM_ADMIN, Role.ORG_ADMIN})
    assert required_roles("/footfall.v1.AccountsService/CreateOrg") == frozenset({Role.PLATFORM_ADMIN})
    assert required_roles("/grpc.health.v1.Health/Check") is None


async def test_cached_answers_expire(stack: Stack) -> None:
    """A revocation made by another process is honoured here within auth_cache_s."""
    org = new_org()
    token = (await login(stack, await make_user(stack, org))).access_token
    here = Authenticator(stack.runtime.accounts.db, stack.auth.signer, cache_s=1.0)
    await here.authenticate(token)
    started = time.monotonic()
    await stack.runtime.accounts.logout(token)  # "another process": `here` is not told
    await here.authenticate(token)  # still cached
    while True:  # the cached answer lasts cache_s, then the revocation is seen
        try:
            await here.authenticate(token)
        except Unauthenticated as err:
            assert str(err) == "Not authenticated"
            break
        assert time.monotonic() - started < 3.0, "revocation not seen after the cache expired"
        await asyncio.sleep(0.05)


async def _into_last_quarter(here: Authenticator, started: float) -> None:
    """Wait until a credential cached at `started` is in the last quarter of its cached life."""
    while time.monotonic() - started < here.cache_s * 0.8:
        await asyncio.sleep(0.02)


async def test_busy_credential_is_checked_again_before_it_expires(stack: Stack) -> None:
    """Refresh-ahead: a credential in use is renewed in the background, so it never expires under its users."""
    token = (await login(stack, await make_user(stack, new_org()))).access_token
    here = Authenticator(stack.runtime.accounts.db, stack.auth.signer, cache_s=2.0)
    started = time.monotonic()
    await here.authenticate(token)
    await _into_last_quarter(here, started)
    assert here.held(token) is not None  # answered from the cache, and a background check starts
    await asyncio.gather(*here._refreshing.values())
    while time.monotonic() - started < here.cache_s + 0.1:  # past the first entry's end
        await asyncio.sleep(0.02)
    principal = here.held(token)
    assert principal is not None and principal.subject == (await here.authenticate(token)).subject


async def test_background_check_drops_a_revoked_credential(stack: Stack) -> None:
    token = (await login(stack, await make_user(stack, new_org()))).access_token
    here = Authenticator(stack.runtime.accounts.db, stack.auth.signer, cache_s=2.0)
    started = time.monotonic()
    await here.authenticate(token)
    await stack.runtime.accounts.logout(token)  # another process revokes it: `here` is not told
    await _into_last_quarter(here, started)
    assert here.held(token) is not None  # still within the cached life
    await asyncio.gather(*here._refreshing.values())
    assert here.held(token) is None
    with pytest.raises(Unauthenticated, match="Not authenticated"):
        await here.authenticate(token)
