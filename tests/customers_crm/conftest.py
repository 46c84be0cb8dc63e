"""The customer record and seed 004's analytics against the real stack (tests/customers_stack.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from footfall.services.core.db import Database
from footfall.services.core.principal import Role

from tests.conftest import unique_org
from tests.customers_stack import PASSWORD, Account, CustomersWorld, customers_world, new_user

Crm = CustomersWorld
__all__ = ["Account", "Crm", "org_admin_of_new_org"]


@pytest.fixture(scope="session")
async def crm(tmp_path_factory: pytest.TempPathFactory, database_url: str, database: Database) -> AsyncIterator[Crm]:
    async for world in customers_world(tmp_path_factory, database_url, database, "crm", Crm):
        yield world


@pytest.fixture
async def http(crm: Crm) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=crm.base_url, timeout=30) as client:
        yield client


async def org_admin_of_new_org(crm: Crm, tag: str) -> tuple[str, dict[str, str]]:
    """A fresh organisation (nothing else writes there) and its org admin's bearer header."""
    org = unique_org(tag)
    await crm.accounts.ensure_org(org)
    account = await new_user(crm.accounts, org, Role.ORG_ADMIN, tag)
    async with httpx.AsyncClient(base_url=crm.base_url, timeout=30) as client:
        r = await client.post("/admin/login", json={"username": account.username, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return org, {"Authorization": f"Bearer {r.json()['access_token']}"}
