"""Seed 003's commerce against the real stack (tests/customers_stack.py).

Visits are journeys; until identity links journeys to persons, `add_visit` writes a person's journey row the
way identity will (its `customer_id` is the person id).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import httpx
import pytest
from footfall.services.core.db import Database

from tests.customers_stack import Account, CustomersWorld, customers_world

__all__ = ["Account", "Shop"]


class Shop(CustomersWorld):
    async def add_visit(self, org: str, person_id: str, entry: datetime, minutes: float = 20.0) -> None:
        """A completed journey of `person_id` (as identity will link them), entering at `entry`."""
        exit_time = entry + timedelta(minutes=minutes)
        async with self.db.tenant(org) as conn:
            await conn.execute(
                """INSERT INTO journeys (org_id, customer_id, session_id, camera_id, entry_time, exit_time, duration,
                                         behavior, conversion)
                   VALUES (%s, %s, %s, 'TABLES', %s, %s, %s, 'diner', 'No Purchase')""",
                (org, person_id, f"visit-{uuid.uuid4().hex}", entry, exit_time, minutes * 60),
            )


@pytest.fixture(scope="session")
async def shop(tmp_path_factory: pytest.TempPathFactory, database_url: str, database: Database) -> AsyncIterator[Shop]:
    async for world in customers_world(tmp_path_factory, database_url, database, "shop", Shop, with_identity=True):
        yield world


@pytest.fixture
async def http(shop: Shop) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=shop.base_url, timeout=30) as client:
        yield client
