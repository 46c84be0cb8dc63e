"""REST routes of the customers service (seed 000, "IntelliSight API"), thin adapters over CustomersService.

The seed's two documents, exactly:

* `GET /api/customers` -> `{"customers": [[id, customer_id, entry_time, exit_time, duration, zones, behavior,
  conversion, created_at], ...]}`: the latest 100 journeys, newest entry first.
* `GET /api/stats` -> `{"total_customers": N}`.

And the rest of the service: `GET /api/journeys` (a filtered page), `GET /api/journeys/{journey_id}`,
`GET /api/journeys/export?format=csv|xlsx` (a streamed download), `POST /api/transactions`, and webhooks
(`POST/GET /api/webhooks`, `DELETE /api/webhooks/{webhook_id}`, `GET /api/webhooks/{webhook_id}/deliveries`).

Errors are `{"detail": "..."}`: 400 (bad body), 404, 422 (bad path or query parameter), 503 (`Customers
service not initialized`). The organisation is the caller's.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Path, Query
from footfall.graph.core.errors import DETAIL, invalid_parameter
from footfall.graph.core.rest import INT64_MAX, Reader, Writer, client, domain_router, error_responses
from footfall.graph.customers.client import CustomersClient
from footfall.graph.customers.convert import (
    CONVERSIONS,
    EXPORT_FORMATS,
    SEED_CUSTOMERS_LIMIT,
    STATUSES,
    choice,
    seed_row,
    time_range,
)
from footfall.graph.customers.models import (
    DeliveryOut,
    DeliveryPageOut,
    JourneyExportFile,
    JourneyOut,
    JourneyPageOut,
    SeedCustomers,
    SeedStats,
    TransactionIn,
    TransactionOut,
    TransactionRecordedOut,
    WebhookCreatedOut,
    WebhookDeletedOut,
    WebhookIn,
    WebhookOut,
    WebhookPageOut,
)
from footfall.services.core import errors
from footfall.v1 import customers_pb2
from starlette.responses import Response, StreamingResponse

log = logging.getLogger(__name__)

ERROR_STYLE = DETAIL
router = domain_router("/api", tags=["customers"], style=ERROR_STYLE)
Customers = Annotated[CustomersClient, Depends(client(CustomersClient))]

_TEXT = r"^[^\x00]*$"  # no NUL bytes: PostgreSQL text cannot hold them
Since = Annotated[
    str | None,
    Query(max_length=64, description="Journeys that entered at or after this time (ISO 8601 or Unix seconds)"),
]
Until = Annotated[str | None, Query(max_length=64, description="Journeys that entered before this time")]
CameraFilter = Annotated[str | None, Query(max_length=128, pattern=_TEXT, description="The camera's external key")]
StatusFilter = Annotated[str | None, Query(max_length=32, description="`active` or `completed`")]
BehaviorFilter = Annotated[
    str | None, Query(max_length=128, pattern=_TEXT, description="A behaviour pattern, e.g. `browser`")
]
ConversionFilter = Annotated[str | None, Query(max_length=32, description="`purchased`, `no_purchase` or `pending`")]
ZoneFilter = Annotated[
    str | None, Query(max_length=128, pattern=_TEXT, description="Only journeys that visited this zone")
]
PageSize = Annotated[int, Query(ge=1, le=1000, description="At most 1000")]
PageToken = Annotated[
    str | None, Query(max_length=512, pattern=_TEXT, description="next_page_token of the previous page")
]
JourneyId = Annotated[int, Path(ge=1, le=INT64_MAX, description="The journey's id")]
WebhookId = Annotated[int, Path(ge=1, le=INT64_MAX, description="The webhook's id")]


@router.get("/customers", responses=error_responses(), summary="Latest 100 journeys as seed rows")
async def get_customers(caller: Reader, customers: Customers) -> SeedCustomers:
    """The seed's `GET /api/customers`: the latest 100 journeys (newest entry first), each a row of the seed's
    journeys table."""
    reply = await customers.latest_journeys(caller, SEED_CUSTOMERS_LIMIT)
    return SeedCustomers(customers=[seed_row(j) for j in reply.journeys])


@router.get("/stats", responses=error_responses(), summary="Total customers")
async def get_stats(caller: Reader, customers: Customers) -> SeedStats:
    """The seed's `GET /api/stats`: every visit, active ones included."""
    stats = await customers.stats(caller, customers_pb2.GetJourneyStatsRequest())
    return SeedStats(total_customers=stats.total_customers)


@router.get("/journeys", responses=error_responses(422), summary="Journeys, newest entry first")
async def list_journeys(
    caller: Reader,
    customers: Customers,
    page_size: PageSize = 100,
    page_token: PageToken = None,
    since: Since = None,
    until: Until = None,
    camera_id: CameraFilter = None,
    customer_id: Annotated[str | None, Query(max_length=128, pattern=_TEXT, description="One customer's journeys")] = None,
    status: StatusFilter = None,
    behavior: BehaviorFilter = None,
    conversion: ConversionFilter = None,
    zone: ZoneFilter = None,
) -> JourneyPageOut:
    """A page of the organisation's journeys, filtered by entry time and the other filters given."""
    request = customers_pb2.ListJourneysRequest(
        page_size=page_size,
        page_token=page_token or "",
        camera_id=camera_id or "",
        customer_id=customer_id or "",
        status=choice(status, "status", STATUSES),  # type: ignore[arg-type]
        behavior=behavior or "",
        conversion=choice(conversion, "conversion", CONVERSIONS),  # type: ignore[arg-type]
        zone_name=zone or "",
    )
    time_range(request, since, until)
    reply = await customers.list_journeys(caller, request)
    return JourneyPageOut(
        journeys=[JourneyOut.of(j) for j in reply.journeys], next_page_token=reply.next_page_token or None
    )


