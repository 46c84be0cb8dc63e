"""At-most-once application of at-least-once events: a consumer claims event ids inside its transaction."""

from __future__ import annotations

from collections.abc import Sequence

import psycopg


async def claim_events(conn: psycopg.AsyncConnection, consumer: str, org: str, event_ids: Sequence[str]) -> set[str]:
    """Record `event_ids` as applied by `consumer`; return those that were not applied before.

    Call it in the same transaction that applies the events: if the transaction rolls back, so do the claims.
    """
    if not event_ids:
        return set()
    cur = await conn.execute(
        """INSERT INTO processed_events (consumer, org_id, event_id)
           SELECT %s, %s, unnest(%s::text[])
           ON CONFLICT DO NOTHING
           RETURNING event_id""",
        (consumer, org, list(event_ids)),
    )
    return {row["event_id"] if isinstance(row, dict) else row[0] for row in await cur.fetchall()}
