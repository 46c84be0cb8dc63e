"""PostgreSQL storage of the customers service: every SQL statement of the service lives here.

Functions take a connection from ``Database.tenant(org)`` (row-level security scopes them to one
organisation) except the ``*_system`` ones, which the outbox and webhook dispatchers run across
organisations inside ``Database.system()``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from footfall.services.customers.conversion import PENDING, POSTransaction
from footfall.services.customers.journeys import IN_PROGRESS, CustomerEntry, CustomerJourney, JourneyComplete, ZoneStay
from footfall.services.customers.models import (
    JourneyFilter,
    JourneyRecord,
    JourneyStats,
    TransactionRecord,
    Webhook,
    WebhookDelivery,
    ZoneStats,
    to_datetime,
    to_unix,
)

Conn = psycopg.AsyncConnection

_JOURNEY_COLUMNS = """j.id, j.customer_id, j.session_id, j.camera_id, j.entry_time, j.exit_time, j.duration,
    j.zones, j.zone_stays, j.path, j.dwell, j.behavior, j.conversion, j.purchase_amount, j.created_at,
    j.updated_at,
    COALESCE((SELECT array_agg(t.transaction_id ORDER BY t.transaction_time, t.transaction_id)
              FROM pos_transactions t WHERE t.journey_id = j.id), '{}') AS transaction_ids"""


def _stays_json(stays: Sequence[ZoneStay]) -> list[list[Any]]:
    return [[s.zone, s.enter_time, s.exit_time] for s in stays]


def _journey_from_row(row: dict[str, Any]) -> JourneyRecord:
    stays = [ZoneStay(z, float(a), None if b is None else float(b)) for z, a, b in row["zone_stays"]]
    journey = CustomerJourney(
        customer_id=row["customer_id"],
        session_id=row["session_id"],
        entry_time=row["entry_time"].timestamp(),
        exit_time=to_unix(row["exit_time"]),
        total_duration=row["duration"],
        zones_visited=list(row["zones"]),
        path_coordinates=[tuple(p) for p in row["path"]],
        dwell_times={k: float(v) for k, v in row["dwell"].items()},
        behavior_pattern=row["behavior"],
        conversion_status=row["conversion"],
    )
    return JourneyRecord(
        id=row["id"], camera_id=row["camera_id"], journey=journey, zone_stays=stays,
        transaction_ids=list(row["transaction_ids"] or []), purchase_amount=float(row["purchase_amount"]),
        created_at=row["created_at"], updated_at=row["updated_at"],
    )


def _filter_sql(f: JourneyFilter) -> tuple[str, list[Any]]:
    where, args = ["TRUE"], []
    if f.start_time is not None:
        where.append("j.entry_time >= %s")
        args.append(to_datetime(f.start_time))
    if f.end_time is not None:
        where.append("j.entry_time < %s")
        args.append(to_datetime(f.end_time))
    if f.camera_id:
        where.append("j.camera_id = %s")
        args.append(f.camera_id)
    if f.customer_id:
        where.append("j.customer_id = %s")
        args.append(f.customer_id)
    if f.status == "active":
        where.append("j.exit_time IS NULL")
    elif f.status == "completed":
        where.append("j.exit_time IS NOT NULL")
    if f.behavior:
        where.append("j.behavior = %s")
        args.append(f.behavior)
    if f.conversion:
        where.append("j.conversion = %s")
        args.append(f.conversion)
    if f.zone:
        where.append("j.zones @> %s")
        args.append(Jsonb([f.zone]))
    return " AND ".join(where), args


# ---- journeys ----------------------------------------------------------------------------------------

def _first(track_keys: Sequence[str]) -> str | None:
    return track_keys[0] if track_keys else None


async def insert_active_journey(conn: Conn, org: str, entry: CustomerEntry) -> int:
    """The row of a newly confirmed visit (idempotent by session id, which online derives from the natural
    key: organisation, camera and first track key); returns its id."""
    cur = await conn.execute(
        """INSERT INTO journeys (org_id, customer_id, session_id, camera_id, track_key, entry_time, behavior,
                                 conversion)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (org_id, session_id) DO UPDATE SET updated_at = journeys.updated_at
           RETURNING id""",
        (org, entry.customer_id, entry.session_id, entry.camera_id, _first(entry.track_keys),
         to_datetime(entry.timestamp), IN_PROGRESS, PENDING),
    )
    row = await cur.fetchone()
    return int(row["id"])


async def complete_journey(conn: Conn, org: str, done: JourneyComplete) -> int | None:
    """Write a finished journey (inserting it if its entry was never stored); returns its id, or None when
    the journey was completed before: the first completion stands (a replay never rewrites a journey)."""
    j = done.journey
    cur = await conn.execute(
        """INSERT INTO journeys (org_id, customer_id, session_id, camera_id, track_key, entry_time, exit_time,
                                 duration, zones, zone_stays, path, dwell, behavior, conversion)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (org_id, session_id) DO UPDATE SET
               entry_time = EXCLUDED.entry_time, exit_time = EXCLUDED.exit_time, duration = EXCLUDED.duration,
               zones = EXCLUDED.zones, zone_stays = EXCLUDED.zone_stays, path = EXCLUDED.path,
               dwell = EXCLUDED.dwell, behavior = EXCLUDED.behavior, conversion = EXCLUDED.conversion,
               updated_at = now()
           WHERE journeys.exit_time IS NULL
           RETURNING id""",
        (
            org, j.customer_id, j.session_id, done.camera_id, _first(done.track_keys),
            to_datetime(j.entry_time), to_datetime(j.exit_time),
            j.total_duration, Jsonb(j.zones_visited), Jsonb(_stays_json(done.zone_stays)),
            Jsonb([list(p) for p in j.path_coordinates]), Jsonb(j.dwell_times), j.behavior_pattern,
            j.conversion_status,
        ),
    )
    row = await cur.fetchone()
    return int(row["id"]) if row else None


async def set_conversion(conn: Conn, journey_id: int, conversion: str) -> None:
    """Set a journey's conversion and recompute its purchase amount from its transactions."""
    await conn.execute(
        """UPDATE journeys SET conversion = %s, updated_at = now(),
               purchase_amount = COALESCE((SELECT sum(amount) FROM pos_transactions WHERE journey_id = %s), 0)
           WHERE id = %s""",
        (conversion, journey_id, journey_id),
    )


