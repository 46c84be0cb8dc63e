"""gRPC adapter of commerce: the seed 003 methods of footfall.v1.CustomersService.

A mixin of :class:`footfall.services.customers.servicer.CustomersServicer` (one gRPC service, one servicer),
thin like it: proto -> domain, one call to :class:`Commerce`, domain -> proto.
"""

from __future__ import annotations

from footfall.services.core.grpc import maps_domain_errors, org_of
from footfall.services.customers import convert as journey_convert
from footfall.services.customers.commerce import convert
from footfall.services.customers.commerce.service import Commerce
from footfall.v1 import customers_pb2


class CommerceServicer:
    """The commerce RPCs; `commerce` is set by the servicer that mixes this in."""

    commerce: Commerce

    @maps_domain_errors
    async def CreateProduct(self, request, context):  # type: ignore[no-untyped-def]
        product = await self.commerce.create_product(org_of(context), convert.product_draft_of(request.product))
        return customers_pb2.CreateProductResponse(product=convert.product_pb(product))

    @maps_domain_errors
    async def ListProducts(self, request, context):  # type: ignore[no-untyped-def]
        rows, token = await self.commerce.list_products(org_of(context), request.page_size, request.page_token)
        return customers_pb2.ListProductsResponse(products=[convert.product_pb(p) for p in rows],
                                                  next_page_token=token)

    @maps_domain_errors
    async def CreateCart(self, request, context):  # type: ignore[no-untyped-def]
        cart = await self.commerce.create_cart(org_of(context), convert.cart_draft_of(request.cart))
        return customers_pb2.CreateCartResponse(cart=convert.cart_pb(cart))

    @maps_domain_errors
    async def AddCartProducts(self, request, context):  # type: ignore[no-untyped-def]
        added = await self.commerce.add_cart_products(
            org_of(context), convert.cart_product_drafts_of(list(request.cart_products))
        )
        return customers_pb2.AddCartProductsResponse(cart_products=[convert.cart_product_pb(cp) for cp in added])

    @maps_domain_errors
    async def CheckoutCart(self, request, context):  # type: ignore[no-untyped-def]
        cart, txn, journey = await self.commerce.checkout(
            org_of(context), request.cart_id, convert.checkout_of(request)
        )
        response = customers_pb2.CheckoutCartResponse(cart=convert.cart_pb(cart),
                                                      transaction=journey_convert.transaction_pb(txn))
        if journey is not None:
            response.journey.CopyFrom(journey_convert.journey_pb(journey))
        return response

    @maps_domain_errors
    async def ListPersonOrders(self, request, context):  # type: ignore[no-untyped-def]
        person, orders, token, total = await self.commerce.person_orders(
            org_of(context), request.person_id, request.page_size, request.page_token, enrolled=request.enrolled
        )
        return customers_pb2.ListPersonOrdersResponse(
            person=convert.person_pb(person), orders=[convert.order_pb(o) for o in orders],
            next_page_token=token, total_size=total,
        )

    @maps_domain_errors
    async def GetPersonDetail(self, request, context):  # type: ignore[no-untyped-def]
        person, carts = await self.commerce.person_detail(org_of(context), request.person_id,
                                                          enrolled=request.enrolled)
        return customers_pb2.GetPersonDetailResponse(person=convert.person_pb(person),
                                                     carts=[convert.order_pb(o) for o in carts])

    @maps_domain_errors
    async def GetPersonSummary(self, request, context):  # type: ignore[no-untyped-def]
        summary = await self.commerce.person_summary(org_of(context), request.person_id,
                                                     enrolled=request.enrolled, person_name=request.person_name)
        return customers_pb2.GetPersonSummaryResponse(summary=convert.summary_pb(summary))

    @maps_domain_errors
    async def GetVisitCount(self, request, context):  # type: ignore[no-untyped-def]
        period = convert.period_of(request.period)
        buckets = await self.commerce.visit_counts(org_of(context), period)
        return customers_pb2.GetVisitCountResponse(buckets=[convert.bucket_pb(b, period.unit) for b in buckets])
