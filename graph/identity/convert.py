"""Identity's protobuf <-> the seeds' shapes (seed 002's faces and identity tracker, seed 003's persons), shared
by the REST routes and the GraphQL resolvers.

Times: seed 002's services wrote Python's `isoformat()` (`iso_offset`), seed 003's Django API writes
`2024-12-01T10:00:00Z` (`iso`). Ids: customers are the customers service's numbers, shown as strings where
seed 002 shows strings; persons are UUIDs.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from footfall.graph.core.convert import iso, iso_offset, number
from footfall.graph.core.errors import invalid_parameter
from footfall.graph.customers.crm_convert import loyalty_name
from footfall.graph.identity.models import (
    CustomerOut,
    MatchOut,
    PersonCreatedOut,
    PersonOut,
    PersonPageOut,
    PointOut,
    PositionOut,
    TrackedPersonOut,
)
from footfall.services.core import errors
from footfall.v1 import customers_pb2, identity_pb2

INVALID_IMAGE = "Invalid image data"
EMBEDDING_DIM = 128
_DATA_URL = re.compile(r"^data:[\w/+.-]*;base64,", re.IGNORECASE)

#: Seed 003's statistics routes -> the service's kinds.
STATISTICS_KINDS = {
    "gender": identity_pb2.STATISTICS_KIND_GENDER,
    "age": identity_pb2.STATISTICS_KIND_AGE,
    "emotion": identity_pb2.STATISTICS_KIND_EMOTION,
    "body-type": identity_pb2.STATISTICS_KIND_BODY_TYPE,
}


def decode_image(value: Any) -> bytes:
    """The bytes of a base64 image (plain or URL-safe, optionally a `data:` URL); else "Invalid image data".

    Whether the bytes are an image (and how many pixels it claims) is the identity service's check, made from
    the header before anything is decoded."""
    if not isinstance(value, str) or not value.strip():
        raise errors.InvalidArgument(INVALID_IMAGE)
    text = re.sub(r"\s+", "", _DATA_URL.sub("", value.strip(), count=1))
    padded = text + "=" * (-len(text) % 4)
    try:
        data = base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        try:
            data = base64.b64decode(padded, altchars=b"-_", validate=True)
        except (binascii.Error, ValueError):
            raise errors.InvalidArgument(INVALID_IMAGE) from None
    if not data:
        raise errors.InvalidArgument(INVALID_IMAGE)
    return data


def parse_vector(text: str | None) -> list[float]:
    """Seed 003's `vector` form field: a JSON array of 128 finite numbers (absent or empty: no vector).
    Invalid input is answered like the body's other field errors."""
    if text is None or not text.strip():
        return []
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, list) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in value
    ):
        raise invalid_parameter("vector", "must be a JSON array of numbers", "body")
    if len(value) != EMBEDDING_DIM:
        raise invalid_parameter("vector", f"must have {EMBEDDING_DIM} numbers", "body")
    if not all(math.isfinite(v) and abs(v) < 1e6 for v in value):
        raise invalid_parameter("vector", "must hold finite numbers", "body")
    return [float(v) for v in value]


def parse_time(text: str | None, field: str) -> datetime | None:
    """An ISO 8601 time with a zone (`2024-12-01T10:00:00Z`) from a body field; None when absent."""
    if text is None or not text.strip():
        return None
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise invalid_parameter(field, "must be an ISO 8601 time", "body") from None
    if value.tzinfo is None:
        raise invalid_parameter(field, "must name its time zone (e.g. a trailing Z)", "body")
    return value


def parse_customer_id(value: str, message: str) -> int:
    """A customer id from a path or body: seed 002 shows them as strings; ours are positive numbers."""
    text = value.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 18 or int(text) < 1:
        raise errors.NotFound(message)
    return int(text)


# Seed 002


def match_out(match: identity_pb2.RecognitionMatch) -> MatchOut:
    customer = match.customer
    return MatchOut(
        id=str(match.customer_id),
        name=customer.name or None,
        confidence=round(match.confidence, 4),
        loyalty_status=loyalty_name(customer.loyalty_status) or None,
    )


def customer_match(customer: customers_pb2.Customer) -> MatchOut:
    """`GET /users/{id}/face`: the enrolled customer as the face service's TrackedObject (certain: 1.0)."""
    return MatchOut(
        id=str(customer.id),
        name=customer.name or None,
        confidence=1.0,
        loyalty_status=loyalty_name(customer.loyalty_status) or None,
    )


def customer_out(customer: customers_pb2.Customer) -> CustomerOut:
    return CustomerOut(
        id=str(customer.id),
        name=customer.name or None,
        email=customer.email or None,
        loyalty_status=loyalty_name(customer.loyalty_status) or "bronze",
        created_at=iso_offset(customer.created_at),
    )


def tracked_person(person: identity_pb2.Person) -> TrackedPersonOut:
    return TrackedPersonOut(
        person_id=person.id,
        customer_id=str(person.customer_id) if person.HasField("customer_id") else None,
        first_seen=iso_offset(person.first_seen_at),
        last_seen=iso_offset(person.last_seen_at),
        cameras=list(person.cameras),
        positions=[
            PositionOut(
                timestamp=iso_offset(p.observed_at),
                camera_id=p.camera_id,
                position=PointOut(x=number(round(p.position.x, 2)), y=number(round(p.position.y, 2))),
            )
            for p in person.positions
        ],
    )


def foot_point(bbox: Sequence[float]) -> tuple[float, float]:
    """Where a person stands in a box (x1, y1, x2, y2): its bottom centre, as the line counting uses."""
    x1, _y1, x2, y2 = bbox
    return (x1 + x2) / 2, y2


# Seed 003


def person_out(person: identity_pb2.Person) -> PersonOut:
    return PersonOut(
        id=person.id,
        full_name=person.full_name or None,
        phone_number=person.phone_number or None,
        age=person.age if person.HasField("age") else None,
        gender=person.gender or None,
        emotion=person.emotion or None,
        body_type=person.body_type or None,
        entry_time=iso(person.entry_time),
        exit_time=iso(person.exit_time),
        created_at=iso(person.created_at),
        updated_at=iso(person.updated_at),
    )


def person_created(reply: identity_pb2.CreatePersonResponse) -> PersonCreatedOut:
    person = reply.person
    return PersonCreatedOut(
        id=person.id,
        vector=list(reply.vector) or None,
        image=person.image or None,
        age=person.age if person.HasField("age") else None,
        gender=person.gender or None,
        emotion=person.emotion or None,
        body_type=person.body_type or None,
        entry_time=iso(person.entry_time),
        exit_time=iso(person.exit_time),
    )


def person_page(
    persons: Sequence[identity_pb2.Person], count: int, page: int, page_size: int
) -> PersonPageOut:
    total_pages = max(1, math.ceil(count / page_size))
    return PersonPageOut(
        count=count,
        total_pages=total_pages,
        current_page=page,
        page_size=page_size,
        has_next=page < total_pages,
        has_previous=page > 1,
        next_page=page + 1 if page < total_pages else None,
        previous_page=page - 1 if page > 1 else None,
        results=[person_out(p) for p in persons],
    )
