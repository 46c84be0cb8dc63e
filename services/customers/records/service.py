"""Customer records behind every transport (gRPC, and through it REST and GraphQL): create, read, update and
list customers, log interactions, assign segments. Each call is one tenant transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import psycopg
from footfall.services.core.db import Database
from footfall.services.core.errors import AlreadyExists, InvalidArgument, NotFound
from footfall.services.customers.records import store
from footfall.services.customers.records.domain import (
    LOYALTY_STATUSES,
    Customer,
    CustomerChanges,
    CustomerDraft,
    Interaction,
    InteractionDraft,
    Segment,
    SegmentAssignment,
    check_choice,
    check_id,
    checked_assignment,
    checked_changes,
    checked_draft,
    checked_interaction,
    customer_not_found,
)
from footfall.services.customers.service import decode_token, encode_token

MAX_PAGE = 1000
DEFAULT_PAGE = 100
EMAIL_TAKEN = "A customer with this email already exists"

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def page_size(requested: int) -> int:
    if requested < 0:
        raise InvalidArgument("page_size must not be negative")
    return min(requested or DEFAULT_PAGE, MAX_PAGE)


class CustomerRecords:
    """The customer record of one platform: every method acts inside one organisation."""

    def __init__(self, db: Database, *, clock: Clock = utc_now) -> None:
        self.db = db
        self.clock = clock

    async def create(self, org: str, draft: CustomerDraft) -> Customer:
        draft = checked_draft(draft)
        async with self.db.tenant(org) as conn:
            if draft.email and await store.email_taken(conn, org, draft.email):
                raise AlreadyExists(EMAIL_TAKEN)
            try:
                return await store.insert_customer(conn, org, draft)
            except psycopg.errors.UniqueViolation:  # a concurrent create with the same email
                raise AlreadyExists(EMAIL_TAKEN) from None

    async def get(self, org: str, customer_id: int) -> Customer:
        check_id(customer_id)
        async with self.db.tenant(org) as conn:
            found = await store.get_customer(conn, org, customer_id)
        if found is None:
            raise NotFound(customer_not_found(customer_id))
        return found

    async def update(self, org: str, customer_id: int, changes: CustomerChanges) -> Customer:
        check_id(customer_id)
        changes = checked_changes(changes)
        async with self.db.tenant(org) as conn:
            if changes.email and await store.email_taken(conn, org, changes.email, except_id=customer_id):
                raise AlreadyExists(EMAIL_TAKEN)
            try:
                if changes.empty:
                    found = await store.get_customer(conn, org, customer_id)
                else:
                    found = await store.update_customer(conn, org, customer_id, changes)
            except psycopg.errors.UniqueViolation:
                raise AlreadyExists(EMAIL_TAKEN) from None
        if found is None:
            raise NotFound(customer_not_found(customer_id))
        return found

    async def list(
        self, org: str, requested_page_size: int = 0, page_token: str = "", *,
        loyalty_status: str = "", email: str = "",
    ) -> tuple[list[Customer], str, int]:
        """A page of customers by id, the token of the next page ('' on the last) and the matching total."""
        limit = page_size(requested_page_size)
        if loyalty_status:
            check_choice(loyalty_status, "loyalty_status", LOYALTY_STATUSES)
        after = 0
        if page_token:
            after = decode_token(page_token).get("id", 0)
            if not isinstance(after, int) or after < 0:
                raise InvalidArgument("invalid page_token")
        filters = {"loyalty_status": loyalty_status or None, "email": email.strip() or None}
        async with self.db.tenant(org) as conn:
            rows = await store.list_customers(conn, org, after_id=after, limit=limit, **filters)
            total = await store.count_customers(conn, org, **filters)
        if len(rows) > limit:
            return rows[:limit], encode_token({"id": rows[limit - 1].id}), total
        return rows, "", total

    async def add_interaction(self, org: str, draft: InteractionDraft) -> Interaction:
        draft = checked_interaction(draft, self.clock())
        async with self.db.tenant(org) as conn:
            added = await store.insert_interaction(conn, org, draft)
        if added is None:
            raise NotFound(customer_not_found(draft.customer_id))
        return added

    async def assign_segment(self, org: str, assignment: SegmentAssignment) -> Segment:
        assignment = checked_assignment(assignment, self.clock())
        async with self.db.tenant(org) as conn:
            assigned = await store.upsert_segment(conn, org, assignment)
        if assigned is None:
            raise NotFound(customer_not_found(assignment.customer_id))
        return assigned
