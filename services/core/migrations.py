"""Numbered SQL migrations from `migrations/`, applied in order, recorded, safe to re-run.

`NNNN_name.sql` runs everywhere. `NNNN_name.timescale.sql`, when present, runs right after it only if the
`timescaledb` extension can be created (hypertables for the event logs, database settings); the rollups are
the same exact tables on both paths, so both answer the same queries the same way.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import psycopg

log = logging.getLogger(__name__)

# The SQL ships inside the package (`footfall.migrations`), so an installed wheel finds it too.
MIGRATIONS_DIR = Path(str(resources.files("footfall.migrations")))
_NAME_RE = re.compile(r"^(\d{4})_([a-z0-9_]+)(\.timescale)?\.sql$")
_LOCK_KEY = 0x466F6F74  # "Foot": one migrator at a time


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path
    timescale_only: bool

    @property
    def key(self) -> str:
        return self.path.name

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


class NoMigrations(RuntimeError):
    """The migrations folder holds no SQL: a broken install, never a database to leave empty."""


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = _NAME_RE.match(path.name)
        if not match:
            raise ValueError(f"migration file {path.name} is not named NNNN_name[.timescale].sql")
        found.append(Migration(int(match[1]), match[2], path, bool(match[3])))
    if not found:
        raise NoMigrations(f"no migrations found in {directory}: the package was installed without its SQL files")
    return sorted(found, key=lambda m: (m.version, m.timescale_only))


def _enable_timescale(conn: psycopg.Connection) -> bool:
    available = conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'").fetchone()
    if not available:
        return False
    try:
        conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        return True
    except psycopg.Error as err:  # e.g. not in shared_preload_libraries
        log.warning("timescaledb is available but could not be enabled (%s); using plain PostgreSQL", err)
        return False


def apply_migrations(url: str, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply every pending migration; return the names applied now."""
    applied_now: list[str] = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            conn.execute(
                """CREATE TABLE IF NOT EXISTS schema_migrations (
                       name text PRIMARY KEY,
                       version integer NOT NULL,
                       checksum text NOT NULL,
                       applied_at timestamptz NOT NULL DEFAULT now())"""
            )
            done = {row[0]: row[1] for row in conn.execute("SELECT name, checksum FROM schema_migrations")}
            timescale = _enable_timescale(conn)
            log.info("storage path: %s", "TimescaleDB" if timescale else "plain PostgreSQL")
            for migration in discover(directory):
                if migration.timescale_only and not timescale:
                    continue
                if migration.key in done:
                    if done[migration.key] != migration.checksum:
                        log.warning("migration %s changed after it was applied; not re-running it", migration.key)
                    continue
                log.info("applying migration %s", migration.key)
                sql = migration.path.read_text()
                if migration.timescale_only:  # one implicit transaction (some TimescaleDB calls refuse an explicit one)
                    conn.execute(sql)
                    conn.execute(
                        "INSERT INTO schema_migrations (name, version, checksum) VALUES (%s, %s, %s)",
                        (migration.key, migration.version, migration.checksum),
                    )
                else:
                    with conn.transaction():
                        conn.execute(sql)
                        conn.execute(
                            "INSERT INTO schema_migrations (name, version, checksum) VALUES (%s, %s, %s)",
                            (migration.key, migration.version, migration.checksum),
                        )
                applied_now.append(migration.key)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
    return applied_now
