"""SQL of commerce: products, carts, cart products (0008_commerce.sql), and the journeys they meet (0003).

Every function runs on a tenant connection (`Database.tenant(org)`), so row-level security already hides other
organisations; the queries name `org_id` anyway, which lets PostgreSQL use the org-first indexes. Whatever a
write hangs off (a cart's customer, a cart product's cart and product) is looked up on the same connection
first: an id of another organisation finds nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg
from footfall.services.customers.commerce.domain import (
    Cart,
    CartDraft,
    CartProduct,
    CartProductDraft,
    Order,
    OrderLine,
    PersonActivity,
    Product,
    ProductDraft,
    VisitStats,
)

Conn = psycopg.AsyncConnection[Any]

_PRODUCT_COLUMNS = "id::text, name, category, price, created_at, updated_at"
_CART_COLUMNS = ("id::text, person_id, customer_id, table_number, transaction_id, checked_out_at, "
                 "created_at, updated_at")
_CART_PRODUCT_COLUMNS = "id::text, cart_id::text, product_id::text, quantity, created_at, updated_at"


def product_of(row: dict[str, Any]) -> Product:
    return Product(row["id"], row["name"], row["category"], row["price"], row["created_at"], row["updated_at"])


def cart_of(row: dict[str, Any]) -> Cart:
    return Cart(
        id=row["id"], person_id=row["person_id"], customer_id=row["customer_id"], table_number=row["table_number"],
        transaction_id=row["transaction_id"], checked_out_at=row["checked_out_at"],
        created_at=row["created_at"], updated_at=row["updated_at"],
    )


def cart_product_of(row: dict[str, Any]) -> CartProduct:
    return CartProduct(row["id"], row["cart_id"], row["product_id"], row["quantity"], row["created_at"],
                       row["updated_at"])


async def insert_product(conn: Conn, org: str, draft: ProductDraft) -> Product:
    cur = await conn.execute(
        f"INSERT INTO products (org_id, name, category, price) VALUES (%s, %s, %s, %s) RETURNING {_PRODUCT_COLUMNS}",
        (org, draft.name, draft.category, draft.price),
    )
    row = await cur.fetchone()
    assert row is not None
    return product_of(row)


async def list_products(conn: Conn, org: str, *, after: tuple[str, str] | None, limit: int) -> list[Product]:
    """Products by (name, id) after `after`; `limit + 1` rows tell whether another page follows."""
    where, params = "org_id = %s", [org]
    if after is not None:
        where += " AND (name, id) > (%s, %s::uuid)"
        params += list(after)
    cur = await conn.execute(
        f"SELECT {_PRODUCT_COLUMNS} FROM products WHERE {where} ORDER BY name, id LIMIT %s", (*params, limit + 1)
    )
    return [product_of(r) for r in await cur.fetchall()]


async def customer_exists(conn: Conn, org: str, customer_id: int) -> bool:
    cur = await conn.execute("SELECT 1 FROM customers WHERE org_id = %s AND id = %s", (org, customer_id))
    return await cur.fetchone() is not None


async def insert_cart(conn: Conn, org: str, draft: CartDraft) -> Cart:
    cur = await conn.execute(
        f"""INSERT INTO carts (org_id, person_id, customer_id, table_number) VALUES (%s, %s, %s, %s)
            RETURNING {_CART_COLUMNS}""",
        (org, draft.person_id, draft.customer_id, draft.table_number),
    )
    row = await cur.fetchone()
    assert row is not None
    return cart_of(row)


async def get_cart(conn: Conn, org: str, cart_id: str, *, for_update: bool = False) -> Cart | None:
    lock = " FOR UPDATE" if for_update else ""
    cur = await conn.execute(f"SELECT {_CART_COLUMNS} FROM carts WHERE org_id = %s AND id = %s{lock}", (org, cart_id))
    row = await cur.fetchone()
    return None if row is None else cart_of(row)


async def lock_carts(conn: Conn, org: str, cart_ids: Sequence[str]) -> list[Cart]:
    """The carts among `cart_ids`, locked against a concurrent checkout."""
    cur = await conn.execute(
        f"SELECT {_CART_COLUMNS} FROM carts WHERE org_id = %s AND id = ANY(%s::uuid[]) ORDER BY id FOR UPDATE",
        (org, list(cart_ids)),
    )
    return [cart_of(r) for r in await cur.fetchall()]


async def existing_products(conn: Conn, org: str, product_ids: Sequence[str]) -> set[str]:
    cur = await conn.execute(
        "SELECT id::text AS id FROM products WHERE org_id = %s AND id = ANY(%s::uuid[])", (org, list(product_ids))
    )
    return {r["id"] for r in await cur.fetchall()}


async def insert_cart_products(conn: Conn, org: str, drafts: Sequence[CartProductDraft]) -> list[CartProduct]:
    """Insert in the given order and touch the carts' `updated_at`."""
    cur = conn.cursor()
    await cur.executemany(
        f"""INSERT INTO cart_products (org_id, cart_id, product_id, quantity) VALUES (%s, %s, %s, %s)
            RETURNING {_CART_PRODUCT_COLUMNS}""",
        [(org, d.cart_id, d.product_id, d.quantity) for d in drafts],
        returning=True,
    )
    added: list[CartProduct] = []
    while True:
        row = await cur.fetchone()
        assert row is not None
        added.append(cart_product_of(row))
        if not cur.nextset():
            break
    await conn.execute(
        "UPDATE carts SET updated_at = now() WHERE org_id = %s AND id = ANY(%s::uuid[])",
        (org, sorted({d.cart_id for d in drafts})),
    )
    return added


