"""`SharedVerification` (services/core/verification.py): concurrent checks of one credential cost one lookup, against
the real accounts service, PostgreSQL and the platform's `Authenticator` with its cache off."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from footfall.services.core.verification import SharedVerification
from footfall.services.accounts.authenticator import Authenticator
from footfall.services.accounts.runtime import start_accounts
from footfall.services.core.config import Settings
from footfall.services.core.db import Database
from footfall.services.core.errors import Unauthenticated
from footfall.services.core.principal import Principal, Role

from tests.conftest import AuthKit, unique_org

PASSWORD = "correct horse battery staple"


class CountingVerifier:
    """The real verifier, with the checks that reach it counted."""

    def __init__(self, verifier: Authenticator) -> None:
        self.verifier = verifier
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.verifier, name)

    async def authenticate(self, credential: str) -> Principal:
        self.calls += 1
        return await self.verifier.authenticate(credential)


async def test_concurrent_checks_share_one_lookup_and_revocation_still_holds(database: Database, auth: AuthKit) -> None:
    runtime = await start_accounts(Settings(jwt_secret=auth.secret, default_org=unique_org("dflt")), database, None, None)
    org, name = unique_org("shared"), f"u{uuid.uuid4().hex[:10]}"
    await runtime.accounts.create_user(None, org, username=name, email=f"{name}@example.com", full_name="Shared",
                                       password=PASSWORD, role=Role.ANALYST)
    token = (await runtime.accounts.login(name, PASSWORD)).token
    counting = CountingVerifier(Authenticator(database, auth.signer, cache_s=0))  # every check asks the database
    shared = SharedVerification(counting)

    principals = await asyncio.gather(*(shared.authenticate(token) for _ in range(20)))
    assert {(p.subject, p.org) for p in principals} == {(name, org)}
    assert counting.calls == 1

    await runtime.accounts.logout(token)
    refused = await asyncio.gather(*(shared.authenticate(token) for _ in range(20)), return_exceptions=True)
    assert all(isinstance(r, Unauthenticated) for r in refused), refused
    assert counting.calls == 2
    with pytest.raises(Unauthenticated):  # nothing is cached here: the next check asks again
        await shared.authenticate(token)
    assert counting.calls == 3
    assert shared.forget == counting.verifier.forget  # logout's `forget` reaches the verifier


async def test_a_check_given_up_by_its_request_is_redone_once_for_the_others(
    database_url: str, database: Database, auth: AuthKit
) -> None:
    runtime = await start_accounts(Settings(jwt_secret=auth.secret, default_org=unique_org("dflt")), database, None, None)
    org, name = unique_org("shared"), f"u{uuid.uuid4().hex[:10]}"
    await runtime.accounts.create_user(None, org, username=name, email=f"{name}@example.com", full_name="Shared",
                                       password=PASSWORD, role=Role.ANALYST)
    token = (await runtime.accounts.login(name, PASSWORD)).token
    one_connection = Database(database_url, max_size=1)
    await one_connection.open()
    try:
        counting = CountingVerifier(Authenticator(one_connection, auth.signer, cache_s=0))
        shared = SharedVerification(counting)
        async with one_connection.system():  # its only connection is taken: a check waits for it
            first = asyncio.ensure_future(shared.authenticate(token))
            deadline = asyncio.get_running_loop().time() + 10
            while counting.calls == 0:
                assert asyncio.get_running_loop().time() < deadline
                await asyncio.sleep(0)
            others = [asyncio.ensure_future(shared.authenticate(token)) for _ in range(5)]
            await asyncio.sleep(0)  # they start, and join the waiting check
            first.cancel()  # its client went away
            await asyncio.wait([first])
        principals = await asyncio.gather(*others)
    finally:
        await one_connection.close()
    assert {p.subject for p in principals} == {name}
    assert first.cancelled()
    assert counting.calls == 2  # the given-up check, and one more for the five that had joined it
