"""gRPC plumbing shared by every servicer: the caller's organisation, domain errors -> status codes, the server."""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from footfall.services.core import errors
from footfall.services.core.tenancy import ORG_METADATA_KEY, validate_org

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


def org_of(context: grpc.aio.ServicerContext, default: str) -> str:
    """The organisation named by the `x-footfall-org` metadata entry, else `default`."""
    for key, value in context.invocation_metadata() or ():
        if key == ORG_METADATA_KEY:
            return validate_org(value)
    return default


def maps_domain_errors(method: F) -> F:
    """Decorate a servicer method: a domain error aborts the call with its status code and message."""
    if inspect.isasyncgenfunction(method):
        @functools.wraps(method)
        async def stream_wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext) -> Any:
            try:
                async for item in method(self, request, context):
                    yield item
            except errors.FootfallError as err:
                await context.abort(status_for(err), str(err))

        return stream_wrapper  # type: ignore[return-value]

    @functools.wraps(method)
    async def wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext) -> Any:
        try:
            return await method(self, request, context)
        except errors.FootfallError as err:
            await context.abort(status_for(err), str(err))

    return wrapper  # type: ignore[return-value]


def domain_error_from(err: grpc.aio.AioRpcError) -> errors.FootfallError:
    """The domain error a gRPC status stands for (used by clients such as the gateway)."""
    for cls, code in _STATUS.items():
        if err.code() == code:
            return cls(err.details() or "")
    if err.code() in (grpc.StatusCode.DEADLINE_EXCEEDED,):
        return errors.Unavailable(err.details() or "deadline exceeded")
    return errors.FootfallError(err.details() or str(err.code()))


class GrpcServer:
    """One grpc.aio server hosting every service, with health checking and reflection."""

    def __init__(self, host: str, port: int) -> None:
        self.address = f"{host}:{port}"
        self.server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
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
    return ((ORG_METADATA_KEY, validate_org(org)),)
