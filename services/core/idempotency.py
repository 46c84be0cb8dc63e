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
        # one row back, the fresh ids joined the same way (a row per id costs more to read than to store)
        cur = await conn.execute(
            """WITH claimed AS (
                   INSERT INTO processed_events (consumer, org_id, event_id)
                   SELECT %s, %s, unnest(string_to_array(%s, E'\\x1f'))
                   ON CONFLICT DO NOTHING
                   RETURNING event_id)
               SELECT count(*) AS n, string_agg(event_id, E'\\x1f') AS ids FROM claimed""",
            (consumer, org, joined),
        )
        row = await cur.fetchone()
        n, ids = (row["n"], row["ids"]) if isinstance(row, dict) else (row[0], row[1])  # type: ignore[index]
        return set(ids.split(_SEP)) if n else set()
    cur = await conn.execute(
        """INSERT INTO processed_events (consumer, org_id, event_id)
           SELECT %s, %s, unnest(%s::text[])
           ON CONFLICT DO NOTHING
           RETURNING event_id""",
        (consumer, org, list(event_ids)),
    )
    return {row["event_id"] if isinstance(row, dict) else row[0] for row in await cur.fetchall()}
