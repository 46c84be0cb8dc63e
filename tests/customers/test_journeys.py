"""Journey building from synthetic tracks and zone events: order, dwell, stitching, rules, conversion."""

from __future__ import annotations

import json

import pytest

from footfall.services.core.errors import InvalidArgument
from footfall.services.customers.behavior import DEFAULT_RULES, BehaviorRule, BehaviorRules
from footfall.services.customers.conversion import (
    NO_PURCHASE,
    PURCHASED,
    ConversionBook,
    POSTransaction,
    Presence,
    match_transaction,
)
from footfall.services.customers.journeys import (
    CustomerEntry,
    CustomerJourney,
    JourneyBuilder,
    JourneyComplete,
    JourneyConfig,
    ZoneStay,
    downsample,
    merge_stays,
)
from tests.customers.sim import Person, rect, simulate

ZONES = [rect("entrance", 0, 0, 100, 360), rect("shelves", 150, 0, 300, 200), rect("checkout", 350, 200, 480, 360)]


def run(builder: JourneyBuilder, frames) -> list:  # type: ignore[no-untyped-def]
    events = []
    for frame in frames:
        events += builder.update(frame)
    events += builder.finish()
    return events


def completes(events: list) -> list[JourneyComplete]:  # type: ignore[type-arg]
    return [e for e in events if isinstance(e, JourneyComplete)]


def shopper(track_id: int = 1, t0: float = 0.0) -> Person:
    return Person(track_id, [
        (t0, 50, 300), (t0 + 2, 50, 300), (t0 + 5, 200, 100), (t0 + 70, 210, 110), (t0 + 75, 400, 300),
        (t0 + 100, 410, 300), (t0 + 102, 470, 190),
    ])


def test_journey_has_entry_exit_zones_in_order_and_dwell() -> None:
    events = run(JourneyBuilder("cam"), simulate([shopper()], ZONES))
    assert [type(e) for e in events] == [CustomerEntry, JourneyComplete]
    entry, done = events
    j = done.journey
    assert entry.customer_id == j.customer_id and entry.session_id == j.session_id
    assert entry.timestamp == j.entry_time == 0.0
    assert j.exit_time == pytest.approx(102.0)
    assert j.total_duration == pytest.approx(102.0)
    assert j.zones_visited == ["entrance", "shelves", "checkout"]
    # Foot point crosses x=100 at t=3.0 (x = 50 + 50 (t-2)); it must be confirmed 2 frames outside.
    assert j.dwell_times["entrance"] == pytest.approx(3.1, abs=0.11)
    assert j.dwell_times["shelves"] > 60
    assert 20 < j.dwell_times["checkout"] < 30
    assert j.behavior_pattern == "browser" and j.conversion_status == NO_PURCHASE
    xs = [p[0] for p in j.path_coordinates]
    assert xs[0] == 50 and len(j.path_coordinates) <= 500 and all(0 <= x <= 480 for x in xs)
    assert entry.webhook_payload() == {"event": "customer_entry", "customer_id": j.customer_id, "timestamp": 0.0}
    assert done.webhook_payload() == {
        "event": "journey_complete", "customer_id": j.customer_id, "duration": j.total_duration,
        "behavior": "browser", "conversion": "No Purchase",
    }
    assert [s.zone for s in done.zone_stays] == j.zones_visited
    assert sorted(CustomerJourney.__dataclass_fields__) == sorted([
        "customer_id", "session_id", "entry_time", "exit_time", "total_duration", "zones_visited",
        "path_coordinates", "dwell_times", "behavior_pattern", "conversion_status",
    ])


def test_a_zone_entered_again_appears_again() -> None:
    p = Person(1, [(0, 200, 100), (10, 200, 100), (12, 400, 100), (20, 400, 100), (22, 200, 100), (30, 200, 100)])
    j = completes(run(JourneyBuilder(), simulate([p], ZONES)))[0].journey
    assert j.zones_visited == ["shelves", "shelves"]
    assert j.dwell_times["shelves"] == pytest.approx(10 + 1 + 8 + 1, abs=0.5)