async def get_journey(conn: Conn, journey_id: int) -> JourneyRecord | None:
    cur = await conn.execute(f"SELECT {_JOURNEY_COLUMNS} FROM journeys j WHERE j.id = %s", (journey_id,))
    row = await cur.fetchone()
    return _journey_from_row(row) if row else None


async def get_journey_by_session(conn: Conn, session_id: str) -> JourneyRecord | None:
    cur = await conn.execute(f"SELECT {_JOURNEY_COLUMNS} FROM journeys j WHERE j.session_id = %s", (session_id,))
    row = await cur.fetchone()
    return _journey_from_row(row) if row else None


async def list_journeys(
    conn: Conn, f: JourneyFilter, limit: int, after: tuple[datetime, int] | None = None
) -> list[JourneyRecord]:
    """Newest entry first; ``after`` is the (entry_time, id) of the last row of the previous page."""
    where, args = _filter_sql(f)
    if after is not None:
        where += " AND (j.entry_time, j.id) < (%s, %s)"
        args.extend(after)
    cur = await conn.execute(
        f"SELECT {_JOURNEY_COLUMNS} FROM journeys j WHERE {where} ORDER BY j.entry_time DESC, j.id DESC LIMIT %s",
        (*args, limit),
    )
    return [_journey_from_row(r) for r in await cur.fetchall()]


