"""Identity's calls to other services over gRPC, with this process's service credentials: customer records
(the customers service owns them; identity only holds ids) and the audit log (the accounts service owns it).

Why the audit log goes to accounts and not a local table: one log answers "who was recognised where, by
whose request" next to logins and admin actions, and `ListAuditLog` already serves it to org admins."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC
from typing import Any

import grpc
from footfall.services.core.errors import AlreadyExists, FootfallError, InvalidArgument, NotFound, Unavailable
from footfall.services.core.grpc import domain_error_from
from footfall.services.core.tokens import ServiceCredentials, default_service_credentials
from footfall.services.identity.domain import CustomerInfo
from footfall.v1 import accounts_pb2, accounts_pb2_grpc, customers_pb2, customers_pb2_grpc
from google.protobuf import field_mask_pb2, struct_pb2

log = logging.getLogger(__name__)

CUSTOMER_NOT_FOUND = "Customer not found"


class _Channel:
    """A lazily opened channel: an in-process server's port is known only once it has started."""

    def __init__(self, target: Callable[[], str | None], credentials: ServiceCredentials | None,
                 timeout_s: float) -> None:
        self._target = target
        self._credentials = credentials
        self.timeout_s = timeout_s
        self._channel: grpc.aio.Channel | None = None

    def channel(self) -> grpc.aio.Channel:
        if self._channel is None:
            target = self._target()
            if not target:
                raise Unavailable("service address unknown")
            self._channel = grpc.aio.insecure_channel(target)
        return self._channel

    def metadata(self, org: str) -> Any:
        return (self._credentials or default_service_credentials()).metadata(org)

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel = None


def _error(err: grpc.aio.AioRpcError, what: str) -> FootfallError:
    """The callee's refusal as a domain error; anything unexpected is Unavailable (never quoted)."""
    error = domain_error_from(err)
    if isinstance(error, NotFound | AlreadyExists | InvalidArgument | Unavailable):
        return error
    log.warning("%s refused: %s", what, err.code().name)
    return Unavailable(f"{what} unavailable")


def customer_info(message: customers_pb2.Customer) -> CustomerInfo:
    return CustomerInfo(id=message.id, name=message.name, email=message.email, phone=message.phone,
                        loyalty_status=message.loyalty_status,
                        created_at=message.created_at.ToDatetime(tzinfo=UTC) if message.HasField("created_at") else None)


class CustomerDirectory:
    """Customer records on the customers service."""

    def __init__(self, target: Callable[[], str | None], *, credentials: ServiceCredentials | None = None,
                 timeout_s: float = 5.0) -> None:
        self._conn = _Channel(target, credentials, timeout_s)

    def _stub(self) -> customers_pb2_grpc.CustomersServiceStub:
        return customers_pb2_grpc.CustomersServiceStub(self._conn.channel())

    async def get(self, org: str, customer_id: int) -> CustomerInfo:
        if customer_id <= 0:
            raise NotFound(CUSTOMER_NOT_FOUND)
        try:
            reply = await self._stub().GetCustomer(customers_pb2.GetCustomerRequest(id=customer_id),
                                                   metadata=self._conn.metadata(org), timeout=self._conn.timeout_s)
        except grpc.aio.AioRpcError as err:
            if err.code() == grpc.StatusCode.NOT_FOUND:
                raise NotFound(CUSTOMER_NOT_FOUND) from None
            raise _error(err, "customers service") from None
        return customer_info(reply.customer)

    async def get_many(self, org: str, customer_ids: set[int]) -> dict[int, CustomerInfo]:
        """The customers that exist among `customer_ids` (missing ones are left out)."""
        found: dict[int, CustomerInfo] = {}
        for customer_id in sorted(customer_ids):
            try:
                found[customer_id] = await self.get(org, customer_id)
            except NotFound:
                continue
        return found

    async def create(self, org: str, name: str, email: str = "", phone: str = "") -> CustomerInfo:
        customer = customers_pb2.Customer(name=name, email=email, phone=phone)
        try:
            reply = await self._stub().CreateCustomer(customers_pb2.CreateCustomerRequest(customer=customer),
                                                      metadata=self._conn.metadata(org), timeout=self._conn.timeout_s)
        except grpc.aio.AioRpcError as err:
            raise _error(err, "customers service") from None
        return customer_info(reply.customer)

    async def update_contact(self, org: str, customer_id: int, name: str | None, phone: str | None) -> CustomerInfo:
        paths = [p for p, v in (("name", name), ("phone", phone)) if v is not None]
        customer = customers_pb2.Customer(id=customer_id, name=name or "", phone=phone or "")
        try:
            reply = await self._stub().UpdateCustomer(
                customers_pb2.UpdateCustomerRequest(customer=customer, update_mask=field_mask_pb2.FieldMask(paths=paths)),
                metadata=self._conn.metadata(org), timeout=self._conn.timeout_s)
        except grpc.aio.AioRpcError as err:
            if err.code() == grpc.StatusCode.NOT_FOUND:
                raise NotFound(CUSTOMER_NOT_FOUND) from None
            raise _error(err, "customers service") from None
        return customer_info(reply.customer)

    async def close(self) -> None:
        await self._conn.close()


class AuditTrail:
    """Entries in the accounts service's audit log (as the identity service; `detail` names the requester)."""

    def __init__(self, target: Callable[[], str | None], *, credentials: ServiceCredentials | None = None,
                 timeout_s: float = 5.0) -> None:
        self._conn = _Channel(target, credentials, timeout_s)

    async def record(self, org: str, action: str, target: str, detail: Mapping[str, Any], *,
                     outcome: str = "success") -> None:
        """Raises Unavailable when the entry could not be written: a recognition nobody can account for is
        refused rather than served."""
        body = struct_pb2.Struct()
        body.update({k: v for k, v in detail.items() if v is not None})
        try:
            await accounts_pb2_grpc.AccountsServiceStub(self._conn.channel()).RecordAudit(
                accounts_pb2.RecordAuditRequest(action=action, target=target, detail=body, outcome=outcome),
                metadata=self._conn.metadata(org), timeout=self._conn.timeout_s)
        except grpc.aio.AioRpcError as err:
            log.warning("audit log refused %s: %s", action, err.code().name)
            raise Unavailable("audit log unavailable") from None

    async def close(self) -> None:
        await self._conn.close()
