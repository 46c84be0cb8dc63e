"""At-most-once application of at-least-once events: a consumer claims event ids inside its transaction."""

from __future__ import annotations

from collections.abc import Sequence

import psycopg

_SEP = "\x1f"  # ASCII unit separator


async def claim_events(conn: psycopg.AsyncConnection, consumer: str, org: str, event_ids: Sequence[str]) -> set[str]:
    """Record `event_ids` as applied by `consumer`; return those that were not applied before.

    Call it in the same transaction that applies the events: if the transaction rolls back, so do the claims.
    """
    if not event_ids:
        return set()
    # The ids travel as one string split by the server: adapting a Python list to a text[] parameter costs
    # a few microseconds per element, which dominated batch ingestion. Ids that are empty or contain the
    # separator (none that make_envelope produces) go as an array, as before.
    joined = _SEP.join(event_ids)
    if joined.count(_SEP) == len(event_ids) - 1 and "" not in event_ids:
        query, ids = "SELECT %s, %s, unnest(string_to_array(%s, E'\\x1f'))", joined
    else:
        query, ids = "SELECT %s, %s, unnest(%s::text[])", list(event_ids)
    cur = await conn.execute(
        f"""INSERT INTO processed_events (consumer, org_id, event_id)
           {query}
           ON CONFLICT DO NOTHING
           RETURNING event_id""",
        (consumer, org, ids),
    )
    return {row["event_id"] if isinstance(row, dict) else row[0] for row in await cur.fetchall()}
