"""Conversion: POS transactions matched to the journeys present when they happened.

Matching rule (one transaction converts at most one journey; a journey may have several):

1. **Candidates.** A journey is a candidate for a transaction at time ``t`` when ``t`` falls within
   ``[entry_time - window, exit_time + window]`` (an active journey has no exit yet: its interval is
   open-ended). ``window`` (default :data:`DEFAULT_WINDOW_S`, 60 s) absorbs the clock difference between
   the till and the cameras and the moment between paying and being seen leaving.
2. **Zone.** When the transaction names a zone (the checkout zone of its till), only journeys that were
   in that zone at ``t`` (again within ``window``) are candidates, and distances are measured against
   their stays in that zone. A transaction without a zone matches on the visit alone.
   A transaction that names a camera only matches journeys from that camera.
3. **Choice.** Among candidates the one whose interval is nearest to ``t`` wins (0 when ``t`` lies
   inside). Ties go to a journey that is not converted yet, then to the one that arrived first (the
   head of the queue), then to the lower journey key.

Matching runs in both orders: a journey completing looks for unmatched transactions recorded during its
visit, and a transaction recorded later looks among the journeys already stored. A converted journey's
``conversion_status`` is :data:`PURCHASED` (the seed's reports count ``conversion LIKE '%Purchased%'``);
a completed journey without a transaction is :data:`NO_PURCHASE`; an active one is :data:`PENDING`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from footfall.services.core.errors import InvalidArgument

PURCHASED = "Purchased"
NO_PURCHASE = "No Purchase"
PENDING = "Pending"
#: Largest amount (and item quantity or price) a transaction may carry: the column is numeric(16, 4), and a
#: journey's purchase amount is the sum of its transactions, so one sale stays far below 10^12.
MAX_AMOUNT = 1e9
DEFAULT_WINDOW_S = 60.0


@dataclass(frozen=True)
class POSTransaction:
    """A sale posted by a point of sale. ``time`` is Unix seconds."""

    transaction_id: str
    time: float
    amount: float = 0.0
    zone: str | None = None
    till_id: str | None = None
    camera_id: str | None = None
    items: tuple[dict[str, Any], ...] = ()
    currency: str = ""

    def __post_init__(self) -> None:
        if not self.transaction_id:
            raise InvalidArgument("a transaction needs a transaction_id")
        if not isinstance(self.time, (int, float)) or not math.isfinite(self.time) or self.time <= 0:
            raise InvalidArgument("a transaction needs a time (Unix seconds)")
        if not math.isfinite(self.amount):
            raise InvalidArgument("amount must be a finite number")
        if abs(self.amount) > MAX_AMOUNT:
            raise InvalidArgument(f"amount must be between -{MAX_AMOUNT:.0f} and {MAX_AMOUNT:.0f}")
        for item in self.items:
            for name in ("quantity", "unit_price"):
                value = item.get(name, 0)
                if not isinstance(value, (int, float)) or not math.isfinite(value) or abs(value) > MAX_AMOUNT:
                    raise InvalidArgument(f"item {name} must be a finite number within ±{MAX_AMOUNT:.0f}")
        object.__setattr__(self, "items", tuple(dict(i) for i in self.items))


@dataclass(frozen=True)
class Presence:
    """A journey as conversion matching sees it: when it was there and when it was in which zone."""

    key: Any
    entry_time: float
    exit_time: float | None
    zone_stays: tuple[tuple[str, float, float | None], ...] = ()
    camera_id: str = ""
    converted: bool = False


@dataclass(frozen=True)
class Match:
    key: Any
    distance_s: float


def _distance(t: float, start: float, end: float | None) -> float:
    if t < start:
        return start - t
    if end is not None and t > end:
        return t - end
    return 0.0


def presence_distance(txn: POSTransaction, presence: Presence, window_s: float = DEFAULT_WINDOW_S) -> tuple[float, float] | None:
    """(distance in seconds, arrival time) when ``presence`` is a candidate for ``txn``, else None."""
    if txn.camera_id and presence.camera_id and txn.camera_id != presence.camera_id:
        return None
    if txn.zone:
        best: tuple[float, float] | None = None
        for zone, start, end in presence.zone_stays:
            if zone != txn.zone:
                continue
            d = _distance(txn.time, start, end)
            if d <= window_s and (best is None or (d, start) < best):
                best = (d, start)
        return best
    d = _distance(txn.time, presence.entry_time, presence.exit_time)
    return (d, presence.entry_time) if d <= window_s else None


def match_transaction(
    txn: POSTransaction, candidates: Iterable[Presence], window_s: float = DEFAULT_WINDOW_S
) -> Match | None:
    """The journey ``txn`` converts under the module's rule, or None."""
    best: tuple[tuple[float, bool, float, str], Presence] | None = None
    for presence in candidates:
        found = presence_distance(txn, presence, window_s)
        if found is None:
            continue
        distance, arrival = found
        rank = (distance, presence.converted, arrival, str(presence.key))
        if best is None or rank < best[0]:
            best = (rank, presence)
    if best is None:
        return None
    return Match(best[1].key, best[0][0])


def match_journey(
    presence: Presence, transactions: Sequence[POSTransaction], others: Sequence[Presence] = (),
    window_s: float = DEFAULT_WINDOW_S,
) -> list[POSTransaction]:
    """The unmatched ``transactions`` that convert ``presence`` (a journey that just completed).

    Each transaction is matched among ``presence`` and ``others`` (the other journeys that could have
    made it); only those whose best match is ``presence`` are returned.
    """
    won = []
    for txn in transactions:
        match = match_transaction(txn, [presence, *others], window_s)
        if match is not None and match.key == presence.key:
            won.append(txn)
    return won


@dataclass
class ConversionBook:
    """In-memory matching for offline use (the seed's ``CustomerTracker``): transactions and journeys."""

    window_s: float = DEFAULT_WINDOW_S
    transactions: dict[str, POSTransaction] = field(default_factory=dict)
    matched: dict[str, Any] = field(default_factory=dict)  # transaction_id -> journey key
    presences: dict[Any, Presence] = field(default_factory=dict)

    def add_transaction(self, txn: POSTransaction) -> Any | None:
        """Record ``txn`` (idempotent by id) and match it to a known journey; returns the journey key."""
        if txn.transaction_id in self.transactions:
            return self.matched.get(txn.transaction_id)
        self.transactions[txn.transaction_id] = txn
        match = match_transaction(txn, self.presences.values(), self.window_s)
        if match is None:
            return None
        self._convert(txn, match.key)
        return match.key

    def add_journey(self, presence: Presence) -> list[POSTransaction]:
        """Record a completed journey and claim the unmatched transactions it converts."""
        self.presences[presence.key] = presence
        pending = [t for tid, t in self.transactions.items() if tid not in self.matched]
        others = [p for k, p in self.presences.items() if k != presence.key]
        won = match_journey(presence, pending, others, self.window_s)
        for txn in won:
            self._convert(txn, presence.key)
        return won

    def _convert(self, txn: POSTransaction, key: Any) -> None:
        self.matched[txn.transaction_id] = key
        p = self.presences[key]
        if not p.converted:
            self.presences[key] = Presence(p.key, p.entry_time, p.exit_time, p.zone_stays, p.camera_id, True)

    def is_converted(self, key: Any) -> bool:
        p = self.presences.get(key)
        return bool(p and p.converted)