async def journeys_near(
    conn: Conn, start: float, end: float, camera_id: str | None = None
) -> list[JourneyRecord]:
    """Journeys present at some time in [start, end] (active ones count as present until now)."""
    args: list[Any] = [to_datetime(end), to_datetime(start)]
    camera = ""
    if camera_id:
        camera = " AND j.camera_id = %s"
        args.append(camera_id)
    cur = await conn.execute(
        f"""SELECT {_JOURNEY_COLUMNS} FROM journeys j
            WHERE j.entry_time <= %s AND (j.exit_time IS NULL OR j.exit_time >= %s){camera}
            ORDER BY j.entry_time, j.id""",
        args,
    )
    return [_journey_from_row(r) for r in await cur.fetchall()]


async def journey_stats(conn: Conn, f: JourneyFilter) -> JourneyStats:
    where, args = _filter_sql(f)
    cur = await conn.execute(
        f"""SELECT count(*) AS total,
                   count(*) FILTER (WHERE j.exit_time IS NULL) AS active,
                   count(*) FILTER (WHERE j.exit_time IS NOT NULL) AS completed,
                   count(*) FILTER (WHERE j.exit_time IS NOT NULL AND j.conversion LIKE '%%Purchased%%') AS converted,
                   COALESCE(avg(j.duration) FILTER (WHERE j.exit_time IS NOT NULL), 0) AS avg_duration
            FROM journeys j WHERE {where}""",
        args,
    )
    totals = await cur.fetchone()
    cur = await conn.execute(
        f"""SELECT j.behavior, count(*) AS n FROM journeys j
            WHERE {where} AND j.exit_time IS NOT NULL GROUP BY j.behavior ORDER BY j.behavior""",
        args,
    )
    behaviors = {r["behavior"]: int(r["n"]) for r in await cur.fetchall()}
    cur = await conn.execute(
        f"""SELECT d.key AS zone, count(*) AS n, avg(d.value::double precision) AS avg_dwell
            FROM journeys j, jsonb_each_text(j.dwell) d
            WHERE {where} AND j.exit_time IS NOT NULL GROUP BY d.key ORDER BY d.key""",
        args,
    )
    zones = [ZoneStats(r["zone"], int(r["n"]), float(r["avg_dwell"])) for r in await cur.fetchall()]
    t_where, t_args = ["TRUE"], []
    if f.start_time is not None:
        t_where.append("transaction_time >= %s")
        t_args.append(to_datetime(f.start_time))
    if f.end_time is not None:
        t_where.append("transaction_time < %s")
        t_args.append(to_datetime(f.end_time))
    if f.camera_id:
        t_where.append("(camera_id = %s OR journey_id IN (SELECT id FROM journeys WHERE camera_id = %s))")
        t_args.extend([f.camera_id, f.camera_id])
    cur = await conn.execute(
        f"""SELECT count(*) AS n, count(*) FILTER (WHERE journey_id IS NULL) AS unmatched,
                   COALESCE(sum(amount), 0) AS revenue
            FROM pos_transactions WHERE {' AND '.join(t_where)}""",
        t_args,
    )
    txns = await cur.fetchone()
    return JourneyStats(
        total_customers=int(totals["total"]), active_customers=int(totals["active"]),
        completed_journeys=int(totals["completed"]), converted_journeys=int(totals["converted"]),
        average_duration_s=float(totals["avg_duration"]), behavior_counts=behaviors, zones=zones,
        transactions=int(txns["n"]), unmatched_transactions=int(txns["unmatched"]), revenue=float(txns["revenue"]),
    )


async def count_journeys(conn: Conn) -> int:
    cur = await conn.execute("SELECT count(*) AS n FROM journeys")
    return int((await cur.fetchone())["n"])


