"""gRPC plumbing shared by every servicer: who is calling, domain errors -> status codes, the server.

Every call but health checking, reflection and the accounts service's `Login`/`Logout`/`Authenticate` must
carry `authorization: Bearer <access token or API key>` metadata. The server's interceptor authenticates
it, checks the method's role policy (`required_roles`) and the organisation the call acts on (the
credential's, or the `x-footfall-org` entry for a platform admin or a service), and hands both to the
servicer through context variables (`current_principal()`, `org_of(context)`).
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextvars import ContextVar
from typing import Any, Protocol, TypeVar

import grpc
from footfall.services.core import errors
from footfall.services.core.audit import AUDITED_METHODS, AuditSink, client_ip, record_call
from footfall.services.core.logging import bind_log_context
from footfall.services.core.principal import ADMINS, FEEDERS, READERS, WRITERS, Principal, Role
from footfall.services.core.tenancy import ORG_METADATA_KEY, validate_org
from footfall.services.core.tokens import NOT_AUTHENTICATED
from footfall.services.core.verification import SharedVerification
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

_STATUS = {
    errors.NotFound: grpc.StatusCode.NOT_FOUND,
    errors.AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    errors.InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    errors.PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    errors.Unavailable: grpc.StatusCode.UNAVAILABLE,
    errors.Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    errors.TooLarge: grpc.StatusCode.RESOURCE_EXHAUSTED,
}


def status_for(err: errors.FootfallError) -> grpc.StatusCode:
    for cls in type(err).__mro__:
        if cls in _STATUS:
            return _STATUS[cls]
    return grpc.StatusCode.INTERNAL


class Authenticating(Protocol):
    async def authenticate(self, credential: str) -> Principal: ...


_principal: ContextVar[Principal | None] = ContextVar("footfall_principal", default=None)
_org: ContextVar[str | None] = ContextVar("footfall_org", default=None)
# Set for a call of an audited method: writes its "failure" entry. A domain error aborts the call, and the
# client sees the status as soon as `context.abort` sends it, so the entry must be written before that.
_before_abort: ContextVar[Callable[[], Awaitable[None]] | None] = ContextVar("footfall_before_abort", default=None)

ALL_ROLES = frozenset(Role)
ACCOUNTS = "footfall.v1.AccountsService"
#: Services anyone may call: health checking and reflection.
OPEN_SERVICES = frozenset({"grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection",
                           "grpc.reflection.v1.ServerReflection"})
#: Methods with their own policy (None: no credential needed).
METHOD_ROLES: dict[str, frozenset[Role] | None] = {
    f"{ACCOUNTS}/Login": None,
    f"{ACCOUNTS}/Logout": None,
    f"{ACCOUNTS}/Authenticate": None,
    f"{ACCOUNTS}/CreateOrg": frozenset({Role.PLATFORM_ADMIN}),
    f"{ACCOUNTS}/ListOrgs": ALL_ROLES,
    f"{ACCOUNTS}/RecordAudit": ALL_ROLES,
}
#: Methods devices may call: feeding frames, crossings and faces in, starting and stopping their streams.
FEED_METHODS = frozenset({"RecordCrossing", "ProcessFrame", "PushFrame", "PushFrames", "StartStream", "StopStream",
                          # a kiosk or an edge box registering (with consent) and recognising faces
                          "GenerateEmbedding", "Recognize", "Register", "AutoRegister", "Track", "CreatePerson"})
READ_PREFIXES = ("Get", "List", "Watch", "Search", "Export")


def required_roles(full_method: str) -> frozenset[Role] | None:
    """The roles that may call `full_method` (`/package.Service/Method`); None when it is open."""
    path = full_method.lstrip("/")
    service, _, method = path.partition("/")
    if service in OPEN_SERVICES:
        return None
    if path in METHOD_ROLES:
        return METHOD_ROLES[path]
    if service == ACCOUNTS:
        return ADMINS
    if method in FEED_METHODS:
        return FEEDERS
    if method.startswith(READ_PREFIXES):
        return READERS
    return WRITERS


def current_principal() -> Principal:
    """The authenticated caller of the RPC being served."""
    principal = _principal.get()
    if principal is None:
        raise errors.Unauthenticated(NOT_AUTHENTICATED)
    return principal


def org_of(context: grpc.aio.ServicerContext) -> str:
    """The organisation this call acts on, as the interceptor established it from the credential."""
    org = _org.get()
    if org is None:
        raise errors.Unauthenticated(NOT_AUTHENTICATED)
    return org


def bearer(metadata: Any) -> str | None:
    """The credential of an `authorization: Bearer ...` metadata entry."""
    for key, value in metadata or ():
        if key == "authorization" and isinstance(value, str):
            scheme, _, credential = value.strip().partition(" ")
            if scheme.lower() == "bearer" and credential.strip():
                return credential.strip()
            return None
    return None


def _requested_org(metadata: Any) -> str | None:
    for key, value in metadata or ():
        if key == ORG_METADATA_KEY:
            return value if isinstance(value, str) else None
    return None


class AuthInterceptor(grpc.aio.ServerInterceptor):
    """Authenticates every call, applies `required_roles`, fixes the organisation; refuses with
    UNAUTHENTICATED (no or bad credential) or PERMISSION_DENIED (role, or another organisation). Calls of
    `AUDITED_METHODS` are written to the audit trail once they end, with their outcome."""

    def __init__(self, authenticator: Authenticating, audit: AuditSink | None = None) -> None:
        # Concurrent calls with one credential share one check (a burst every time the cache's answer expires).
        self.authenticator = SharedVerification(authenticator)
        self.audit = audit

    async def intercept_service(self, continuation: Callable[[Any], Awaitable[Any]], details: Any) -> Any:
        handler = await continuation(details)
        if handler is None:
            return None
        roles = required_roles(details.method)
        if roles is None:
            return handler
        audited = self.audit if details.method in AUDITED_METHODS else None
        return _guarded(handler, functools.partial(self._authorize, roles), details.method, audited)

    async def _authorize(self, roles: frozenset[Role], context: grpc.aio.ServicerContext) -> None:
        metadata = context.invocation_metadata()
        try:
            principal = await self.authenticator.authenticate(bearer(metadata) or "")
            principal.require(roles)
            org = principal.acting_on(_requested_org(metadata))
        except errors.Unauthenticated:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, NOT_AUTHENTICATED)
        except errors.FootfallError as err:
            await context.abort(status_for(err), str(err))
        except Exception:
            log.exception("authentication failed unexpectedly")
            await context.abort(grpc.StatusCode.UNAVAILABLE, "authentication unavailable")
        # Each RPC runs in its own task with its own context copy: nothing leaks into other calls.
        _principal.set(principal)
        _org.set(org)
        bind_log_context(org=org)


def _guarded(handler: Any, authorize: Callable[[Any], Awaitable[None]], method: str = "",
             audit: AuditSink | None = None) -> Any:
    """`handler` with `authorize(context)` run first, for each of the four call shapes (and, for an audited
    method, its entry written when the call ends)."""
    streaming_out = handler.unary_stream or handler.stream_stream
    inner = handler.unary_unary or handler.unary_stream or handler.stream_unary or handler.stream_stream

    async def audited(request: Any, context: grpc.aio.ServicerContext, outcome: str) -> None:
        if audit is not None:
            await record_call(audit, method, current_principal(), _org.get() or "", request,
                              client_ip(context.invocation_metadata(), context.peer() or ""), outcome)

    if streaming_out:
        async def stream_behavior(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            await authorize(context)
            result = inner(request, context)
            if inspect.isasyncgen(result):
                async for item in result:
                    yield item
            else:  # a coroutine that writes with context.write()
                await result

        behavior: Any = stream_behavior
    else:
        async def unary_behavior(request: Any, context: grpc.aio.ServicerContext) -> Any:
            await authorize(context)
            written = False

            async def failed() -> None:
                nonlocal written
                if not written:
                    written = True
                    await audited(request, context, "failure")

            token = _before_abort.set(failed) if audit is not None else None
            try:
                reply = await inner(request, context)
            except BaseException:
                await failed()
                raise
            finally:
                if token is not None:
                    _before_abort.reset(token)
            code = context.code() if hasattr(context, "code") else None
            await audited(request, context, "success" if code in (None, grpc.StatusCode.OK) else "failure")
            return reply

        behavior = unary_behavior
    make = (
        grpc.unary_unary_rpc_method_handler if handler.unary_unary else
        grpc.unary_stream_rpc_method_handler if handler.unary_stream else
        grpc.stream_unary_rpc_method_handler if handler.stream_unary else
        grpc.stream_stream_rpc_method_handler
    )
    return make(behavior, request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer)


def maps_domain_errors(method: F) -> F:
    """Decorate a servicer method: a domain error aborts the call with its status code and message."""
    if inspect.isasyncgenfunction(method):
        @functools.wraps(method)
        async def stream_wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext) -> Any:
            try:
                async for item in method(self, request, context):
                    yield item
            except errors.FootfallError as err:
                await abort(context, err)

        return stream_wrapper  # type: ignore[return-value]

    @functools.wraps(method)
    async def wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext) -> Any:
        try:
            return await method(self, request, context)
        except errors.FootfallError as err:
            await abort(context, err)

    return wrapper  # type: ignore[return-value]


async def abort(context: grpc.aio.ServicerContext, err: errors.FootfallError) -> None:
    """End the call with the domain error's status (an audited call's entry is written first)."""
    before = _before_abort.get()
    if before is not None:
        await before()
    await context.abort(status_for(err), str(err))


def domain_error_from(err: grpc.aio.AioRpcError) -> errors.FootfallError:
    """The domain error a gRPC status stands for (used by clients such as the gateway)."""
    for cls, code in _STATUS.items():
        if err.code() == code:
            return cls(err.details() or "")
    if err.code() in (grpc.StatusCode.DEADLINE_EXCEEDED,):
        return errors.Unavailable(err.details() or "deadline exceeded")
    return errors.FootfallError(err.details() or str(err.code()))


class GrpcServer:
    """One grpc.aio server hosting every service, with health checking and reflection (both open) and
    authentication of every other call by `authenticator`."""

    def __init__(self, host: str, port: int, *, authenticator: Authenticating, audit: AuditSink | None = None) -> None:
        self.address = f"{host}:{port}"
        self.authenticator = authenticator
        self.server = grpc.aio.server(
            options=[("grpc.so_reuseport", 0)], interceptors=[AuthInterceptor(authenticator, audit)]
        )
        self.health = health.aio.HealthServicer() if hasattr(health, "aio") else health.HealthServicer()
        self._service_names: list[str] = [reflection.SERVICE_NAME, health.SERVICE_NAME]
        self.port: int | None = None

    def add(self, register: Callable[[Any, grpc.aio.Server], None], servicer: Any, full_name: str) -> None:
        register(servicer, self.server)
        self._service_names.append(full_name)

    async def start(self) -> int:
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        reflection.enable_server_reflection(self._service_names, self.server)
        self.port = self.server.add_insecure_port(self.address)
        if not self.port:
            raise OSError(f"cannot listen for gRPC on {self.address}")
        await self.server.start()
        for name in [*self._service_names, ""]:
            result = self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
            if inspect.isawaitable(result):
                await result
        log.info("gRPC listening on %s", self.address.rsplit(":", 1)[0] + f":{self.port}")
        return self.port

    async def stop(self, grace: float = 2.0) -> None:
        await self.server.stop(grace)


def metadata_for(org: str) -> Sequence[tuple[str, str]]:
    """Deprecated: the org entry alone, which no server accepts any more without a credential. Use
    `ServiceCredentials(signer).metadata(org)` (services) or the caller's own credential (the gateway)."""
    return ((ORG_METADATA_KEY, validate_org(org)),)
