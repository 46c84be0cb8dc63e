"""All of the promotions service's SQL. Every function runs inside the caller's tenant transaction
(`Database.tenant(org)`), so row-level security scopes each query to one organisation.

`product_history` is the one read of another service's tables: the customers service's point-of-sale
transactions (`pos_transactions.items`) and the journeys they converted (`journeys.customer_id`, the
customer record's id once identity has recognised the visitor). It reads, never writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg
from footfall.services.core.errors import InvalidArgument
from footfall.services.promotions.domain import (
    Action,
    Display,
    NewPromotion,
    ProductHistory,
    Promotion,
    StoreZone,
)
from psycopg.errors import ForeignKeyViolation

Row = dict[str, Any]
_PROMOTION_COLUMNS = ("id, title, description, discount, valid_from, valid_until, target_loyalty_status, zone, "
                      "created_at")
_ACTION_COLUMNS = ("event_id, identification_event_id, customer_id, loyalty_status, store_zone, camera_id, "
                   "confidence, recommended_products, identified_at, personal_until")


def _promotion(row: Row) -> Promotion:
    return Promotion(**row)


def _action(row: Row) -> Action:
    return Action(**{**row, "recommended_products": tuple(row["recommended_products"])})


# ------------------------------------------------------------------------------------------ promotions


async def insert_promotion(conn: psycopg.AsyncConnection, org: str, new: NewPromotion) -> Promotion:
    cur = await conn.execute(
        f"""INSERT INTO promotions (org_id, title, description, discount, valid_from, valid_until,
                                    target_loyalty_status, zone)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING {_PROMOTION_COLUMNS}""",
        (org, new.title, new.description, new.discount, new.valid_from, new.valid_until,
         new.target_loyalty_status, new.zone),
    )
    return _promotion(await cur.fetchone())  # type: ignore[arg-type]


async def list_promotions(
    conn: psycopg.AsyncConnection, *, valid_at: datetime | None, zone: str, before_id: int | None, limit: int
) -> tuple[list[Promotion], int]:
    """Newest first, `limit` after `before_id`; and how many match in all."""
    where = ["true"]
    args: list[Any] = []
    if valid_at is not None:
        where.append("valid_from <= %s AND valid_until > %s")
        args += [valid_at, valid_at]
    if zone:
        where.append("zone IN ('', %s)")
        args.append(zone)
    sql_where = " AND ".join(where)
    cur = await conn.execute(f"SELECT count(*) AS n FROM promotions WHERE {sql_where}", args)
    total = int((await cur.fetchone())["n"])  # type: ignore[index]
    page_where = sql_where + (" AND id < %s" if before_id is not None else "")
    page_args = [*args, *([before_id] if before_id is not None else []), limit]
    cur = await conn.execute(
        f"SELECT {_PROMOTION_COLUMNS} FROM promotions WHERE {page_where} ORDER BY id DESC LIMIT %s", page_args)
    return [_promotion(r) for r in await cur.fetchall()], total


async def current_and_future_promotions(conn: psycopg.AsyncConnection, at: datetime, zone: str | None) -> list[Promotion]:
    """Promotions not over at `at` (of `zone` and every zone; every zone's when `zone` is None), newest first."""
    if zone is None:
        cur = await conn.execute(
            f"SELECT {_PROMOTION_COLUMNS} FROM promotions WHERE valid_until > %s ORDER BY id DESC", (at,))
    else:
        cur = await conn.execute(
            f"""SELECT {_PROMOTION_COLUMNS} FROM promotions WHERE valid_until > %s AND zone IN ('', %s)
                ORDER BY id DESC""", (at, zone))
    return [_promotion(r) for r in await cur.fetchall()]


# ------------------------------------------------------------------------------------------- zones


async def replace_zone(
    conn: psycopg.AsyncConnection, org: str, zone: str, products: Sequence[str], camera_ids: Sequence[str]
) -> StoreZone:
    await conn.execute(
        """INSERT INTO promotion_zones (org_id, zone, products) VALUES (%s, %s, %s)
           ON CONFLICT (org_id, zone) DO UPDATE SET products = EXCLUDED.products, updated_at = now()""",
        (org, zone, list(products)),
    )
    await conn.execute("DELETE FROM promotion_zone_cameras WHERE zone = %s", (zone,))
    if camera_ids:
        cur = await conn.execute(
            "SELECT camera_id, zone FROM promotion_zone_cameras WHERE camera_id = ANY(%s)", (list(camera_ids),))
        taken = await cur.fetchall()
        if taken:
            first = taken[0]
            raise InvalidArgument(f"camera {first['camera_id']} already covers zone {first['zone']}")
        try:
            await conn.execute(
                """INSERT INTO promotion_zone_cameras (org_id, camera_id, zone)
                   SELECT %s, unnest(%s::text[]), %s""", (org, list(camera_ids), zone))
        except ForeignKeyViolation:  # pragma: no cover - the zone row was written above
            raise InvalidArgument(f"zone {zone} does not exist") from None
    found = await zone_by_name(conn, zone)
    assert found is not None
    return found


async def zone_by_name(conn: psycopg.AsyncConnection, zone: str) -> StoreZone | None:
    cur = await conn.execute(
        """SELECT z.zone, z.products, z.updated_at,
                  coalesce(array_agg(c.camera_id ORDER BY c.camera_id) FILTER (WHERE c.camera_id IS NOT NULL),
                           '{}') AS camera_ids
           FROM promotion_zones z LEFT JOIN promotion_zone_cameras c ON c.zone = z.zone
           WHERE z.zone = %s GROUP BY z.zone, z.products, z.updated_at""", (zone,))
    row = await cur.fetchone()
    if row is None:
        return None
    return StoreZone(row["zone"], tuple(row["products"]), tuple(row["camera_ids"]), row["updated_at"])


async def zone_of_camera(conn: psycopg.AsyncConnection, camera_id: str) -> StoreZone | None:
    cur = await conn.execute("SELECT zone FROM promotion_zone_cameras WHERE camera_id = %s", (camera_id,))
    row = await cur.fetchone()
    return None if row is None else await zone_by_name(conn, row["zone"])


# ---------------------------------------------------------------------------------------- displays


async def insert_display(conn: psycopg.AsyncConnection, org: str, name: str, zone: str) -> Display:
    cur = await conn.execute(
        "INSERT INTO promotion_displays (org_id, name, zone) VALUES (%s, %s, %s) RETURNING id, name, zone, created_at",
        (org, name, zone))
    return Display(**(await cur.fetchone()))  # type: ignore[arg-type]


async def display_by_id(conn: psycopg.AsyncConnection, display_id: int) -> Display | None:
    cur = await conn.execute("SELECT id, name, zone, created_at FROM promotion_displays WHERE id = %s", (display_id,))
    row = await cur.fetchone()
    return None if row is None else Display(**row)


# ----------------------------------------------------------------------------------------- actions


async def insert_action(conn: psycopg.AsyncConnection, org: str, action: Action) -> bool:
    """False when an action with this event id exists already."""
    cur = await conn.execute(
        f"""INSERT INTO promotion_actions (org_id, {_ACTION_COLUMNS})
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
            ON CONFLICT (org_id, event_id) DO NOTHING RETURNING id""",
        (org, action.event_id, action.identification_event_id, action.customer_id, action.loyalty_status,
         action.store_zone, action.camera_id, action.confidence, list(action.recommended_products),
         action.identified_at, action.personal_until))
    return await cur.fetchone() is not None


async def unpublished_actions(conn: psycopg.AsyncConnection, identification_event_ids: Sequence[str]) -> list[Action]:
    cur = await conn.execute(
        f"""SELECT {_ACTION_COLUMNS} FROM promotion_actions
            WHERE published_at IS NULL AND identification_event_id = ANY(%s) ORDER BY id""",
        (list(identification_event_ids),))
    return [_action(r) for r in await cur.fetchall()]


async def mark_published(conn: psycopg.AsyncConnection, event_ids: Sequence[str]) -> None:
    await conn.execute("UPDATE promotion_actions SET published_at = now() WHERE event_id = ANY(%s)", (list(event_ids),))


async def presence_in_zone(conn: psycopg.AsyncConnection, zone: str, at: datetime) -> Action | None:
    """The newest recommendation for `zone` whose offer is still up at `at`."""
    cur = await conn.execute(
        f"""SELECT {_ACTION_COLUMNS} FROM promotion_actions
            WHERE store_zone = %s AND identified_at <= %s AND personal_until > %s
            ORDER BY identified_at DESC, id DESC LIMIT 1""", (zone, at, at))
    row = await cur.fetchone()
    return None if row is None else _action(row)


async def list_actions(
    conn: psycopg.AsyncConnection, *, customer_id: int, before_id: int | None, limit: int
) -> list[tuple[int, Action]]:
    where, args = ["true"], []  # type: ignore[var-annotated]
    if customer_id:
        where.append("customer_id = %s")
        args.append(customer_id)
    if before_id is not None:
        where.append("id < %s")
        args.append(before_id)
    cur = await conn.execute(
        f"SELECT id, {_ACTION_COLUMNS} FROM promotion_actions WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT %s",
        [*args, limit])
    return [(r.pop("id"), _action(r)) for r in await cur.fetchall()]


# ------------------------------------------------------------------------------------------ history


async def product_history(
    conn: psycopg.AsyncConnection, customer_id: int, candidates: Sequence[str], since: datetime
) -> dict[str, ProductHistory]:
    """For each candidate product, how often the customer bought it and how often anyone bought it with one
    of the customer's products, over the point-of-sale transactions since `since` (grouped in SQL).

    A transaction line names its product by `sku`, else by `name`; a transaction belongs to the customer
    when the journey it converted carries the customer's id.
    """
    if not candidates:
        return {}
    cur = await conn.execute(
        """WITH lines AS (
               SELECT DISTINCT t.transaction_id, j.customer_id,
                      coalesce(nullif(i ->> 'sku', ''), i ->> 'name') AS product
               FROM pos_transactions t
               LEFT JOIN journeys j ON j.id = t.journey_id
               CROSS JOIN LATERAL jsonb_array_elements(t.items) AS i
               WHERE t.transaction_time >= %(since)s),
           mine AS (SELECT DISTINCT product FROM lines WHERE customer_id = %(customer)s),
           baskets_with_mine AS (
               SELECT l.transaction_id, array_agg(l.product) AS products
               FROM lines l JOIN mine m USING (product) GROUP BY l.transaction_id)
           SELECT c.product,
                  count(*) FILTER (WHERE c.customer_id = %(customer)s) AS bought,
                  count(*) FILTER (WHERE EXISTS (SELECT 1 FROM unnest(b.products) AS p WHERE p <> c.product))
                      AS co_occurrences
           FROM lines c LEFT JOIN baskets_with_mine b USING (transaction_id)
           WHERE c.product = ANY(%(candidates)s)
           GROUP BY c.product""",
        {"since": since, "customer": str(customer_id), "candidates": list(candidates)},
    )
    return {r["product"]: ProductHistory(r["product"], int(r["bought"]), int(r["co_occurrences"]))
            for r in await cur.fetchall()}