async def unlink_persons(conn: Conn, person_ids: Sequence[str]) -> int:
    """Erased persons leave carts and journeys: a cart naming a customer keeps only the customer; a cart that
    named only the person, and the journeys recorded under the person's id, get one random anonymous id per
    person. Returns the rows changed (0 when applied before)."""
    if not person_ids:
        return 0
    cur = await conn.execute(
        """WITH erased AS MATERIALIZED (
               SELECT p AS person_id, 'erased-' || replace(gen_random_uuid()::text, '-', '') AS anon
               FROM unnest(%s::text[]) AS p),
           carts_done AS (
               UPDATE carts c
                  SET person_id = CASE WHEN c.customer_id IS NULL THEN e.anon END, updated_at = now()
               FROM erased e WHERE c.person_id = e.person_id RETURNING c.id),
           journeys_done AS (
               UPDATE journeys j SET customer_id = e.anon, updated_at = now()
               FROM erased e WHERE j.customer_id = e.person_id RETURNING j.id)
           SELECT (SELECT count(*) FROM carts_done) + (SELECT count(*) FROM journeys_done) AS n""",
        (list(dict.fromkeys(person_ids)),),
    )
    row = await cur.fetchone()
    return int(row["n"]) if row else 0


# ---- transactions ------------------------------------------------------------------------------------

def _txn_from_row(row: dict[str, Any]) -> TransactionRecord:
    return TransactionRecord(
        transaction_id=row["transaction_id"], time=row["transaction_time"].timestamp(), amount=float(row["amount"]),
        currency=row["currency"], till_id=row["till_id"], zone=row["zone"], camera_id=row["camera_id"],
        items=list(row["items"]), journey_id=row["journey_id"], created_at=row["created_at"],
    )


def txn_domain(rec: TransactionRecord) -> POSTransaction:
    return POSTransaction(
        rec.transaction_id, rec.time, rec.amount, rec.zone or None, rec.till_id or None, rec.camera_id or None,
        tuple(rec.items), rec.currency,
    )


async def insert_transaction(conn: Conn, org: str, txn: POSTransaction) -> bool:
    """Store ``txn``; False when the organisation already has a transaction with its id."""
    cur = await conn.execute(
        """INSERT INTO pos_transactions (org_id, transaction_id, transaction_time, amount, currency, till_id, zone,
                                         camera_id, items)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (org_id, transaction_id) DO NOTHING RETURNING transaction_id""",
        (
            org, txn.transaction_id, to_datetime(txn.time), txn.amount, txn.currency, txn.till_id or "",
            txn.zone or "", txn.camera_id or "", Jsonb(list(txn.items)),
        ),
    )
    return await cur.fetchone() is not None


async def get_transaction(conn: Conn, transaction_id: str) -> TransactionRecord | None:
    cur = await conn.execute("SELECT * FROM pos_transactions WHERE transaction_id = %s", (transaction_id,))
    row = await cur.fetchone()
    return _txn_from_row(row) if row else None


async def unmatched_transactions(conn: Conn, start: float, end: float) -> list[TransactionRecord]:
    cur = await conn.execute(
        """SELECT * FROM pos_transactions
           WHERE journey_id IS NULL AND transaction_time BETWEEN %s AND %s
           ORDER BY transaction_time, transaction_id FOR UPDATE""",
        (to_datetime(start), to_datetime(end)),
    )
    return [_txn_from_row(r) for r in await cur.fetchall()]


async def assign_transaction(conn: Conn, transaction_id: str, journey_id: int) -> None:
    await conn.execute(
        "UPDATE pos_transactions SET journey_id = %s WHERE transaction_id = %s", (journey_id, transaction_id)
    )


# ---- journey builder state ---------------------------------------------------------------------------

async def lock_builder_state(conn: Conn, org: str, camera_id: str) -> dict[str, Any] | None:
    """The camera's builder state, locked for this transaction (None for a camera never seen)."""
    await conn.execute(
        """INSERT INTO journey_builder_state (org_id, camera_id, state, idle) VALUES (%s, %s, '{}', true)
           ON CONFLICT DO NOTHING""",
        (org, camera_id),
    )
    cur = await conn.execute(
        "SELECT state FROM journey_builder_state WHERE camera_id = %s FOR UPDATE", (camera_id,)
    )
    row = await cur.fetchone()
    if row is None or not row["state"]:
        return None
    return dict(row["state"])


