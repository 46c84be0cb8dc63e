"""Seed 004's words <-> the protobuf enums of the customer record (`gold` <-> `LOYALTY_STATUS_GOLD`)."""

from __future__ import annotations

from footfall.v1 import customers_pb2

_LOYALTY = customers_pb2.LoyaltyStatus
_TYPE = customers_pb2.InteractionType
_STATUS = customers_pb2.InteractionStatus


def _name(enum: object, prefix: str, number: int) -> str:
    """The seed's word for `number` ('' for UNSPECIFIED or a number this gateway does not know)."""
    try:
        name: str = enum.Name(number)  # type: ignore[attr-defined]
    except ValueError:
        return ""
    return "" if number == 0 else name.removeprefix(prefix).lower()


def loyalty_name(number: int) -> str:
    return _name(_LOYALTY, "LOYALTY_STATUS_", number)


def loyalty_number(word: str) -> int:
    return _LOYALTY.Value("LOYALTY_STATUS_" + word.upper())


def interaction_type_name(number: int) -> str:
    return _name(_TYPE, "INTERACTION_TYPE_", number)


def interaction_type_number(word: str) -> int:
    return _TYPE.Value("INTERACTION_TYPE_" + word.upper())


def interaction_status_name(number: int) -> str:
    return _name(_STATUS, "INTERACTION_STATUS_", number)


def interaction_status_number(word: str) -> int:
    return _STATUS.Value("INTERACTION_STATUS_" + word.upper())
