"""`claim_events`, the dedup under every consumer, on real PostgreSQL: each id applied once per consumer and org,
through both of its paths (ids joined into one string, or an array when an id cannot be joined), with dict and
tuple rows. Written from the survivors of mutation testing (tests/tools/mutation.py claim)."""

from __future__ import annotations

import psycopg
import pytest

from footfall.services.core.db import Database
from footfall.services.core.idempotency import claim_events
from tests.conftest import unique_org

SEP = "\x1f"  # what the joined path splits on


async def _claim(database: Database, org: str, ids: list[str], consumer: str = "test") -> set[str]:
    async with database.tenant(org) as conn:
        return await claim_events(conn, consumer, org, ids)


async def test_each_id_is_fresh_once_per_consumer(database: Database) -> None:
    org = unique_org()
    assert await _claim(database, org, []) == set()
    assert await _claim(database, org, ["a"]) == {"a"}
    assert await _claim(database, org, ["a", "b", "b", "c"]) == {"b", "c"}  # duplicates in one batch: once
    assert await _claim(database, org, ["c", "b", "a"]) == set()  # nothing fresh: an empty set, not {""}
    assert await _claim(database, org, ["a", "b"], consumer="other") == {"a", "b"}


@pytest.mark.parametrize("odd", [f"x{SEP}y", f"x{SEP}{SEP}y", "", SEP])
async def test_ids_that_cannot_be_joined_go_as_an_array(database: Database, odd: str) -> None:
    org = unique_org()
    assert await _claim(database, org, ["plain", odd]) == {"plain", odd}
    assert await _claim(database, org, [odd, "more"]) == {"more"}
    assert await _claim(database, org, [odd]) == set()
    assert await _claim(database, unique_org(), [odd]) == {odd}  # alone, and fresh


async def test_a_rolled_back_transaction_rolls_its_claims_back(database: Database) -> None:
    org = unique_org()
    with pytest.raises(RuntimeError):
        async with database.tenant(org) as conn:
            assert await claim_events(conn, "test", org, ["r1", "r2"]) == {"r1", "r2"}
            raise RuntimeError("the batch failed to apply")
    assert await _claim(database, org, ["r1", "r2"]) == {"r1", "r2"}


async def test_tuple_rows_work_as_well_as_dict_rows(database_url: str) -> None:
    org = unique_org()
    async with await psycopg.AsyncConnection.connect(database_url) as conn:  # default row factory: tuples
        await conn.execute("SELECT set_config('footfall.org_id', %s, false)", (org,))
        assert await claim_events(conn, "test", org, ["t1", "t2"]) == {"t1", "t2"}
        assert await claim_events(conn, "test", org, ["t2", "t3"]) == {"t3"}
        assert await claim_events(conn, "test", org, ["t1"]) == set()
        assert await claim_events(conn, "test", org, [f"t{SEP}4", "t5"]) == {f"t{SEP}4", "t5"}
        assert await claim_events(conn, "test", org, [f"t{SEP}4"]) == set()