async def save_builder_state(
    conn: Conn, camera_id: str, state: dict[str, Any], stream_time: float | None, idle: bool
) -> None:
    await conn.execute(
        """UPDATE journey_builder_state SET state = %s, stream_time = %s, idle = %s, updated_at = now()
           WHERE camera_id = %s""",
        (Jsonb(state), stream_time, idle, camera_id),
    )


async def stale_builders_system(conn: Conn, quiet_s: float) -> list[dict[str, Any]]:
    """(org_id, camera_id) of cameras with visits in progress and no event for ``quiet_s`` seconds."""
    cur = await conn.execute(
        """SELECT org_id, camera_id FROM journey_builder_state
           WHERE NOT idle AND updated_at < now() - make_interval(secs => %s)
           ORDER BY updated_at LIMIT 100""",
        (quiet_s,),
    )
    return list(await cur.fetchall())


async def builder_quiet_seconds(conn: Conn, camera_id: str) -> float:
    cur = await conn.execute(
        "SELECT extract(epoch FROM now() - updated_at) AS s FROM journey_builder_state WHERE camera_id = %s",
        (camera_id,),
    )
    row = await cur.fetchone()
    return float(row["s"]) if row else 0.0


# ---- outbox ------------------------------------------------------------------------------------------

async def add_event(
    conn: Conn, org: str, event_id: str, event: str, body: dict[str, Any], payload: bytes, occurred_at: float
) -> bool:
    cur = await conn.execute(
        """INSERT INTO customer_events (org_id, event_id, event, body, payload, occurred_at)
           VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING event_id""",
        (org, event_id, event, Jsonb(body), payload, to_datetime(occurred_at)),
    )
    return await cur.fetchone() is not None


async def unpublished_events_system(conn: Conn, limit: int) -> list[dict[str, Any]]:
    cur = await conn.execute(
        """SELECT org_id, event_id, event, body, payload, occurred_at FROM customer_events
           WHERE published_at IS NULL ORDER BY created_at, event_id LIMIT %s FOR UPDATE SKIP LOCKED""",
        (limit,),
    )
    return list(await cur.fetchall())


async def fan_out_system(conn: Conn, org: str, event_id: str, event: str, body: dict[str, Any]) -> int:
    """Queue one delivery per active webhook of ``org`` subscribed to ``event``; mark the event published."""
    cur = await conn.execute(
        """INSERT INTO webhook_deliveries (org_id, webhook_id, event, event_id, body)
           SELECT w.org_id, w.id, %s, %s, %s FROM webhooks w
           WHERE w.org_id = %s AND w.is_active AND %s = ANY (w.events)
           ON CONFLICT (webhook_id, event_id) DO NOTHING""",
        (event, event_id, Jsonb(body), org, event),
    )
    queued = cur.rowcount
    await conn.execute(
        "UPDATE customer_events SET published_at = now() WHERE org_id = %s AND event_id = %s", (org, event_id)
    )
    return queued


async def org_name(conn: Conn, org: str) -> str:
    """The organisation's display name (the accounts service's `orgs` row), else its id."""
    cur = await conn.execute("SELECT name FROM orgs WHERE id = %s", (org,))
    row = await cur.fetchone()
    return str(row["name"]) if row and row["name"] else org


# ---- webhooks ----------------------------------------------------------------------------------------

def _webhook_from_row(row: dict[str, Any]) -> Webhook:
    return Webhook(row["id"], row["url"], list(row["events"]), row["is_active"], row["created_at"], row["secret"])


