"""`footfall migrate` as a subprocess: on a fresh database given by URL, and on the embedded one in a data dir."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from footfall.services.core.migrations import MIGRATIONS_DIR, discover

from tests.cli.process import clean_env, data_dir, run
from tests.conftest import empty_database


@pytest.fixture
def fresh_database(pg_server_url: str) -> Iterator[str]:
    with empty_database(pg_server_url, "footfall_cli") as url:
        yield url


def _recorded(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute("SELECT name FROM schema_migrations ORDER BY name")]


def test_migrate_a_fresh_database_then_again(fresh_database: str) -> None:
    first = run(["migrate", "--database-url", fresh_database], clean_env())
    assert first.returncode == 0, first.stderr
    recorded = _recorded(fresh_database)
    plain = [m.key for m in discover(MIGRATIONS_DIR) if not m.timescale_only]
    assert set(plain) <= set(recorded) and recorded[0] == "0001_platform.sql"
    assert first.stdout.strip() == "applied: " + ", ".join(recorded)
    with psycopg.connect(fresh_database) as conn:  # the schema is really there, row-level security included
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        assert {"schema_migrations", "processed_events"} <= tables
        assert conn.execute("SELECT relrowsecurity FROM pg_class WHERE relname = 'processed_events'").fetchone()[0]

    again = run(["migrate"], clean_env(FOOTFALL_DATABASE_URL=fresh_database))  # the URL from the environment
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "applied: nothing (up to date)"
    assert _recorded(fresh_database) == recorded


def test_migrate_the_embedded_database_of_a_data_dir() -> None:
    with data_dir() as path:
        _migrate_the_embedded_database_of(path)


def _migrate_the_embedded_database_of(data_dir: Path) -> None:
    first = run(["migrate", "--data-dir", str(data_dir)], clean_env())
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("applied: 0001_platform.sql, ")
    assert (data_dir / "postgres").is_dir()
    again = run(["migrate"], clean_env(FOOTFALL_DATABASE_URL="", FOOTFALL_DATA_DIR=str(data_dir)))
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "applied: nothing (up to date)"
