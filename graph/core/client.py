"""The base of every domain's typed gRPC client: one stub over a shared channel, the caller's identity
forwarded as metadata, and failed RPCs turned back into domain errors.

Every call carries the caller's credential and organisation (`Caller.grpc_metadata()`), so each service checks
the caller again; the gateway never asserts an organisation of its own. A service that cannot be reached
(UNAVAILABLE, DEADLINE_EXCEEDED) becomes `ServiceUnavailable`, which names the service, so REST can answer 503
`{"detail": "Occupancy service not initialized"}` and GraphQL an `UNAVAILABLE` error.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from typing import Any, Protocol, TypeVar

import grpc
from footfall.services.core import errors
from footfall.services.core.grpc import domain_error_from
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2, health_pb2_grpc

R = TypeVar("R", bound=Message)
C = TypeVar("C", bound="ServiceClient")

#: How long one unary call may take before the gateway gives up on the service.
DEFAULT_TIMEOUT_S = 10.0

_UNREACHABLE = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


class Identity(Protocol):
    """Whoever a call is made for (`footfall.graph.security.auth.Caller`): its metadata goes with the call."""

    @property
    def org(self) -> str: ...

    def grpc_metadata(self) -> Sequence[tuple[str, str]]: ...


class ServiceUnavailable(errors.Unavailable):
    """The service behind a client could not be reached (or answered UNAVAILABLE)."""

    def __init__(self, service: str, cause: str = "") -> None:
        self.service = service
        self.cause = cause
        super().__init__(f"{service} service unavailable" + (f": {cause}" if cause else ""))


class ServiceClient:
    """Base of the typed clients."""

    #: Human name used in errors, e.g. `Occupancy` -> "Occupancy service not initialized".
    service_name = "Service"
    #: Full gRPC service name, for health checks.
    grpc_service = ""

    def __init__(self, channel: grpc.aio.Channel, *, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        self.channel = channel
        self.timeout = timeout

    def error(self, err: grpc.aio.AioRpcError) -> errors.FootfallError:
        """The domain error a failed call stands for."""
        if err.code() in _UNREACHABLE:
            return ServiceUnavailable(self.service_name, err.details() or err.code().name)
        return domain_error_from(err)

    async def unary(self, method: Callable[..., Awaitable[R]], request: Message, caller: Identity) -> R:
        try:
            return await method(request, metadata=caller.grpc_metadata(), timeout=self.timeout)
        except grpc.aio.AioRpcError as err:
            raise self.error(err) from None

    async def stream(
        self, method: Callable[..., Any], request: Message, caller: Identity, *, timeout: float | None = None
    ) -> AsyncGenerator[Any, None]:
        """The replies of a server-streaming call until it ends or the caller stops iterating.

        Closing the iterator cancels the call; a CANCELLED status just ends the stream and any other failed
        status raises the domain error it stands for. `timeout` bounds the whole call (default: none).
        Return this generator itself (don't wrap it in another) so that closing it cancels the call at once.
        """
        call = method(request, metadata=caller.grpc_metadata(), timeout=timeout)
        try:
            async for reply in call:
                yield reply
        except grpc.aio.AioRpcError as err:
            if err.code() != grpc.StatusCode.CANCELLED:
                raise self.error(err) from None
        finally:
            call.cancel()

    async def serving(self, timeout: float = 1.0) -> tuple[bool, str]:
        """Whether the service answers the standard gRPC health check as SERVING (and why not)."""
        stub = health_pb2_grpc.HealthStub(self.channel)
        try:
            reply = await stub.Check(health_pb2.HealthCheckRequest(service=self.grpc_service), timeout=timeout)
        except grpc.aio.AioRpcError as err:
            return False, f"{err.code().name}: {err.details() or ''}".strip()
        ok = reply.status == health_pb2.HealthCheckResponse.SERVING
        return ok, health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)


class Clients:
    """The gateway's clients over one channel, made once and shared by every request: `clients.get(VisionClient)`."""

    def __init__(self, channel: grpc.aio.Channel, *, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        self.channel = channel
        self.timeout = timeout
        self._made: dict[type[ServiceClient], ServiceClient] = {}

    def get(self, cls: type[C]) -> C:
        client = self._made.get(cls)
        if client is None:
            client = self._made[cls] = cls(self.channel, timeout=self.timeout)
        return client  # type: ignore[return-value]


def present(changes: dict[str, Any]) -> dict[str, Any]:
    """The changes actually given (a partial update sets only these)."""
    return {k: v for k, v in changes.items() if v is not None}