async def create_webhook(conn: Conn, org: str, url: str, events: Sequence[str], secret: str) -> Webhook:
    cur = await conn.execute(
        "INSERT INTO webhooks (org_id, url, events, secret) VALUES (%s, %s, %s, %s) RETURNING *",
        (org, url, list(events), secret),
    )
    return _webhook_from_row(await cur.fetchone())


async def list_webhooks(conn: Conn, limit: int, after_id: int = 0) -> list[Webhook]:
    cur = await conn.execute("SELECT * FROM webhooks WHERE id > %s ORDER BY id LIMIT %s", (after_id, limit))
    return [_webhook_from_row(r) for r in await cur.fetchall()]


async def get_webhook(conn: Conn, webhook_id: int) -> Webhook | None:
    cur = await conn.execute("SELECT * FROM webhooks WHERE id = %s", (webhook_id,))
    row = await cur.fetchone()
    return _webhook_from_row(row) if row else None


async def delete_webhook(conn: Conn, webhook_id: int) -> bool:
    cur = await conn.execute("DELETE FROM webhooks WHERE id = %s RETURNING id", (webhook_id,))
    return await cur.fetchone() is not None


def _delivery_from_row(row: dict[str, Any]) -> WebhookDelivery:
    return WebhookDelivery(
        id=row["id"], webhook_id=row["webhook_id"], event=row["event"], event_id=row["event_id"], body=row["body"],
        status=row["status"], attempts=row["attempts"], last_status_code=row["last_status_code"],
        last_error=row["last_error"], next_attempt_at=row["next_attempt_at"] if row["status"] == "pending" else None,
        delivered_at=row["delivered_at"], created_at=row["created_at"],
    )


async def list_deliveries(conn: Conn, webhook_id: int, limit: int, before_id: int | None = None) -> list[WebhookDelivery]:
    cur = await conn.execute(
        """SELECT * FROM webhook_deliveries WHERE webhook_id = %s AND (%s::bigint IS NULL OR id < %s)
           ORDER BY id DESC LIMIT %s""",
        (webhook_id, before_id, before_id, limit),
    )
    return [_delivery_from_row(r) for r in await cur.fetchall()]


async def lease_due_deliveries_system(conn: Conn, limit: int, lease_s: float) -> list[dict[str, Any]]:
    """Take up to ``limit`` due deliveries (with their webhook's url and secret) for ``lease_s`` seconds."""
    cur = await conn.execute(
        """WITH due AS (
               SELECT d.id FROM webhook_deliveries d
               WHERE d.status = 'pending' AND d.next_attempt_at <= now()
               ORDER BY d.next_attempt_at, d.id LIMIT %s FOR UPDATE SKIP LOCKED)
           UPDATE webhook_deliveries d SET next_attempt_at = now() + make_interval(secs => %s)
           FROM due, webhooks w
           WHERE d.id = due.id AND w.id = d.webhook_id
           RETURNING d.id, d.org_id, d.webhook_id, d.event, d.event_id, d.body, d.attempts, w.url, w.secret""",
        (limit, lease_s),
    )
    return list(await cur.fetchall())


async def record_attempt_system(
    conn: Conn, delivery_id: int, *, delivered: bool, status_code: int, error: str, retry_in_s: float | None
) -> None:
    """Record one attempt: delivered, retried after ``retry_in_s`` seconds, or failed (``retry_in_s`` None)."""
    status = "delivered" if delivered else ("pending" if retry_in_s is not None else "failed")
    await conn.execute(
        """UPDATE webhook_deliveries SET attempts = attempts + 1, status = %s, last_status_code = %s,
               last_error = %s,
               next_attempt_at = CASE WHEN %s = 'pending' THEN now() + make_interval(secs => %s)
                                      ELSE next_attempt_at END,
               delivered_at = CASE WHEN %s = 'delivered' THEN now() ELSE delivered_at END
           WHERE id = %s""",
        (status, status_code, error[:2000], status, retry_in_s or 0.0, status, delivery_id),
    )

