"""A customer's loyalty status from the customers service, over gRPC with this process's service credentials
(the promotions service never reads the customer tables)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import grpc
from footfall.services.core.errors import NotFound, Unavailable
from footfall.services.core.grpc import domain_error_from
from footfall.services.core.tokens import ServiceCredentials, default_service_credentials
from footfall.services.promotions.convert import loyalty_word
from footfall.v1 import customers_pb2, customers_pb2_grpc

log = logging.getLogger(__name__)

CUSTOMER_NOT_FOUND = "Customer not found"


class LoyaltyLookup:
    """`await lookup(org, customer_id)` -> `gold`; NotFound("Customer not found"), Unavailable when the
    customers service cannot be asked. `target` gives the address when first needed (an in-process server's
    port is known only once it has started)."""

    def __init__(self, target: Callable[[], str | None], *, timeout_s: float = 5.0,
                 credentials: ServiceCredentials | None = None) -> None:
        self._target = target
        self.timeout_s = timeout_s
        self._credentials = credentials
        self._channel: grpc.aio.Channel | None = None

    def _stub(self) -> Any:
        if self._channel is None:
            target = self._target()
            if not target:
                raise Unavailable("customers service address unknown")
            self._channel = grpc.aio.insecure_channel(target)
        return customers_pb2_grpc.CustomersServiceStub(self._channel)

    async def __call__(self, org: str, customer_id: int) -> str:
        if customer_id <= 0:
            raise NotFound(CUSTOMER_NOT_FOUND)
        metadata = (self._credentials or default_service_credentials()).metadata(org)
        try:
            reply = await self._stub().GetCustomer(customers_pb2.GetCustomerRequest(id=customer_id),
                                                   metadata=metadata, timeout=self.timeout_s)
        except grpc.aio.AioRpcError as err:
            if err.code() == grpc.StatusCode.NOT_FOUND:
                raise NotFound(CUSTOMER_NOT_FOUND) from None
            log.warning("customers service refused GetCustomer: %s", err.code().name)
            error = domain_error_from(err)
            raise (error if isinstance(error, Unavailable) else Unavailable("customers service unavailable")) from None
        status = loyalty_word(reply.customer.loyalty_status)
        return "bronze" if status == "all" else status

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel = None
