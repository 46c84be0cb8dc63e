"""Small protobuf <-> wire-name conversions shared by the REST routes and the GraphQL types."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from footfall.v1 import common_pb2, occupancy_pb2
from footfall.services.core.errors import InvalidArgument

LINE_DIRECTIONS: dict[str, int] = {
    "entry": common_pb2.LINE_DIRECTION_ENTRY,
    "exit": common_pb2.LINE_DIRECTION_EXIT,
    "bidirectional": common_pb2.LINE_DIRECTION_BIDIRECTIONAL,
}
CROSSING_DIRECTIONS: dict[str, int] = {
    "in": common_pb2.CROSSING_DIRECTION_IN,
    "out": common_pb2.CROSSING_DIRECTION_OUT,
}
AGGREGATION_LEVELS: dict[str, int] = {
    "hourly": occupancy_pb2.AGGREGATION_LEVEL_HOURLY,
    "daily": occupancy_pb2.AGGREGATION_LEVEL_DAILY,
    "monthly": occupancy_pb2.AGGREGATION_LEVEL_MONTHLY,
}
ALERT_TYPES: dict[str, int] = {
    "capacity_exceeded": occupancy_pb2.ALERT_TYPE_CAPACITY_EXCEEDED,
    "capacity_warning": occupancy_pb2.ALERT_TYPE_CAPACITY_WARNING,
    "anomaly_detected": occupancy_pb2.ALERT_TYPE_ANOMALY_DETECTED,
    "negative_count": occupancy_pb2.ALERT_TYPE_NEGATIVE_COUNT,
    "equipment_failure": occupancy_pb2.ALERT_TYPE_EQUIPMENT_FAILURE,
}
_LINE_DIRECTION_NAMES = {v: k for k, v in LINE_DIRECTIONS.items()}
_AGGREGATION_LEVEL_NAMES = {v: k for k, v in AGGREGATION_LEVELS.items()}
_ALERT_TYPE_NAMES = {v: k for k, v in ALERT_TYPES.items()}


def line_direction_name(value: int) -> str:
    return _LINE_DIRECTION_NAMES.get(value, "unspecified")


def aggregation_level_name(value: int) -> str:
    return _AGGREGATION_LEVEL_NAMES.get(value, "unspecified")


def alert_type_name(value: int) -> str:
    return _ALERT_TYPE_NAMES.get(value, "unspecified")


def line_direction_value(name: str) -> int:
    try:
        return LINE_DIRECTIONS[name]
    except KeyError:
        raise InvalidArgument(
            f"direction must be one of {', '.join(LINE_DIRECTIONS)}, not {name!r}"
        ) from None


def to_datetime(ts: Timestamp) -> datetime | None:
    """The timestamp as an aware UTC datetime, or None when it is unset."""
    if not ts.seconds and not ts.nanos:
        return None
    return ts.ToDatetime(tzinfo=UTC)


def iso(ts: Timestamp) -> str | None:
    """`2025-01-15T10:30:45Z` (whole seconds, UTC, as the REST seed writes them), or None when unset."""
    if not ts.seconds and not ts.nanos:
        return None
    return datetime.fromtimestamp(ts.seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def number(value: float) -> int | float:
    """A coordinate as the seed writes it: `300`, not `300.0`, when it is whole."""
    return int(value) if float(value).is_integer() else value


def parse_id(value: str | int, what: str = "id") -> int:
    """A GraphQL `ID` holding a database id, as an int (bad input -> BAD_USER_INPUT)."""
    try:
        number = int(str(value))
    except ValueError:
        raise InvalidArgument(f"{what} must be a numeric id, not {value!r}") from None
    if not 0 < number < 2**63:
        raise InvalidArgument(f"{what} must be a positive id, not {value!r}")
    return number