async def mark_checked_out(conn: Conn, org: str, cart_id: str, transaction_id: str) -> Cart:
    cur = await conn.execute(
        f"""UPDATE carts SET transaction_id = %s, checked_out_at = now(), updated_at = now()
            WHERE org_id = %s AND id = %s RETURNING {_CART_COLUMNS}""",
        (transaction_id, org, cart_id),
    )
    row = await cur.fetchone()
    assert row is not None
    return cart_of(row)


async def order_lines(conn: Conn, org: str, cart_ids: Sequence[str]) -> dict[str, list[OrderLine]]:
    """The lines of each cart in the order they were added."""
    cur = await conn.execute(
        """SELECT cp.id::text AS id, cp.cart_id::text AS cart_id, cp.product_id::text AS product_id,
                  p.name AS product_name, p.price, cp.quantity, cp.created_at
             FROM cart_products cp JOIN products p ON p.id = cp.product_id
            WHERE cp.org_id = %s AND cp.cart_id = ANY(%s::uuid[])
            ORDER BY cp.cart_id, cp.seq""",
        (org, list(cart_ids)),
    )
    lines: dict[str, list[OrderLine]] = {}
    for r in await cur.fetchall():
        lines.setdefault(r["cart_id"], []).append(
            OrderLine(r["id"], r["product_id"], r["product_name"], r["quantity"], r["price"], r["created_at"])
        )
    return lines


async def person_orders(
    conn: Conn, org: str, person_id: str, *, with_products_only: bool,
    after: tuple[datetime, str] | None = None, limit: int | None = None,
) -> list[Order]:
    """The person's carts, newest first, with their lines (only carts with lines when `with_products_only`)."""
    where = ["c.org_id = %s", "c.person_id = %s"]
    params: list[Any] = [org, person_id]
    if with_products_only:
        where.append("EXISTS (SELECT 1 FROM cart_products cp WHERE cp.cart_id = c.id)")
    if after is not None:
        where.append("(c.created_at, c.id) < (%s, %s::uuid)")
        params += list(after)
    tail = ""
    if limit is not None:
        tail = " LIMIT %s"
        params.append(limit + 1)
    columns = ", ".join(f"c.{col.strip()}" for col in _CART_COLUMNS.split(","))
    cur = await conn.execute(
        f"SELECT {columns} FROM carts c WHERE {' AND '.join(where)} ORDER BY c.created_at DESC, c.id DESC{tail}",
        params,
    )
    carts = [cart_of(r) for r in await cur.fetchall()]
    lines = await order_lines(conn, org, [c.id for c in carts])
    return [Order(c, tuple(lines.get(c.id, ()))) for c in carts]


