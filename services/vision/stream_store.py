"""Camera streams as configuration: their definitions and actual state in PostgreSQL (``vision_streams``).

A stream someone started is a row until StopStream deletes it, so a restarted or replaced vision worker
starts it again. The row also carries the actual state the owning worker last wrote (connected,
reconnecting, failed with its reason, or ``unowned`` while no worker runs it) and which worker that is.
Definitions are plain JSON here; :mod:`footfall.services.vision.cluster` turns them into requests.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from footfall.services.core.db import Database

UNOWNED = "unowned"

_COLS = ("org_id, camera_key, source_kind, source_target, trusted, lines, zones, options, session_id, generation, "
         "state, state_detail, owner, created_at, updated_at")


@dataclass(frozen=True)
class StoredStream:
    """One stream definition and its last known state."""

    org: str
    camera_id: str
    kind: str
    target: str
    session_id: str
    trusted: bool = False
    lines: list[dict[str, Any]] = field(default_factory=list)
    zones: list[dict[str, Any]] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    generation: int = 0
    state: str = UNOWNED
    detail: str = ""
    owner: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def run_id(self) -> str:
        """The session id of this generation's run: event and track ids of different runs never collide."""
        return f"{self.session_id}-{self.generation}" if self.generation else self.session_id


def _row(row: dict[str, Any]) -> StoredStream:
    def js(value: Any) -> Any:
        return json.loads(value) if isinstance(value, (str, bytes)) else value

    return StoredStream(
        org=row["org_id"], camera_id=row["camera_key"], kind=row["source_kind"], target=row["source_target"],
        trusted=row["trusted"], lines=js(row["lines"]) or [], zones=js(row["zones"]) or [],
        options=js(row["options"]) or {}, session_id=row["session_id"], generation=row["generation"],
        state=row["state"], detail=row["state_detail"], owner=row["owner"], created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class StreamStore:
    """Reads and writes the ``vision_streams`` of one event namespace (the NATS subject prefix the streams
    publish under); every call is one short transaction."""

    def __init__(self, db: Database, namespace: str = "footfall") -> None:
        self.db = db
        self.namespace = namespace

    async def save(self, stream: StoredStream) -> StoredStream:
        """Insert or replace a definition (a new StartStream for a camera replaces the old one)."""
        async with self.db.tenant(stream.org) as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(
                f"""INSERT INTO vision_streams (org_id, namespace, camera_key, source_kind, source_target, trusted,
                                               lines, zones, options, session_id, generation, state, state_detail,
                                               owner)
                    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
                    ON CONFLICT (org_id, namespace, camera_key) DO UPDATE SET
                        source_kind = EXCLUDED.source_kind, source_target = EXCLUDED.source_target,
                        trusted = EXCLUDED.trusted, lines = EXCLUDED.lines, zones = EXCLUDED.zones,
                        options = EXCLUDED.options, session_id = EXCLUDED.session_id,
                        generation = EXCLUDED.generation, state = EXCLUDED.state,
                        state_detail = EXCLUDED.state_detail, owner = EXCLUDED.owner, updated_at = now()
                    RETURNING {_COLS}""",
                (stream.org, self.namespace, stream.camera_id, stream.kind, stream.target, stream.trusted, Jsonb(stream.lines),
                 Jsonb(stream.zones), Jsonb(stream.options), stream.session_id, stream.generation, stream.state,
                 stream.detail, stream.owner),
            )
            row = await cur.fetchone()
        assert row is not None
        return _row(row)

    async def get(self, org: str, camera_id: str) -> StoredStream | None:
        async with self.db.tenant(org) as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(f"SELECT {_COLS} FROM vision_streams WHERE namespace = %s AND camera_key = %s",
                              (self.namespace, camera_id))
            row = await cur.fetchone()
        return _row(row) if row is not None else None

    async def list_org(self, org: str, *, after: str = "", limit: int = 100) -> list[StoredStream]:
        async with self.db.tenant(org) as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(
                f"""SELECT {_COLS} FROM vision_streams WHERE namespace = %s AND camera_key > %s
                    ORDER BY camera_key LIMIT %s""",
                (self.namespace, after, limit),
            )
            return [_row(r) for r in await cur.fetchall()]

    async def list_all(self) -> list[StoredStream]:
        """Every organisation's streams (what the workers share out)."""
        async with self.db.system() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(f"SELECT {_COLS} FROM vision_streams WHERE namespace = %s ORDER BY org_id, camera_key",
                              (self.namespace,))
            return [_row(r) for r in await cur.fetchall()]

    async def delete(self, org: str, camera_id: str) -> bool:
        async with self.db.tenant(org) as conn:
            cur = await conn.execute("DELETE FROM vision_streams WHERE namespace = %s AND camera_key = %s",
                                     (self.namespace, camera_id))
            return cur.rowcount > 0

    async def claim_run(self, org: str, camera_id: str, owner: str, session_id: str) -> StoredStream | None:
        """A worker took the camera: the next generation's run, owned by ``owner`` (None: the row is gone,
        or now names another session, i.e. was replaced meanwhile)."""
        async with self.db.tenant(org) as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(
                f"""UPDATE vision_streams SET generation = generation + 1, owner = %s, state = 'connecting',
                           state_detail = '', updated_at = now()
                    WHERE namespace = %s AND camera_key = %s AND session_id = %s RETURNING {_COLS}""",
                (owner, self.namespace, camera_id, session_id),
            )
            row = await cur.fetchone()
        return _row(row) if row is not None else None

    async def set_state(self, org: str, camera_id: str, session_id: str, state: str, detail: str,
                        owner: str) -> None:
        """The owner's actual state of the camera (ignored when the row names another session now)."""
        async with self.db.tenant(org) as conn:
            await conn.execute(
                """UPDATE vision_streams SET state = %s, state_detail = %s, owner = %s, updated_at = now()
                   WHERE namespace = %s AND camera_key = %s AND session_id = %s""",
                (state, detail[:500], owner, self.namespace, camera_id, session_id),
            )
