"""The customer record (CRM): customers, their interactions and segments, and seed 004's analytics.

Layers like the rest of the service: ``domain`` (plain), ``store`` / ``analytics_store`` (SQL), ``service``
and ``analytics`` (behaviour, one tenant transaction per call), ``convert`` and ``servicer`` (gRPC, mixed
into :class:`footfall.services.customers.servicer.CustomersServicer`).
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from footfall.services.customers.records.analytics import CustomerAnalyticsService
    from footfall.services.customers.records.service import CustomerRecords

__all__ = ["CustomerAnalyticsService", "CustomerRecords"]


def __getattr__(name: str) -> Any:
    """Imported on first use, so that `records.domain` (plain rules) loads no SQL store and no psycopg."""
    if name == "CustomerAnalyticsService":
        from footfall.services.customers.records.analytics import CustomerAnalyticsService

        return CustomerAnalyticsService
    if name == "CustomerRecords":
        from footfall.services.customers.records.service import CustomerRecords

        return CustomerRecords
    raise AttributeError(name)
