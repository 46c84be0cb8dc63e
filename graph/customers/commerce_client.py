"""The seed 003 commerce calls of `footfall.v1.CustomersService` (products, carts, a person's orders, detail and
summary, visit counts), mixed into `CustomersClient` so the gateway keeps one typed client per service."""

from __future__ import annotations

import grpc
from footfall.graph.core.client import Identity
from footfall.v1 import customers_pb2, customers_pb2_grpc

#: The summary may wait on a configured model (its own timeout, 10 s by default) before falling back, so
#: its call gets longer than the client's default.
SUMMARY_TIMEOUT_S = 60.0


class CommerceCalls:
    """Needs `stub`, `timeout` and `unary` from `ServiceClient`/`CustomersClient`."""

    stub: customers_pb2_grpc.CustomersServiceStub
    timeout: float

    async def create_product(self, caller: Identity, product: customers_pb2.Product) -> customers_pb2.Product:
        request = customers_pb2.CreateProductRequest(product=product)
        return (await self.unary(self.stub.CreateProduct, request, caller)).product  # type: ignore[attr-defined]

    async def list_products(
        self, caller: Identity, page_size: int = 0, page_token: str = ""
    ) -> customers_pb2.ListProductsResponse:
        request = customers_pb2.ListProductsRequest(page_size=page_size, page_token=page_token)
        return await self.unary(self.stub.ListProducts, request, caller)  # type: ignore[attr-defined, no-any-return]

    async def create_cart(self, caller: Identity, cart: customers_pb2.Cart) -> customers_pb2.Cart:
        request = customers_pb2.CreateCartRequest(cart=cart)
        return (await self.unary(self.stub.CreateCart, request, caller)).cart  # type: ignore[attr-defined]

    async def add_cart_products(
        self, caller: Identity, cart_products: list[customers_pb2.CartProduct]
    ) -> list[customers_pb2.CartProduct]:
        request = customers_pb2.AddCartProductsRequest(cart_products=cart_products)
        return list((await self.unary(self.stub.AddCartProducts, request, caller)).cart_products)  # type: ignore[attr-defined]

    async def checkout_cart(
        self, caller: Identity, request: customers_pb2.CheckoutCartRequest
    ) -> customers_pb2.CheckoutCartResponse:
        return await self.unary(self.stub.CheckoutCart, request, caller)  # type: ignore[attr-defined, no-any-return]

    async def person_orders(
        self, caller: Identity, person_id: str, page_size: int = 0, page_token: str = "", *, enrolled: bool = False
    ) -> customers_pb2.ListPersonOrdersResponse:
        request = customers_pb2.ListPersonOrdersRequest(
            person_id=person_id, page_size=page_size, page_token=page_token, enrolled=enrolled
        )
        return await self.unary(self.stub.ListPersonOrders, request, caller)  # type: ignore[attr-defined, no-any-return]

    async def person_detail(
        self, caller: Identity, person_id: str, *, enrolled: bool = False
    ) -> customers_pb2.GetPersonDetailResponse:
        request = customers_pb2.GetPersonDetailRequest(person_id=person_id, enrolled=enrolled)
        return await self.unary(self.stub.GetPersonDetail, request, caller)  # type: ignore[attr-defined, no-any-return]

    async def person_summary(
        self, caller: Identity, person_id: str, *, enrolled: bool = False, person_name: str = ""
    ) -> customers_pb2.PersonSummary:
        request = customers_pb2.GetPersonSummaryRequest(person_id=person_id, enrolled=enrolled,
                                                        person_name=person_name)
        try:
            reply = await self.stub.GetPersonSummary(
                request, metadata=caller.grpc_metadata(), timeout=max(self.timeout, SUMMARY_TIMEOUT_S)
            )
        except grpc.aio.AioRpcError as err:
            raise self.error(err) from None  # type: ignore[attr-defined]
        return reply.summary

    async def visit_count(self, caller: Identity, period: int) -> list[customers_pb2.VisitBucket]:
        request = customers_pb2.GetVisitCountRequest(period=period)  # type: ignore[arg-type]
        return list((await self.unary(self.stub.GetVisitCount, request, caller)).buckets)  # type: ignore[attr-defined]
