"""Conversion's edges that mutation testing (tests/tools/mutation.py conversion) showed untested: what a
transaction must carry, the matching window's bounds, how distances are measured, how candidates are ranked
and skipped, and what the in-memory book records. Pure functions only: no server."""

from __future__ import annotations

import dataclasses
import math

import pytest
from footfall.services.core.errors import InvalidArgument
from footfall.services.customers.conversion import (
    DEFAULT_WINDOW_S,
    MAX_AMOUNT,
    ConversionBook,
    Match,
    POSTransaction,
    Presence,
    match_journey,
    match_transaction,
    presence_distance,
)


def test_a_transaction_defaults_to_no_amount_and_no_place() -> None:
    txn = POSTransaction("t", 0.5)  # any positive time, even under a second
    assert (txn.amount, txn.zone, txn.till_id, txn.camera_id, txn.items, txn.currency) == (0.0, None, None, None, (), "")


@pytest.mark.parametrize("time", [0, -1.0, math.inf, math.nan, "1700000000", None])
def test_a_transaction_needs_a_positive_finite_time(time: object) -> None:
    with pytest.raises(InvalidArgument, match="needs a time"):
        POSTransaction("t", time)  # type: ignore[arg-type]


def test_amounts_up_to_the_maximum_either_way() -> None:
    assert MAX_AMOUNT == 1e9 and DEFAULT_WINDOW_S == 60.0
    assert POSTransaction("t", 1, MAX_AMOUNT).amount == MAX_AMOUNT
    assert POSTransaction("t", 1, -MAX_AMOUNT).amount == -MAX_AMOUNT
    for amount in (MAX_AMOUNT + 1, -MAX_AMOUNT - 1):
        with pytest.raises(InvalidArgument, match="between -1000000000 and 1000000000"):
            POSTransaction("t", 1, amount)
    for amount in (math.inf, math.nan):
        with pytest.raises(InvalidArgument, match="finite"):
            POSTransaction("t", 1, amount)


def test_item_quantities_and_prices_are_finite_numbers_within_the_maximum() -> None:
    items = ({"sku": "a", "quantity": 2, "unit_price": 3.5}, {"sku": "b", "quantity": MAX_AMOUNT}, {"sku": "c"})
    txn = POSTransaction("t", 1, items=items)  # type: ignore[arg-type]
    assert txn.items == items and txn.items[0] is not items[0]  # copied: the caller's dicts stay the caller's
    for bad in ({"quantity": "2"}, {"unit_price": math.inf}, {"unit_price": math.nan}, {"quantity": MAX_AMOUNT + 1},
                {"unit_price": -MAX_AMOUNT - 1}):
        with pytest.raises(InvalidArgument, match="item"):
            POSTransaction("t", 1, items=(bad,))


