"""Protobuf <-> wire conversions that more than one domain uses (times, ids, line and crossing directions)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum

import strawberry
from footfall.services.core.errors import InvalidArgument
from footfall.v1 import common_pb2
from google.protobuf.timestamp_pb2 import Timestamp

LINE_DIRECTIONS: dict[str, int] = {
    "entry": common_pb2.LINE_DIRECTION_ENTRY,
    "exit": common_pb2.LINE_DIRECTION_EXIT,
    "bidirectional": common_pb2.LINE_DIRECTION_BIDIRECTIONAL,
}
CROSSING_DIRECTIONS: dict[str, int] = {
    "in": common_pb2.CROSSING_DIRECTION_IN,
    "out": common_pb2.CROSSING_DIRECTION_OUT,
}
_LINE_DIRECTION_NAMES = {v: k for k, v in LINE_DIRECTIONS.items()}
CROSSING_DIRECTION_NAMES = {v: k for k, v in CROSSING_DIRECTIONS.items()}
INT64_MAX = 2**63 - 1


@strawberry.enum(description="Which way a virtual line counts people.")
class LineDirection(Enum):
    ENTRY = "entry"
    EXIT = "exit"
    BIDIRECTIONAL = "bidirectional"
    UNSPECIFIED = "unspecified"


@strawberry.enum(description="The side-to-side sense of one crossing of a line.")
class CrossingDirection(Enum):
    IN = "in"
    OUT = "out"


def line_direction_name(value: int) -> str:
    return _LINE_DIRECTION_NAMES.get(value, "unspecified")


def line_direction_value(name: str) -> int:
    try:
        return LINE_DIRECTIONS[name]
    except KeyError:
        raise InvalidArgument(f"direction must be one of {', '.join(LINE_DIRECTIONS)}") from None


def to_datetime(ts: Timestamp) -> datetime | None:
    """The timestamp as an aware UTC datetime, or None when it is unset."""
    if not ts.seconds and not ts.nanos:
        return None
    return ts.ToDatetime(tzinfo=UTC)


def iso(ts: Timestamp) -> str | None:
    """`2025-01-15T10:30:45Z` (whole seconds, UTC, as the REST seeds write them), or None when unset."""
    if not ts.seconds and not ts.nanos:
        return None
    return datetime.fromtimestamp(ts.seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_precise(ts: Timestamp) -> str | None:
    """`2025-01-15T10:30:45.123456Z`, or None when unset."""
    if not ts.seconds and not ts.nanos:
        return None
    return ts.ToDatetime(tzinfo=UTC).isoformat().replace("+00:00", "Z")


def iso_offset(ts: Timestamp) -> str | None:
    """`2025-01-15T10:30:45.123456+00:00` (Python's isoformat, as seed 002's edge processor writes it)."""
    if not ts.seconds and not ts.nanos:
        return None
    return ts.ToDatetime(tzinfo=UTC).isoformat()


def unix(ts: Timestamp) -> float | None:
    """Unix seconds, or None when unset."""
    if not ts.seconds and not ts.nanos:
        return None
    return ts.seconds + ts.nanos / 1e9


def number(value: float) -> int | float:
    """A coordinate as the seeds write it: `300`, not `300.0`, when it is whole."""
    return int(value) if float(value).is_integer() else value


def parse_id(value: str | int, what: str = "id") -> int:
    """A GraphQL `ID` holding a database id, as an int (bad input -> BAD_USER_INPUT)."""
    text = str(value).strip()
    if not text.isascii() or not text.isdigit() or len(text) > 19:
        raise InvalidArgument(f"{what} must be a numeric id")
    number = int(text)
    if not 0 < number <= INT64_MAX:
        raise InvalidArgument(f"{what} must be a positive 64-bit id")
    return number


def clean_text(value: object) -> object:
    """`value`, unless it is text PostgreSQL and UTF-8 cannot hold (a NUL byte, a lone surrogate) -> ValueError.

    For pydantic validators: the error names the field, never quotes the text.
    """
    if isinstance(value, (list, tuple)):
        for item in value:
            clean_text(item)
    elif isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("text must not contain lone surrogates") from None
        if "\x00" in value:
            raise ValueError("text must not contain NUL bytes")
    return value