async def count_person_orders(conn: Conn, org: str, person_id: str) -> int:
    cur = await conn.execute(
        """SELECT count(*) AS n FROM carts c WHERE c.org_id = %s AND c.person_id = %s
              AND EXISTS (SELECT 1 FROM cart_products cp WHERE cp.cart_id = c.id)""",
        (org, person_id),
    )
    row = await cur.fetchone()
    return int(row["n"]) if row else 0


async def person_activity(conn: Conn, org: str, person_id: str) -> PersonActivity | None:
    """The customer linked on the person's latest cart naming one, and the span of their carts and visits;
    None when the person has neither carts nor visits."""
    cur = await conn.execute(
        """SELECT linked.id AS customer_id, linked.name, linked.phone,
                  carts.first_cart, carts.last_cart, carts.n AS cart_count,
                  visits.first_entry, visits.last_entry, visits.last_exit, visits.n AS visit_count
             FROM (SELECT count(*) AS n, min(created_at) AS first_cart, max(updated_at) AS last_cart
                     FROM carts WHERE org_id = %(org)s AND person_id = %(person)s) AS carts
            CROSS JOIN (SELECT count(*) AS n, min(entry_time) AS first_entry, max(entry_time) AS last_entry,
                               max(exit_time) AS last_exit
                          FROM journeys WHERE org_id = %(org)s AND customer_id = %(person)s) AS visits
            LEFT JOIN LATERAL (
                SELECT cu.id, cu.name, cu.phone FROM carts k JOIN customers cu ON cu.id = k.customer_id
                 WHERE k.org_id = %(org)s AND k.person_id = %(person)s
                 ORDER BY k.created_at DESC, k.id DESC LIMIT 1) AS linked ON true""",
        {"org": org, "person": person_id},
    )
    row = await cur.fetchone()
    if row is None or (row["cart_count"] == 0 and row["visit_count"] == 0):
        return None
    seen = [t for t in (row["first_cart"], row["last_cart"], row["first_entry"], row["last_entry"],
                        row["last_exit"]) if t is not None]
    return PersonActivity(
        person_id=person_id, name=row["name"], phone=row["phone"], customer_id=row["customer_id"],
        entry_time=row["first_entry"], exit_time=row["last_exit"],
        first_seen=min(seen), last_seen=max(seen),
    )


async def person_visits(conn: Conn, org: str, person_id: str) -> VisitStats:
    cur = await conn.execute(
        "SELECT count(*) AS n, max(entry_time) AS last FROM journeys WHERE org_id = %s AND customer_id = %s",
        (org, person_id),
    )
    row = await cur.fetchone()
    assert row is not None
    return VisitStats(int(row["n"]), row["last"])


async def visit_counts(conn: Conn, org: str, starts: Sequence[datetime], stops: Sequence[datetime]) -> list[int]:
    """Journeys that entered in each [start, stop), grouped in the database, in the buckets' order."""
    cur = await conn.execute(
        """SELECT b.start, count(j.id) AS visits
             FROM unnest(%s::timestamptz[], %s::timestamptz[]) AS b(start, stop)
             LEFT JOIN journeys j ON j.org_id = %s AND j.entry_time >= b.start AND j.entry_time < b.stop
            GROUP BY b.start ORDER BY b.start""",
        (list(starts), list(stops), org),
    )
    return [int(r["visits"]) for r in await cur.fetchall()]