def test_transactions_presences_and_matches_cannot_be_changed() -> None:
    presence = Presence("j", 0, 10)
    assert presence.converted is False and presence.camera_id == "" and presence.zone_stays == ()
    for frozen, name in ((POSTransaction("t", 1), "amount"), (presence, "converted"), (Match("j", 0.0), "key")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(frozen, name, None)


def test_distance_is_measured_to_the_nearest_end_of_the_visit() -> None:
    visit = Presence("j", 100, 200)
    assert presence_distance(POSTransaction("before", 70), visit) == (30, 100)
    assert presence_distance(POSTransaction("inside", 150), visit) == (0.0, 100)
    assert presence_distance(POSTransaction("after", 230), visit) == (30, 100)
    still_here = Presence("active", 100, None)  # an active journey: open-ended
    assert presence_distance(POSTransaction("later", 5000), still_here) == (0.0, 100)
    assert match_transaction(POSTransaction("after", 230), [visit]) == Match("j", 30)


def test_the_default_window_includes_its_bound_on_both_sides() -> None:
    visit = Presence("j", 100, 200, (("checkout", 120, 180),))
    assert presence_distance(POSTransaction("t", 40), visit) == (60, 100)
    assert presence_distance(POSTransaction("t", 260), visit) == (60, 100)
    assert presence_distance(POSTransaction("t", 39.5), visit) is None
    assert presence_distance(POSTransaction("t", 260.5), visit) is None
    assert presence_distance(POSTransaction("t", 240, zone="checkout"), visit) == (60, 120)
    assert presence_distance(POSTransaction("t", 240.5, zone="checkout"), visit) is None


def test_a_zone_is_matched_on_its_nearest_stay_after_stays_elsewhere() -> None:
    visit = Presence("j", 0, 500, (("shelves", 0, 100), ("checkout", 100, 150), ("shelves", 150, 300),
                                    ("checkout", 300, 320)))
    assert presence_distance(POSTransaction("t", 310, zone="checkout"), visit) == (0.0, 300)
    assert presence_distance(POSTransaction("t", 160, zone="checkout"), visit) == (10, 100)
    assert presence_distance(POSTransaction("t", 310, zone="garden"), visit) is None


def test_a_camera_is_only_compared_when_both_name_one() -> None:
    unknown_camera = Presence("j", 0, 100)
    on_a = Presence("a", 0, 100, camera_id="A")
    assert match_transaction(POSTransaction("t", 50, camera_id="A"), [unknown_camera]).key == "j"  # type: ignore[union-attr]
    assert match_transaction(POSTransaction("t", 50, camera_id="A"), [on_a]).key == "a"  # type: ignore[union-attr]
    assert match_transaction(POSTransaction("t", 50), [on_a]).key == "a"  # type: ignore[union-attr]


def test_a_non_candidate_listed_first_does_not_stop_the_search() -> None:
    gone = Presence("gone", 0, 10)
    here = Presence("here", 40, 100)
    assert match_transaction(POSTransaction("t", 50), [gone, here]) == Match("here", 0.0)
    assert match_transaction(POSTransaction("t", 500), [gone, here]) is None
    assert match_transaction(POSTransaction("t", 50), []) is None


def test_the_nearest_candidate_wins_and_says_how_far() -> None:
    near = Presence("near", 0, 110)
    far = Presence("far", 0, 100)
    assert match_transaction(POSTransaction("t", 130), [far, near]) == Match("near", 20)
    assert match_transaction(POSTransaction("t", 130), [near, far]) == Match("near", 20)


def test_a_completed_journey_claims_only_the_transactions_it_wins() -> None:
    mine = Presence("mine", 0, 100)
    nearer = Presence("nearer", 0, 150)
    during, after = POSTransaction("during", 50), POSTransaction("after", 140)
    # `during` is a tie won on the lower key ("mine"); `nearer` is nearer to `after`; nobody made `never`.
    assert match_journey(mine, [during, after, POSTransaction("never", 5000)], [nearer]) == [during]
    assert match_journey(nearer, [during, after], [mine]) == [after]
    assert match_journey(mine, [during, after]) == [during, after]  # alone, it wins both


def test_the_book_records_a_transaction_once_and_remembers_its_journey() -> None:
    book = ConversionBook()
    book.add_journey(Presence("j", 0, 100))
    assert book.is_converted("j") is False and book.is_converted("unknown") is False
    assert book.add_transaction(POSTransaction("t", 50)) == "j"
    assert book.add_transaction(POSTransaction("t", 50)) == "j"  # the same id again: recorded once
    assert book.is_converted("j") is True and book.matched == {"t": "j"}
    assert book.add_transaction(POSTransaction("lost", 5000)) is None
    assert book.add_transaction(POSTransaction("lost", 5000)) is None
    assert list(book.transactions) == ["t", "lost"]


def test_a_journey_added_later_claims_pending_transactions_but_never_takes_matched_ones() -> None:
    book = ConversionBook()
    book.add_journey(Presence("first", 0, 100))
    assert book.add_transaction(POSTransaction("paid", 90)) == "first"
    book.add_transaction(POSTransaction("pending", 300))
    won = book.add_journey(Presence("second", 80, 320))  # nearer to both, but `paid` is already matched
    assert [t.transaction_id for t in won] == ["pending"]
    assert book.matched == {"paid": "first", "pending": "second"}
    assert book.is_converted("first") and book.is_converted("second")
    assert book.add_journey(Presence("third", 5000, 6000)) == []
    assert not book.is_converted("third")
