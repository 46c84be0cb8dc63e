"""Commerce (seed 003): products, carts at tables and their products, checkout into POS transactions, a person's
orders, detail and summary, and visit counts.

Layers like the rest of the service: ``domain`` (plain), ``store`` (SQL), ``service`` (behaviour, one tenant
transaction per call), ``summary`` (the summary's words: generator or an OpenAI-compatible model), ``convert``
and ``servicer`` (gRPC, mixed into :class:`footfall.services.customers.servicer.CustomersServicer`).
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from footfall.services.customers.commerce.service import Commerce

__all__ = ["Commerce"]


def __getattr__(name: str) -> Any:
    """Imported on first use, so that `commerce.domain` (plain rules) loads no SQL store and no psycopg."""
    if name == "Commerce":
        from footfall.services.customers.commerce.service import Commerce

        return Commerce
    raise AttributeError(name)
