"""`google.protobuf.Timestamp` from datetimes, the one way every service and adapter builds them."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp


def to_timestamp(dt: datetime) -> Timestamp:
    """A protobuf timestamp for `dt` (a naive datetime is taken as UTC)."""
    out = Timestamp()
    out.FromDatetime(dt.astimezone(UTC) if dt.tzinfo else dt.replace(tzinfo=UTC))
    return out


def optional_timestamp(dt: datetime | None) -> Timestamp | None:
    """`to_timestamp(dt)`, or None for None."""
    return None if dt is None else to_timestamp(dt)
