"""Organisations: every row, vector and event belongs to exactly one."""

from __future__ import annotations

import re

from footfall.services.core.errors import InvalidArgument

ORG_METADATA_KEY = "x-footfall-org"
ORG_HTTP_HEADER = "X-Footfall-Org"
_ORG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def validate_org(org: str) -> str:
    """Return `org` when it is a valid organisation id (lower-case letters, digits, `-`, `_`; it is a NATS subject token)."""
    if not isinstance(org, str) or not _ORG_RE.match(org):
        raise InvalidArgument(
            f"invalid organisation id {org!r}: use 1-63 lower-case letters, digits, '-' or '_'"
        )
    return org
