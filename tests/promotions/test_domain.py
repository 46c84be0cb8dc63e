"""The promotions domain's rules as plain functions: ranking, what a display shows and when it changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from footfall.services.core.errors import InvalidArgument
from footfall.services.promotions.domain import (
    Display,
    Identification,
    NewPromotion,
    ProductHistory,
    Promotion,
    build_action,
    checked_promotion,
    display_content,
    recommend,
)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
DISPLAY = Display(1, "screen", "bakery", NOW)


def _promotion(id: int, target: str = "all", zone: str = "", days: tuple[int, int] = (-1, 1)) -> Promotion:
    return Promotion(id, f"p{id}", "", "", NOW + timedelta(days=days[0]), NOW + timedelta(days=days[1]), target,
                     zone, NOW)


def test_history_outranks_zone_order_and_ties_keep_it() -> None:
    history = {"c": ProductHistory("c", bought=0, co_occurrences=3), "d": ProductHistory("d", 2, 0)}
    assert recommend(["a", "b", "c", "d"], history, 3) == ("c", "d", "a")
    assert recommend(["a", "b"], {}, 5) == ("a", "b")
    assert recommend(["a"], {}, 0) == ()


def test_display_shows_the_personal_offer_only_while_it_lasts() -> None:
    ident = Identification("e1", 7, 0.9, "CAM", NOW)
    action = build_action(ident, "gold", "bakery", ["a"], timedelta(minutes=2))
    promotions = [_promotion(1), _promotion(2, "gold", "bakery"), _promotion(3, "silver"), _promotion(4, "gold", "dairy"),
                  _promotion(5, "all", "bakery", days=(1, 2))]
    shown = display_content(DISPLAY, action, promotions, NOW + timedelta(minutes=1))
    assert shown.personal == action and [p.id for p in shown.promotions] == [1, 2]
    assert shown.next_change_at == action.personal_until
    later = display_content(DISPLAY, action, promotions, NOW + timedelta(minutes=3))
    assert later.personal is None and [p.id for p in later.promotions] == [1]
    assert later.next_change_at == NOW + timedelta(days=1)  # promotion 1 ends, promotion 5 starts


def test_a_promotion_needs_a_title_and_a_period_that_ends_after_it_starts() -> None:
    with pytest.raises(InvalidArgument, match="validity must end after it starts"):
        checked_promotion(NewPromotion("t", "", "", NOW, NOW))
    with pytest.raises(InvalidArgument, match="title is required"):
        checked_promotion(NewPromotion("  ", "", "", NOW, NOW + timedelta(1)))
    with pytest.raises(InvalidArgument, match="target_loyalty_status"):
        checked_promotion(NewPromotion("t", "", "", NOW, NOW + timedelta(1), "diamond"))
