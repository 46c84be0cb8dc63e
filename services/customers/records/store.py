"""SQL of the customer records: customers, their interactions and segments (tables of 0006_customers_crm.sql).

Every function runs on a tenant connection (`Database.tenant(org)`), so row-level security already hides other
organisations; the queries name `org_id` anyway, which lets PostgreSQL use the org-first indexes. Writes that
hang off a customer select the customer in the same statement: an id of another organisation finds no row.
"""

from __future__ import annotations

from typing import Any

import psycopg
from footfall.services.customers.records.domain import (
    Customer,
    CustomerChanges,
    CustomerDraft,
    Interaction,
    InteractionDraft,
    Segment,
    SegmentAssignment,
)
from psycopg.types.json import Jsonb

Conn = psycopg.AsyncConnection[Any]

_CUSTOMER_COLUMNS = "id, name, email, phone, loyalty_status, external_ids, created_at, updated_at"
_INTERACTION_COLUMNS = "id, customer_id, interaction_type, subject, status, interaction_date, created_at"
_SEGMENT_COLUMNS = "id, customer_id, segment_name, segment_value, description, assigned_date, is_active"


def customer_of(row: dict[str, Any]) -> Customer:
    return Customer(
        id=row["id"], name=row["name"], email=row["email"], phone=row["phone"],
        loyalty_status=row["loyalty_status"], external_ids=dict(row["external_ids"] or {}),
        created_at=row["created_at"], updated_at=row["updated_at"],
    )


def interaction_of(row: dict[str, Any]) -> Interaction:
    return Interaction(
        id=row["id"], customer_id=row["customer_id"], interaction_type=row["interaction_type"],
        subject=row["subject"], status=row["status"], interaction_date=row["interaction_date"],
        created_at=row["created_at"],
    )


def segment_of(row: dict[str, Any]) -> Segment:
    return Segment(
        id=row["id"], customer_id=row["customer_id"], segment_name=row["segment_name"],
        segment_value=row["segment_value"], description=row["description"],
        assigned_date=row["assigned_date"], is_active=row["is_active"],
    )


async def email_taken(conn: Conn, org: str, email: str, *, except_id: int | None = None) -> bool:
    cur = await conn.execute(
        "SELECT 1 FROM customers WHERE org_id = %s AND lower(email) = lower(%s) AND id IS DISTINCT FROM %s",
        (org, email, except_id),
    )
    return await cur.fetchone() is not None


async def insert_customer(conn: Conn, org: str, draft: CustomerDraft) -> Customer:
    cur = await conn.execute(
        f"""INSERT INTO customers (org_id, name, email, phone, loyalty_status, external_ids)
            VALUES (%s, %s, %s, %s, %s, %s) RETURNING {_CUSTOMER_COLUMNS}""",
        (org, draft.name, draft.email, draft.phone, draft.loyalty_status, Jsonb(dict(draft.external_ids))),
    )
    row = await cur.fetchone()
    assert row is not None
    return customer_of(row)


async def get_customer(conn: Conn, org: str, customer_id: int, *, for_update: bool = False) -> Customer | None:
    lock = " FOR UPDATE" if for_update else ""
    cur = await conn.execute(
        f"SELECT {_CUSTOMER_COLUMNS} FROM customers WHERE org_id = %s AND id = %s{lock}", (org, customer_id)
    )
    row = await cur.fetchone()
    return None if row is None else customer_of(row)


async def update_customer(conn: Conn, org: str, customer_id: int, changes: CustomerChanges) -> Customer | None:
    """Apply the non-None fields (an empty email or phone stores NULL); None when there is no such customer."""
    sets: list[str] = []
    params: list[Any] = []
    for column, value in (("name", changes.name), ("loyalty_status", changes.loyalty_status)):
        if value is not None:
            sets.append(f"{column} = %s")
            params.append(value)
    for column, value in (("email", changes.email), ("phone", changes.phone)):
        if value is not None:
            sets.append(f"{column} = %s")
            params.append(value or None)
    if changes.external_ids is not None:
        sets.append("external_ids = %s")
        params.append(Jsonb(dict(changes.external_ids)))
    sets.append("updated_at = now()")
    cur = await conn.execute(
        f"UPDATE customers SET {', '.join(sets)} WHERE org_id = %s AND id = %s RETURNING {_CUSTOMER_COLUMNS}",
        (*params, org, customer_id),
    )
    row = await cur.fetchone()
    return None if row is None else customer_of(row)