def test_a_track_lost_briefly_is_stitched_into_one_visit() -> None:
    # Track 1 is lost at t=20 inside the shelves; track 2 appears 0.8 s later a few pixels away.
    a = Person(1, [(0, 50, 300), (5, 200, 100), (20, 200, 100)])
    b = Person(2, [(20.8, 205, 102), (40, 205, 102), (45, 470, 300)])
    events = run(JourneyBuilder("cam"), simulate([a, b], ZONES))
    assert sum(isinstance(e, CustomerEntry) for e in events) == 1
    (done,) = completes(events)
    assert done.track_keys == ("1", "2")
    j = done.journey
    assert j.entry_time == 0.0 and j.exit_time == pytest.approx(45.0)
    # The stay in the shelves continues across the gap: one stay, not two.
    assert j.zones_visited == ["entrance", "shelves", "checkout"]
    shelves = [s for s in done.zone_stays if s.zone == "shelves"]
    assert len(shelves) == 1 and shelves[0].seconds > 35


@pytest.mark.parametrize("second", [
    Person(2, [(25.0, 240, 110), (40, 240, 110)]),  # too late for someone who moved on
    Person(2, [(31.0, 200, 100), (40, 200, 100)]),  # too late even for someone standing still
    Person(2, [(20.8, 450, 300), (40, 450, 300)]),  # too far
    Person(2, [(18.0, 200, 100), (40, 200, 100)]),  # seen together for 2 s: two people
])
def test_a_late_or_distant_new_track_is_a_new_visit(second: Person) -> None:
    a = Person(1, [(0, 50, 300), (5, 200, 100), (20, 200, 100)])
    events = run(JourneyBuilder("cam"), simulate([a, second], ZONES))
    assert sum(isinstance(e, CustomerEntry) for e in events) == 2
    assert len(completes(events)) == 2


def test_id_switch_and_standing_still_are_stitched() -> None:
    a = Person(1, [(0, 50, 300), (5, 200, 100), (20, 200, 100)])
    switch = Person(2, [(19.8, 203, 101), (30, 300, 150)])  # new id one frame before the old one is dropped
    (done,) = completes(run(JourneyBuilder("cam"), simulate([a, switch], ZONES)))
    assert done.track_keys == ("1", "2")
    standing = Person(3, [(27.0, 203, 104), (40, 203, 104)])  # lost for 7 s, standing in the same spot
    (done,) = completes(run(JourneyBuilder("cam"), simulate([a, standing], ZONES)))
    assert done.track_keys == ("1", "3") and done.journey.total_duration == pytest.approx(40)


def test_backward_stitch_when_the_track_end_arrives_first() -> None:
    b = JourneyBuilder("cam", config=JourneyConfig(stitch_gap_s=3.0))
    out = []
    for i in range(50):
        out += b.observe("1", i * 0.1, (100 + i, 100))
    out += b.track_ended("1")
    out += b.advance(6.0)  # within the stitching gap of the last observation at 4.9
    out += b.observe("2", 6.5, (152, 100))
    out += b.observe("2", 9.0, (160, 100))
    out += b.finish()
    (done,) = completes(out)
    assert done.track_keys == ("1", "2") and done.journey.total_duration == pytest.approx(9.0)


def test_noise_tracks_are_dropped() -> None:
    blip = Person(7, [(3.0, 200, 100), (3.4, 200, 100)])
    events = run(JourneyBuilder(), simulate([blip, shopper()], ZONES))
    assert sum(isinstance(e, CustomerEntry) for e in events) == 1
    assert len(completes(events)) == 1


def test_entries_wait_for_confirmation_and_precede_completion() -> None:
    b = JourneyBuilder(config=JourneyConfig(confirm_s=2.0))
    frames = list(simulate([shopper()], ZONES))
    first_entry = None
    for f in frames:
        if any(isinstance(e, CustomerEntry) for e in b.update(f)):
            first_entry = f.timestamp
    assert first_entry == pytest.approx(2.0)
    assert b.total_entries == 1 and b.peak_occupancy == 1


def test_active_customers_and_occupancy() -> None:
    b = JourneyBuilder()
    people = [shopper(1), shopper(2, t0=1.0), shopper(3, t0=50.0)]
    for f in simulate(people, ZONES):
        b.update(f)
        if f.timestamp == pytest.approx(60.0):
            active = b.active_journeys()
            assert len(active) == 3 and b.occupancy == 3
            assert all(j.exit_time is None and j.conversion_status == "Pending" for j in active.values())
    assert b.peak_occupancy == 3
    assert not b.active_journeys()


