"""Occupancy's protobuf <-> wire names, shared by its REST routes and GraphQL types."""

from __future__ import annotations

from footfall.graph.core.convert import (  # noqa: F401  (re-exported: occupancy's own vocabulary)
    CROSSING_DIRECTIONS,
    LINE_DIRECTIONS,
    line_direction_name,
)
from footfall.v1 import occupancy_pb2

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
_AGGREGATION_LEVEL_NAMES = {v: k for k, v in AGGREGATION_LEVELS.items()}
_ALERT_TYPE_NAMES = {v: k for k, v in ALERT_TYPES.items()}


def aggregation_level_name(value: int) -> str:
    return _AGGREGATION_LEVEL_NAMES.get(value, "unspecified")


def alert_type_name(value: int) -> str:
    return _ALERT_TYPE_NAMES.get(value, "unspecified")
