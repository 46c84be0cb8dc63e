"""PostgreSQL access: one async pool, and transactions scoped to one organisation.

Row-level security keeps tenants apart even if a query forgets its `WHERE org_id = ...`: inside
`Database.tenant(org)` the transaction runs as the `footfall_app` role with `footfall.org_id` set, and
every tenant table has a policy `org_id = current_setting('footfall.org_id')`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from footfall.services.core.errors import Unavailable
from footfall.services.core.tenancy import validate_org

log = logging.getLogger(__name__)

APP_ROLE = "footfall_app"


class Database:
    """An async connection pool with tenant-scoped transactions."""

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 10) -> None:
        self.url = url
        self._pool = AsyncConnectionPool(
            url,
            min_size=min_size,
            max_size=max_size,
            open=False,
            kwargs={"autocommit": False, "row_factory": dict_row},
            name="footfall",
        )

    async def open(self, timeout: float = 30.0) -> None:
        await self._pool.open(wait=True, timeout=timeout)

    async def close(self) -> None:
        await self._pool.close()

    @asynccontextmanager
    async def tenant(self, org: str) -> AsyncIterator[psycopg.AsyncConnection]:
        """A transaction that can see and write only `org`'s rows."""
        validate_org(org)
        async with self._connection() as conn:
            async with conn.transaction():
                await conn.execute(
                    "SELECT set_config('role', %s, true), set_config('footfall.org_id', %s, true)",
                    (APP_ROLE, org),
                )
                yield conn

    @asynccontextmanager
    async def system(self) -> AsyncIterator[psycopg.AsyncConnection]:
        """A transaction across organisations, for platform jobs (listing tenants, schedulers). Use sparingly."""
        async with self._connection() as conn:
            async with conn.transaction():
                yield conn

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[psycopg.AsyncConnection]:
        try:
            async with self._pool.connection() as conn:
                yield conn
        except psycopg.OperationalError as err:
            raise Unavailable(f"database unavailable: {err}") from err