def test_state_round_trip_gives_the_same_journeys() -> None:
    people = [Person(1, [(0, 50, 300), (5, 200, 100), (20, 200, 100)]),
              Person(2, [(20.8, 205, 102), (40, 205, 102), (45, 470, 300)]), shopper(3, t0=10)]
    straight = completes(run(JourneyBuilder("cam"), simulate(people, ZONES)))
    b = JourneyBuilder("cam")
    events = []
    for f in simulate(people, ZONES):
        events += b.update(f)
        if f.frame_index % 37 == 0:  # save and restore often, through JSON
            b = JourneyBuilder.from_state(json.loads(json.dumps(b.to_state())), "cam")
    events += b.finish()
    restored = completes(events)

    def key(d: JourneyComplete) -> tuple:  # type: ignore[type-arg]
        j = d.journey
        return (j.entry_time, j.exit_time, j.zones_visited, j.dwell_times, d.track_keys, len(j.path_coordinates))

    assert sorted(map(key, restored)) == sorted(map(key, straight))


def test_online_events_only_zone_and_track_end() -> None:
    """Without per-frame positions (NATS), a journey comes from zone events and the track end's path."""
    b = JourneyBuilder("cam", config=JourneyConfig(confirm_s=3.0, open_tracks_present=True))
    out = []
    out += b.zone_entered("s1-1", "shelves", 1000.0)
    out += b.advance(1002.0)
    assert out == []
    out += b.advance(1003.5)
    assert [type(e) for e in out] == [CustomerEntry]
    out += b.zone_exited("s1-1", "shelves", 1030.0, 30.0)
    path = [(999.0 + i, 100.0 + i, 100.0) for i in range(40)]
    out += b.track_ended("s1-1", 999.0, 1038.0, path)
    out += b.zone_exited("s1-1", "shelves", 1030.0, 30.0)  # redelivered late: no double count
    out += b.advance(1050.0)
    done = completes(out)[0]
    assert done.journey.entry_time == 999.0 and done.journey.exit_time == 1038.0
    assert done.journey.dwell_times == {"shelves": 30.0}
    assert len(done.journey.path_coordinates) == 40
    assert b.zone_entered("s1-1", "shelves", 1050.0) == [] and b.advance(1100.0) == []  # a finished track


def test_merge_stays_and_downsample() -> None:
    stays = [ZoneStay("a", 0, 5), ZoneStay("b", 3, 8), ZoneStay("a", 6, 9), ZoneStay("a", 20, 22)]
    assert merge_stays(stays, 2.0) == [ZoneStay("a", 0, 9), ZoneStay("b", 3, 8), ZoneStay("a", 20, 22)]
    pts = [(i, i) for i in range(1000)]
    thin = downsample(pts, 10)
    assert len(thin) == 10 and thin[0] == (0, 0) and thin[-1] == (999, 999)


# ---- behaviour rules -------------------------------------------------------------------------------

def journey(duration: float, zones: list[str], dwell: dict[str, float] | None = None) -> CustomerJourney:
    return CustomerJourney("c", "s", 0.0, duration, duration, zones, [], dwell or {}, "", "")


def test_default_rules() -> None:
    assert DEFAULT_RULES.classify(journey(30, ["a", "b", "c"])) == "quick visit"
    assert DEFAULT_RULES.classify(journey(900, ["a", "b", "c"])) == "engaged"
    assert DEFAULT_RULES.classify(journey(300, ["electronics"], {"electronics": 250})) == "destination shopper"
    assert DEFAULT_RULES.classify(journey(300, ["a", "b", "c"], {"a": 100, "b": 100, "c": 100})) == "browser"