async def list_customers(
    conn: Conn, org: str, *, after_id: int, limit: int, loyalty_status: str | None, email: str | None
) -> list[Customer]:
    """Customers by id (oldest first) after `after_id`; `limit + 1` rows tell whether another page follows."""
    where = ["org_id = %s", "id > %s"]
    params: list[Any] = [org, after_id]
    if loyalty_status:
        where.append("loyalty_status = %s")
        params.append(loyalty_status)
    if email:
        where.append("lower(email) = lower(%s)")
        params.append(email)
    cur = await conn.execute(
        f"SELECT {_CUSTOMER_COLUMNS} FROM customers WHERE {' AND '.join(where)} ORDER BY id LIMIT %s",
        (*params, limit + 1),
    )
    return [customer_of(r) for r in await cur.fetchall()]


async def count_customers(conn: Conn, org: str, *, loyalty_status: str | None, email: str | None) -> int:
    where = ["org_id = %s"]
    params: list[Any] = [org]
    if loyalty_status:
        where.append("loyalty_status = %s")
        params.append(loyalty_status)
    if email:
        where.append("lower(email) = lower(%s)")
        params.append(email)
    cur = await conn.execute(f"SELECT count(*) AS n FROM customers WHERE {' AND '.join(where)}", params)
    row = await cur.fetchone()
    return int(row["n"]) if row else 0


async def insert_interaction(conn: Conn, org: str, draft: InteractionDraft) -> Interaction | None:
    """None when the organisation has no such customer."""
    cur = await conn.execute(
        f"""INSERT INTO customer_interactions (org_id, customer_id, interaction_type, subject, status, interaction_date)
            SELECT c.org_id, c.id, %s, %s, %s, %s FROM customers c WHERE c.org_id = %s AND c.id = %s
            RETURNING {_INTERACTION_COLUMNS}""",
        (draft.interaction_type, draft.subject, draft.status, draft.interaction_date, org, draft.customer_id),
    )
    row = await cur.fetchone()
    return None if row is None else interaction_of(row)


async def upsert_segment(conn: Conn, org: str, assignment: SegmentAssignment) -> Segment | None:
    """Assign (or re-assign: value, description, date and activity are replaced); None without the customer."""
    cur = await conn.execute(
        f"""INSERT INTO customer_segments
                (org_id, customer_id, segment_name, segment_value, description, assigned_date, is_active)
            SELECT c.org_id, c.id, %s, %s, %s, %s, %s FROM customers c WHERE c.org_id = %s AND c.id = %s
            ON CONFLICT (customer_id, segment_name) DO UPDATE SET
                segment_value = EXCLUDED.segment_value, description = EXCLUDED.description,
                assigned_date = EXCLUDED.assigned_date, is_active = EXCLUDED.is_active, updated_at = now()
            RETURNING {_SEGMENT_COLUMNS}""",
        (assignment.segment_name, assignment.segment_value, assignment.description, assignment.assigned_date,
         assignment.is_active, org, assignment.customer_id),
    )
    row = await cur.fetchone()
    return None if row is None else segment_of(row)


async def customer_segments(conn: Conn, org: str, customer_id: int) -> list[Segment]:
    """The customer's active segments, oldest assignment first."""
    cur = await conn.execute(
        f"""SELECT {_SEGMENT_COLUMNS} FROM customer_segments
            WHERE org_id = %s AND customer_id = %s AND is_active ORDER BY assigned_date, id""",
        (org, customer_id),
    )
    return [segment_of(r) for r in await cur.fetchall()]


async def recent_interactions(conn: Conn, org: str, customer_id: int, limit: int) -> list[Interaction]:
    cur = await conn.execute(
        f"""SELECT {_INTERACTION_COLUMNS} FROM customer_interactions
            WHERE org_id = %s AND customer_id = %s ORDER BY interaction_date DESC, id DESC LIMIT %s""",
        (org, customer_id, limit),
    )
    return [interaction_of(r) for r in await cur.fetchall()]
