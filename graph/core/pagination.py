"""One pagination style for every GraphQL list: Relay connections with a total count.

    cameras(first: 20, after: $cursor) {
      totalCount
      edges { cursor node { id cameraName } }
      pageInfo { hasNextPage endCursor }
    }

Two kinds of list reach the gateway. Lists a service answers whole (cameras, lines, alerts, history) are
sliced here: every edge has a cursor and `totalCount` is exact. Lists a service pages itself (journeys,
deliveries, accounts) resume from the service's page token: only the last edge carries a cursor (the
token), and `totalCount` is null unless the service counts. Either way `pageInfo.endCursor` is what to pass
as `after` for the next page, so clients never need to know which kind a list is.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Annotated, Generic, TypeVar

import strawberry
from footfall.services.core.errors import InvalidArgument

T = TypeVar("T")

#: The largest page any list answers; bigger `first` values are refused (BAD_USER_INPUT).
MAX_FIRST = 1000
#: The page size of a list whose `first` is not given.
DEFAULT_FIRST = 100

_OFFSET_PREFIX = "o:"

FirstArg = Annotated[
    int, strawberry.argument(description=f"Page size, 1..{MAX_FIRST}")
]
AfterArg = Annotated[
    str | None, strawberry.argument(description="`pageInfo.endCursor` of the previous page")
]


@strawberry.type(description="Where a page ends and whether another follows.")
class PageInfo:
    has_next_page: bool
    end_cursor: str | None = strawberry.field(description="Pass as `after` for the next page; null on the last")


@strawberry.type(description="One item of a page.")
class Edge(Generic[T]):
    node: T
    cursor: str | None = strawberry.field(
        description="Resume after this item; null inside a page of a list the service pages itself"
    )


@strawberry.type(description="A page of a list (Relay connection).")
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    total_count: int | None = strawberry.field(description="Items in the whole list; null where not counted")

    @strawberry.field(description="The page's items without their edges (shorthand for `edges { node }`)")
    def nodes(self) -> list[T]:
        return [e.node for e in self.edges]

    @classmethod
    def of_page(cls, nodes: Sequence[T], next_token: str, total: int | None = None) -> Connection[T]:
        """A page a service answered, with its token for the next page (empty on the last)."""
        last = len(nodes) - 1
        token = next_token or None
        return cls(
            edges=[Edge(node=n, cursor=token if i == last else None) for i, n in enumerate(nodes)],
            page_info=PageInfo(has_next_page=token is not None, end_cursor=token),
            total_count=total,
        )

    @classmethod
    def of_list(cls, items: Sequence[T], first: int, after: str | None) -> Connection[T]:
        """`first` items of a whole list after the cursor `after`; every edge has its own cursor."""
        start = offset_after(after)
        page = items[start : start + check_first(first)]
        end = start + len(page)
        return cls(
            edges=[Edge(node=n, cursor=offset_cursor(start + i + 1)) for i, n in enumerate(page)],
            page_info=PageInfo(
                has_next_page=end < len(items), end_cursor=offset_cursor(end) if end < len(items) else None
            ),
            total_count=len(items),
        )


def check_first(first: int, most: int = MAX_FIRST) -> int:
    if not 1 <= first <= most:
        raise InvalidArgument(f"first must be between 1 and {most}")
    return first


def offset_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"{_OFFSET_PREFIX}{offset}".encode()).decode().rstrip("=")


def offset_after(cursor: str | None) -> int:
    """Where the page after `cursor` starts (0 without one); a cursor this list never gave -> BAD_USER_INPUT."""
    if cursor is None or cursor == "":
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, ValueError, UnicodeError):
        raise InvalidArgument("after is not a cursor of this list") from None
    digits = text.removeprefix(_OFFSET_PREFIX)
    if not text.startswith(_OFFSET_PREFIX) or not digits.isdigit() or len(digits) > 9:
        raise InvalidArgument("after is not a cursor of this list")
    return int(digits)


__all__ = ["DEFAULT_FIRST", "MAX_FIRST", "AfterArg", "Connection", "Edge", "FirstArg", "PageInfo", "check_first"]