def test_rules_from_toml_json_and_callables(tmp_path) -> None:  # type: ignore[no-untyped-def]
    toml = tmp_path / "rules.toml"
    toml.write_text('''
default = "Regular Customer"

[[rules]]
label = "VIP Customer"
zones_all = ["vip_area"]
min_duration = 600

[[rules]]
label = "Bargain Hunter"
zones_any = ["clearance"]

[[rules]]
label = "Straight to pay"
sequence = ["entrance", "checkout"]
max_zones = 2
min_dwell = { checkout = 30 }
''')
    rules = BehaviorRules.load(toml)
    assert rules.classify(journey(700, ["vip_area", "clearance"])) == "VIP Customer"
    assert rules.classify(journey(100, ["vip_area", "clearance"])) == "Bargain Hunter"
    assert rules.classify(journey(100, ["entrance", "checkout"], {"checkout": 40})) == "Straight to pay"
    assert rules.classify(journey(100, ["checkout", "entrance"], {"checkout": 40})) == "Regular Customer"
    as_json = tmp_path / "rules.json"
    as_json.write_text(json.dumps(rules.to_dict()))
    assert BehaviorRules.load(as_json) == rules

    def custom(j: CustomerJourney) -> str | None:  # the seed's custom_behavior_classification style
        return "Window Shopper" if j.total_duration and j.total_duration < 10 else None

    mixed = BehaviorRules((custom, BehaviorRule("slow", min_duration=10)), "other")
    assert mixed.classify(journey(5, [])) == "Window Shopper"
    assert mixed.classify(journey(50, [])) == "slow"
    with pytest.raises(InvalidArgument):
        BehaviorRules.from_dict({"rules": [{"label": "x", "max_durration": 3}]})
    with pytest.raises(InvalidArgument):
        BehaviorRule("x", min_duration=-1)


def test_builder_applies_custom_rules() -> None:
    rules = BehaviorRules((BehaviorRule("checkout visitor", zones_any=("checkout",)),), "other")
    j = completes(run(JourneyBuilder(rules=rules), simulate([shopper()], ZONES)))[0].journey
    assert j.behavior_pattern == "checkout visitor"


# ---- conversion ----------------------------------------------------------------------------------

def test_transaction_in_a_zone_converts_the_person_at_the_till() -> None:
    browsing = Presence("browsing", 0, 100, (("shelves", 10, 100),))
    paying = Presence("paying", 20, 100, (("shelves", 25, 60), ("checkout", 60, 95)))
    txn = POSTransaction("t1", 80.0, 12.5, zone="checkout")
    assert match_transaction(txn, [browsing, paying]).key == "paying"  # type: ignore[union-attr]
    # Without a zone, both were present: the first to arrive wins the tie.
    assert match_transaction(POSTransaction("t2", 80.0), [paying, browsing]).key == "browsing"  # type: ignore[union-attr]
    # Within the window after leaving the zone, not beyond it.
    assert match_transaction(POSTransaction("t3", 120.0, zone="checkout"), [paying], 60).key == "paying"  # type: ignore[union-attr]
    assert match_transaction(POSTransaction("t4", 200.0, zone="checkout"), [paying], 60) is None
    # Another camera's journeys are not candidates when the transaction names a camera.
    other = Presence("elsewhere", 0, 100, (("checkout", 60, 95),), camera_id="B")
    assert match_transaction(POSTransaction("t5", 80.0, zone="checkout", camera_id="A"), [other]) is None


def test_queue_head_and_unconverted_win_ties() -> None:
    first = Presence("first", 0, 100, (("checkout", 50, 100),))
    second = Presence("second", 0, 100, (("checkout", 55, 100),))
    assert match_transaction(POSTransaction("a", 70, zone="checkout"), [second, first]).key == "first"  # type: ignore[union-attr]
    first_done = Presence("first", 0, 100, (("checkout", 50, 100),), converted=True)
    assert match_transaction(POSTransaction("b", 70, zone="checkout"), [first_done, second]).key == "second"  # type: ignore[union-attr]


def test_builder_converts_with_transactions_recorded_before_and_after() -> None:
    book = ConversionBook()
    book.add_transaction(POSTransaction("early", 90.0, 20.0, zone="checkout"))  # before the journey completes
    b = JourneyBuilder(conversions=book)
    (done,) = completes(run(b, simulate([shopper()], ZONES)))
    assert done.journey.conversion_status == PURCHASED
    assert book.matched["early"] == done.journey.session_id
    # A later sale during the visit matches the stored journey too.
    assert book.add_transaction(POSTransaction("late", 95.0, 5.0, zone="checkout")) == done.journey.session_id
    assert book.add_transaction(POSTransaction("nobody", 500.0, 5.0)) is None
    with pytest.raises(InvalidArgument):
        POSTransaction("", 1.0)
