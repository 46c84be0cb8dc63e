"""The seed's REST documents (IntelliSight's optional FastAPI app), produced exactly.

``GET /api/customers`` -> ``{"customers": [row, ...]}``: the latest 100 rows of the journeys table by
``entry_time`` descending, each row a JSON array in the seed table's column order (the seed returns
``cursor.fetchall()`` tuples, which FastAPI renders as arrays)::

    [id, customer_id, entry_time, exit_time, duration, zones, behavior, conversion, created_at]

``entry_time``/``exit_time`` are Unix seconds (REAL), ``duration`` seconds, ``zones`` the JSON text of
the zone list (the seed's TEXT column), ``created_at`` the TIMESTAMP text ``YYYY-MM-DD HH:MM:SS.ffffff``
(UTC). A journey still in progress has ``null`` exit and duration, behaviour ``in progress`` and
conversion ``Pending``.

``GET /api/stats`` -> ``{"total_customers": N}``: ``SELECT COUNT(*) FROM journeys`` (every visit, active
ones included); no other keys, so strict clients keep working.

The gateway mounts the routes at exactly ``/api/customers`` and ``/api/stats`` (no trailing slash), status
200. It can build the bodies from gRPC responses (:func:`customers_from_proto`, :func:`stats_from_proto`,
or :func:`fetch_customers` / :func:`fetch_stats` with a stub) or in-process from the domain
(:func:`get_customers`, :func:`get_stats`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from footfall.v1 import customers_pb2

from footfall.services.customers.exports import created_at_text
from footfall.services.customers.models import JourneyRecord
from footfall.services.customers.service import Customers

CUSTOMERS_PATH = "/api/customers"
STATS_PATH = "/api/stats"
CUSTOMERS_LIMIT = 100

Row = list[Any]


def customer_row(rec: JourneyRecord) -> Row:
    """One seed journeys row from a stored journey."""
    j = rec.journey
    return [
        rec.id, j.customer_id, j.entry_time, j.exit_time, j.total_duration, json.dumps(j.zones_visited),
        j.behavior_pattern, j.conversion_status, created_at_text(rec.created_at),
    ]


_CONVERSION_TEXT = {
    customers_pb2.CONVERSION_STATUS_PENDING: "Pending",
    customers_pb2.CONVERSION_STATUS_PURCHASED: "Purchased",
    customers_pb2.CONVERSION_STATUS_NO_PURCHASE: "No Purchase",
    customers_pb2.CONVERSION_STATUS_UNSPECIFIED: "",
}


def _unix(ts: Any) -> float:
    return ts.ToNanoseconds() / 1e9


def customer_row_from_proto(j: customers_pb2.Journey) -> Row:
    """One seed journeys row from a gRPC ``Journey``."""
    completed = j.HasField("exit_time")
    created = datetime.fromtimestamp(_unix(j.created_at), UTC)
    return [
        j.id, j.customer_id, _unix(j.entry_time), _unix(j.exit_time) if completed else None,
        j.duration_seconds if completed else None, json.dumps(list(j.zones_visited)), j.behavior,
        _CONVERSION_TEXT.get(j.conversion, ""), created_at_text(created),
    ]


def customers_response(records: Iterable[JourneyRecord]) -> dict[str, list[Row]]:
    return {"customers": [customer_row(r) for r in records]}


def customers_from_proto(response: customers_pb2.ListJourneysResponse) -> dict[str, list[Row]]:
    return {"customers": [customer_row_from_proto(j) for j in response.journeys]}


def stats_response(total_customers: int) -> dict[str, int]:
    return {"total_customers": int(total_customers)}


def stats_from_proto(response: customers_pb2.GetJourneyStatsResponse) -> dict[str, int]:
    return stats_response(response.stats.total_customers)


async def get_customers(customers: Customers, org: str) -> dict[str, list[Row]]:
    """``GET /api/customers`` in-process."""
    return customers_response(await customers.latest_journeys(org, CUSTOMERS_LIMIT))


async def get_stats(customers: Customers, org: str) -> dict[str, int]:
    """``GET /api/stats`` in-process."""
    return stats_response(await customers.count_journeys(org))


def _service_metadata(org: str) -> Any:
    from footfall.services.core.tokens import default_service_credentials

    return default_service_credentials().metadata(org)


async def fetch_customers(stub: Any, org: str, metadata: Any = None) -> dict[str, list[Row]]:
    """``GET /api/customers`` over gRPC (``stub``: a ``CustomersServiceStub`` on an aio channel; ``metadata``:
    the caller's credential and org, default this process's service credentials for ``org``)."""
    response = await stub.ListJourneys(
        customers_pb2.ListJourneysRequest(page_size=CUSTOMERS_LIMIT), metadata=metadata or _service_metadata(org)
    )
    return customers_from_proto(response)


async def fetch_stats(stub: Any, org: str, metadata: Any = None) -> dict[str, int]:
    """``GET /api/stats`` over gRPC."""
    response = await stub.GetJourneyStats(
        customers_pb2.GetJourneyStatsRequest(), metadata=metadata or _service_metadata(org)
    )
    return stats_from_proto(response)