@router.get(
    "/journeys/export",
    response_class=StreamingResponse,
    responses={**error_responses(422), 200: {"model": JourneyExportFile, "description": "The file"}},
    summary="Download the journeys as CSV or XLSX",
)
async def export_journeys(
    caller: Reader,
    customers: Customers,
    format: Annotated[str, Query(max_length=8, description="`csv` or `xlsx`")] = "csv",
    since: Since = None,
    until: Until = None,
    camera_id: CameraFilter = None,
    status: StatusFilter = None,
    behavior: BehaviorFilter = None,
    conversion: ConversionFilter = None,
    zone: ZoneFilter = None,
) -> Response:
    """The filtered journeys as a file (the seed's report columns first), oldest entry first, streamed as the
    service sends it: `text/csv` or XLSX, with `Content-Disposition: attachment; filename=journeys-....csv`."""
    fmt = (format or "csv").strip().lower()
    if fmt not in EXPORT_FORMATS:
        raise invalid_parameter("format", "use csv or xlsx")
    request = customers_pb2.ExportJourneysRequest(
        format=EXPORT_FORMATS[fmt],  # type: ignore[arg-type]
        camera_id=camera_id or "",
        status=choice(status, "status", STATUSES),  # type: ignore[arg-type]
        behavior=behavior or "",
        conversion=choice(conversion, "conversion", CONVERSIONS),  # type: ignore[arg-type]
        zone_name=zone or "",
    )
    time_range(request, since, until)
    chunks = customers.export(caller, request)
    try:
        first = await anext(chunks)
    except StopAsyncIteration:
        raise errors.FootfallError("the export produced no file") from None
    except BaseException:
        await chunks.aclose()
        raise

    async def body() -> AsyncIterator[bytes]:
        try:
            yield first.chunk
            async for part in chunks:
                yield part.chunk
        except errors.FootfallError as err:  # after the headers: all we can do is cut the download short
            log.warning("journeys export for %s failed mid-stream: %s", caller.org, err)
            raise
        finally:
            await chunks.aclose()

    return StreamingResponse(
        body(),
        media_type=first.content_type or "application/octet-stream",
        headers={
            "Content-Disposition": f'attachment; filename="{first.filename or "journeys"}"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/journeys/{journey_id}", responses=error_responses(404, 422), summary="One journey")
async def get_journey(caller: Reader, customers: Customers, journey_id: JourneyId) -> JourneyOut:
    """One journey of the organisation by id."""
    return JourneyOut.of(await customers.get_journey(caller, journey_id))


@router.post("/transactions", responses=error_responses(400), summary="Record a point-of-sale transaction")
async def record_transaction(caller: Writer, customers: Customers, body: TransactionIn) -> TransactionRecordedOut:
    """Records the transaction (idempotent by `transaction_id`) and matches it to the journey present at its
    time, in its zone when it names one; that journey converts (`Purchased`)."""
    reply = await customers.record_transaction(caller, body.to_proto())
    return TransactionRecordedOut(
        transaction=TransactionOut.of(reply.transaction),
        journey=JourneyOut.of(reply.journey) if reply.HasField("journey") else None,
        created=reply.created,
    )


@router.post("/webhooks", status_code=201, responses=error_responses(400), summary="Register a webhook")
async def create_webhook(caller: Writer, customers: Customers, body: WebhookIn) -> WebhookCreatedOut:
    """Registers a URL that receives the subscribed events (`customer_entry`, `journey_complete`, `person_joined`,
    `customer_identified`, `promotion_action`) as signed JSON POSTs."""
    reply = await customers.create_webhook(caller, body.url, body.events, body.secret)
    return WebhookCreatedOut(**WebhookOut.of(reply.webhook).model_dump(), secret=reply.secret)


@router.get("/webhooks", responses=error_responses(422), summary="The organisation's webhooks")
async def list_webhooks(
    caller: Reader, customers: Customers, page_size: PageSize = 100, page_token: PageToken = None
) -> WebhookPageOut:
    """The organisation's webhooks, oldest first."""
    reply = await customers.list_webhooks(caller, page_size, page_token or "")
    return WebhookPageOut(
        webhooks=[WebhookOut.of(w) for w in reply.webhooks], next_page_token=reply.next_page_token or None
    )


@router.delete("/webhooks/{webhook_id}", responses=error_responses(404, 422), summary="Delete a webhook")
async def delete_webhook(caller: Writer, customers: Customers, webhook_id: WebhookId) -> WebhookDeletedOut:
    """Deletes the webhook; nothing more is posted to it."""
    await customers.delete_webhook(caller, webhook_id)
    return WebhookDeletedOut(id=webhook_id)


@router.get(
    "/webhooks/{webhook_id}/deliveries", responses=error_responses(404, 422), summary="A webhook's delivery log"
)
async def list_webhook_deliveries(
    caller: Reader,
    customers: Customers,
    webhook_id: WebhookId,
    page_size: PageSize = 100,
    page_token: PageToken = None,
) -> DeliveryPageOut:
    """The webhook's deliveries, newest first."""
    reply = await customers.list_deliveries(caller, webhook_id, page_size, page_token or "")
    return DeliveryPageOut(
        deliveries=[DeliveryOut.of(d) for d in reply.deliveries],
        next_page_token=reply.next_page_token or None,
    )
