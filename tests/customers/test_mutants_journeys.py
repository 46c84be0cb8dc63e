"""The journey builder's edges that mutation testing (tests/tools/mutation.py journeys) showed untested: a zone
stay's length, what cannot be changed once made, the configuration's defaults and limits, where exactly a new track
continues an ended one, zone exits without their entry, track ends known only by their path, when a visit is
announced and completed, how long completed tracks are remembered, and a journey's numbers. No server."""

from __future__ import annotations

import dataclasses
import re
from types import SimpleNamespace

import pytest
from footfall.services.customers.journeys import (
    CustomerEntry,
    CustomerJourney,
    JourneyBuilder,
    JourneyComplete,
    JourneyConfig,
    ZoneStay,
    merge_stays,
    natural_ids,
)


def test_a_zone_stay_lasts_from_its_entry_to_its_exit_and_never_less_than_nothing() -> None:
    assert ZoneStay("shelves", 10.0, 15.5).seconds == 5.5
    assert ZoneStay("shelves", 10.0, None).seconds == 0.0  # still inside: nothing to count yet
    assert ZoneStay("shelves", 10.0, 9.0).seconds == 0.0  # an exit stamped before its entry (clock jitter)


def test_stays_events_and_configuration_cannot_be_changed_once_made() -> None:
    journey = CustomerJourney("c", "s", 0.0, 1.0, 1.0, [], [], {}, "browser", "No Purchase")
    for frozen, name in ((ZoneStay("z", 0.0, 1.0), "zone"), (CustomerEntry("c", "s", "cam", 0.0), "timestamp"),
                         (JourneyComplete(journey, "cam", (), ()), "camera_id"), (JourneyConfig(), "confirm_s")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(frozen, name, None)


def test_the_default_journey_configuration() -> None:
    assert dataclasses.asdict(JourneyConfig()) == {
        "stitch_gap_s": 2.0, "stitch_distance_px": 80.0, "stitch_overlap_s": 0.5, "stationary_gap_s": 10.0,
        "stationary_distance_px": 25.0, "confirm_s": 3.0, "min_duration_s": 1.0, "path_sample_s": 0.5,
        "max_path_points": 500, "open_tracks_present": False, "present_s": 1.0, "done_keep_s": 600.0,
        "done_keep_max": 2000,
    }
    assert JourneyConfig().hold_s == 10.0 and JourneyConfig(stationary_gap_s=0).hold_s == 2.0


def test_the_configuration_limits_are_inclusive() -> None:
    JourneyConfig(max_path_points=2, done_keep_max=0, confirm_s=0, min_duration_s=0)  # the smallest allowed
    for bad in ({"max_path_points": 1}, {"done_keep_max": -1}, {"confirm_s": -0.1}, {"present_s": float("nan")},
                {"stitch_gap_s": float("inf")}, {"done_keep_s": "600"}):
        with pytest.raises(ValueError):
            JourneyConfig(**bad)  # type: ignore[arg-type]


def test_a_track_continues_another_up_to_each_bound_inclusive() -> None:
    cfg = JourneyConfig()
    assert cfg.continues(-0.5, 0.0) is True  # an id switch: the new track began half a second before
    assert cfg.continues(-0.51, 0.0) is False
    assert cfg.continues(2.0, 80.0) is True  # a short gap, moved a little
    assert cfg.continues(2.01, 80.0) is False and cfg.continues(2.0, 80.1) is False
    assert cfg.continues(10.0, 25.0) is True  # standing still: a long gap, hardly moved
    assert cfg.continues(10.01, 25.0) is False and cfg.continues(5.0, 25.1) is False


def test_a_track_seen_nowhere_never_continues_another() -> None:
    b = JourneyBuilder("cam")
    b.observe("a", 0.0, (100.0, 100.0))
    b.observe("a", 5.0, (100.0, 100.0))
    b.track_ended("a")
    b.zone_exited("b", "shelves", 6.0)  # no position: it cannot be placed near where `a` ended
    done = [e for e in b.finish() if isinstance(e, JourneyComplete)]
    assert [c.track_keys for c in done] == [("a",)]  # `b`, seen for an instant only, is noise


def test_stays_in_one_zone_exactly_the_gap_apart_are_one_stay() -> None:
    assert merge_stays([ZoneStay("a", 0.0, 10.0), ZoneStay("a", 12.0, 20.0)], 2.0) == [ZoneStay("a", 0.0, 20.0)]
    assert merge_stays([ZoneStay("a", 0.0, 10.0), ZoneStay("a", 12.5, 20.0)], 2.0) == [
        ZoneStay("a", 0.0, 10.0), ZoneStay("a", 12.5, 20.0)]
    # Joined onto a stay that has not ended: the joined stay has not ended either.
    assert merge_stays([ZoneStay("a", 0.0, 10.0), ZoneStay("a", 11.0, None)], 2.0) == [ZoneStay("a", 0.0, None)]


def test_random_ids_and_natural_ids_are_a_prefix_and_16_hex_digits() -> None:
    b = JourneyBuilder("cam", config=JourneyConfig(confirm_s=0.0))
    b.observe("t1", 0.0, (10.0, 10.0))
    [entry] = b.advance(0.0)
    assert re.fullmatch(r"visit_[0-9a-f]{16}", entry.session_id)  # type: ignore[union-attr]
    assert re.fullmatch(r"cust_[0-9a-f]{16}", entry.customer_id)  # type: ignore[union-attr]
    ids = natural_ids("org-1/GATE_A")
    visit = ids("visit", "sess-1:7")
    assert re.fullmatch(r"visit_[0-9a-f]{16}", visit)
    assert visit == natural_ids("org-1/GATE_A")("visit", "sess-1:7")  # a replay rebuilds the same ids
    assert visit not in (ids("visit", "sess-1:8"), natural_ids("org-1/GATE_B")("visit", "sess-1:7"))
    assert ids("cust", "sess-1:7") == "cust_" + visit.removeprefix("visit_")


def test_a_new_builder_has_seen_nobody() -> None:
    b = JourneyBuilder("cam")
    assert (b.total_entries, b.peak_occupancy, b.occupancy, b.now, b.idle, b.waiting) == (0, 0, 0, None, True, False)


def test_frame_tracks_count_as_observed_unless_they_say_otherwise() -> None:
    b = JourneyBuilder("cam")
    for i in range(21):  # two seconds at 10 fps: the foot point (box centre, bottom) of a plain track ...
        seen = SimpleNamespace(track_id=1, xyxy=(100.0, 50.0, 140.0, 250.0 + i, 0.9))  # with a score
        predicted = SimpleNamespace(track_id=2, xyxy=(300.0, 50.0, 340.0, 250.0), observed=False)  # ... not this
        b.update(SimpleNamespace(timestamp=i / 10, tracks=[seen, predicted]))
    [done] = [e for e in b.finish() if isinstance(e, JourneyComplete)]
    assert done.track_keys == ("1",) and done.journey.total_duration == 2.0
    assert done.journey.path_coordinates[0] == (120.0, 250.0) and b.peak_occupancy == 1


def test_finishing_runs_the_clock_past_every_hold_from_the_latest_time_seen() -> None:
    cfg = JourneyConfig()
    tail = cfg.hold_s + cfg.confirm_s + 1.0
    b = JourneyBuilder("cam")
    b.observe("a", 0.0, (10.0, 10.0))  # the stream's clock starts at 0
    b.finish()
    assert b.now == tail
    later = JourneyBuilder("cam")
    later.observe("a", 0.0, (10.0, 10.0))
    later.finish(20.0)  # the caller's clock is ahead of every event
    assert later.now == 20.0 + tail
    advanced = JourneyBuilder("cam")
    advanced.observe("a", 1.0, (10.0, 10.0))
    advanced.advance(5.0)  # the stream went on after the last event
    advanced.finish()
    assert advanced.now == 5.0 + tail


def test_occupancy_counts_open_visits_seen_lately_that_lasted_long_enough() -> None:
    b = JourneyBuilder("cam", config=JourneyConfig(stationary_gap_s=0))  # offline: present up to the last sighting
    for key, x, times in (("gone", 0.0, (10.0, 12.0)), ("stale", 200.0, (9.5, 10.9)), ("edge", 400.0, (10.0, 11.0)),
                          ("brief", 600.0, (11.5, 12.0))):
        for t in times:
            b.observe(key, t, (x, 100.0))
        if key == "gone":
            b.track_ended("gone")  # over, awaiting completion: not in view
    # At 12.0: `stale` was last seen 1.1 s ago (more than present_s), `brief` lasted 0.5 s (less than
    # min_duration_s); `edge` was seen exactly present_s ago and lasted exactly min_duration_s.
    assert b.now == 12.0 and b.occupancy == 1


def test_a_confirmed_visit_is_in_view_however_short() -> None:
    b = JourneyBuilder("cam", config=JourneyConfig(confirm_s=0.5))
    b.observe("a", 0.0, (10.0, 10.0))
    b.observe("a", 0.6, (10.0, 10.0))
    assert [type(e) for e in b.advance(0.6)] == [CustomerEntry]
    assert b.occupancy == 1  # lasted 0.6 s, under min_duration_s, but announced


def test_saved_state_is_versioned_and_missing_counters_start_at_zero() -> None:
    b = JourneyBuilder("cam")
    b.observe("a", 0.0, (10.0, 10.0))
    state = b.to_state()
    assert state["v"] == 1 and state["now"] == 0.0
    restored = JourneyBuilder.from_state({"now": 5.0}, "cam")
    assert (restored.now, restored.total_entries, restored.peak_occupancy) == (5.0, 0, 0)


def test_a_builder_waits_on_time_while_a_visit_is_unconfirmed_or_over_and_idles_once_all_completed() -> None:
    b = JourneyBuilder("cam", config=JourneyConfig(stationary_gap_s=0))
    b.observe("a", 0.0, (10.0, 10.0))
    assert (b.waiting, b.idle) == (True, False)  # to be confirmed
    b.observe("a", 3.0, (10.0, 10.0))
    assert [type(e) for e in b.advance(3.0)] == [CustomerEntry]
    assert (b.waiting, b.idle) == (False, False)  # confirmed and open: it waits on events now
    b.track_ended("a")
    assert (b.waiting, b.idle) == (True, False)  # over: completes once the stitch window has passed
    assert [type(e) for e in b.advance(10.0)] == [JourneyComplete]
    assert (b.waiting, b.idle) == (False, True)


def test_a_new_track_near_a_track_still_open_is_someone_else() -> None:
    b = JourneyBuilder("cam")
    b.observe("a", 0.0, (100.0, 100.0))
    b.observe("a", 1.0, (100.0, 100.0))
    b.observe("b", 1.5, (105.0, 100.0))  # half a second later, 5 px away, while `a` is still open
    b.observe("b", 5.0, (105.0, 100.0))
    assert len(b.advance(5.0)) == 2  # two customers announced
    done = [e for e in b.finish() if isinstance(e, JourneyComplete)]
    assert sorted(c.track_keys for c in done) == [("a",), ("b",)]


def test_a_new_track_continues_the_visit_of_the_last_track_that_ended_near_it() -> None:
    b = JourneyBuilder("cam")
    b.observe("open", 0.0, (900.0, 900.0))  # someone else, still in view: never a candidate
    b.observe("a", 0.0, (100.0, 100.0))
    b.observe("a", 2.0, (100.0, 100.0))
    b.track_ended("a")
    b.observe("a2", 2.5, (110.0, 100.0))  # re-found: continues `a`
    b.observe("a2", 5.0, (400.0, 100.0))
    b.track_ended("a2")
    b.observe("c", 5.5, (405.0, 100.0))  # near where `a2` ended (not `a`): continues the visit again
    b.observe("c", 6.0, (405.0, 100.0))
    b.observe("open", 6.0, (900.0, 900.0))
    done = [e for e in b.finish() if isinstance(e, JourneyComplete)]
    assert sorted(c.track_keys for c in done) == [("a", "a2", "c"), ("open",)]


def test_a_path_keeps_a_point_per_sample_period_rounded_and_its_first_point() -> None:
    b = JourneyBuilder("cam")
    for t, x in ((0.12345, 10.26), (0.37345, 20.0), (0.62345, 30.0), (0.87345, 40.0), (1.12345, 50.04)):
        b.observe("a", t, (x, 20.26))
    track = b.to_state()["tracks"]["a"]
    assert track["path"] == [[0.123, 10.3, 20.3], [0.623, 30.0, 20.3], [1.123, 50.0, 20.3]]
    assert (track["first_point"], track["last_point"]) == ([10.26, 20.26], [50.0, 20.3])  # the first as seen


def test_a_track_first_known_without_a_position_takes_its_first_observed_one() -> None:
    b = JourneyBuilder("cam")
    b.zone_entered("a", "shelves", 0.0)  # no position in the event
    b.observe("a", 1.0, (10.0, 20.0))
    assert b.to_state()["tracks"]["a"]["first_point"] == [10.0, 20.0]


def _stays(b: JourneyBuilder, key: str) -> list[list[object]]:
    return b.to_state()["tracks"][key]["stays"]  # type: ignore[no-any-return]


def test_entering_a_zone_again_while_inside_it_is_ignored_and_exits_close_their_own_zone() -> None:
    b = JourneyBuilder("cam")
    b.zone_entered("a", "shelves", 1.0, (10.0, 20.0))
    b.zone_entered("a", "shelves", 2.0)  # said twice: still the one stay
    b.zone_entered("a", "checkout", 3.0)  # another zone while inside the first: a second stay
    b.zone_exited("a", "shelves", 4.0)
    assert _stays(b, "a") == [["shelves", 1.0, 4.0], ["checkout", 3.0, None]]
    assert b.to_state()["tracks"]["a"]["path"] == [[1.0, 10.0, 20.0]]  # an entry with a position is a sighting


def test_an_exit_whose_entry_was_never_seen_is_dated_by_its_dwell() -> None:
    b = JourneyBuilder("cam")
    b.zone_exited("b", "shelves", 10.0, dwell_s=4.0)  # the first news of `b`
    assert _stays(b, "b") == [["shelves", 6.0, 10.0]] and b.to_state()["tracks"]["b"]["first_time"] == 6.0
    b.zone_exited("b", "shelves", 10.0, dwell_s=4.0)  # redelivered: the stay is there already
    assert _stays(b, "b") == [["shelves", 6.0, 10.0]]
    b.zone_exited("c", "shelves", 10.0)  # no dwell either: an instant at the exit
    assert _stays(b, "c") == [["shelves", 10.0, 10.0]] and b.to_state()["tracks"]["c"]["first_time"] == 10.0


def test_an_exit_without_its_entry_is_added_unless_a_stay_of_that_zone_overlaps_it() -> None:
    b = JourneyBuilder("cam")
    b.zone_entered("a", "shelves", 0.0)
    b.zone_exited("a", "shelves", 2.0)
    b.zone_entered("a", "checkout", 6.0)
    b.zone_exited("a", "checkout", 9.0)
    b.zone_exited("a", "shelves", 10.0, dwell_s=3.0)  # 7..10: after the first shelves stay, over checkout's
    b.zone_exited("a", "checkout", 6.0, dwell_s=1.0)  # 5..6: checkout's stay began as this one ended
    b.zone_exited("a", "checkout", 5.0 - 0.01, dwell_s=1.0)  # 3.99..4.99: nowhere near it
    assert _stays(b, "a") == [["shelves", 0.0, 2.0], ["checkout", 6.0, 9.0], ["shelves", 7.0, 10.0],
                              ["checkout", 3.99, 4.99]]
    b.zone_exited("a", "shelves", 5.0, dwell_s=3.0)  # 2..5: begins as the first shelves stay ended
    assert len(_stays(b, "a")) == 4
    b.zone_exited("a", "shelves", 12.0, dwell_s=4.5)  # 7.5..12 overlaps 7..10: the same stay
    b.zone_exited("a", "shelves", 16.0, dwell_s=6.0 - 0.0015)  # 10.0015..16: more than a millisecond after
    assert [s[1:] for s in _stays(b, "a")[4:]] == [[pytest.approx(10.0015), 16.0]]


def _ended_at(b: JourneyBuilder, x: float, t: float) -> None:
    """Track `a` seen from 0 to `t`, ending at (`x`, 100)."""
    b.observe("a", 0.0, (x, 100.0))
    b.observe("a", t, (x, 100.0))
    b.track_ended("a")


def test_a_track_first_known_by_its_end_is_placed_by_its_path() -> None:
    b = JourneyBuilder("cam")
    _ended_at(b, 100.0, 2.0)
    # Half a second later, 50 px away (close enough for a short gap only): continues `a`.
    b.track_ended("b", path=[(2.5, 150.06, 100.06), (4.0, 300.0, 300.0), (5.0, 400.0, 400.0)])
    track = b.to_state()["tracks"]["b"]
    assert (track["first_time"], track["last_time"], track["first_point"], track["ended"]) == (
        2.5, 5.0, [150.1, 100.1], True)
    b.track_ended("b", last_time=9.0)  # ended already: nothing changes
    assert b.to_state()["tracks"]["b"]["last_time"] == 5.0
    b.track_ended("nothing")  # neither a time nor a path: nothing to place
    assert "nothing" not in b.to_state()["tracks"]
    [done] = [e for e in b.finish() if isinstance(e, JourneyComplete)]
    assert done.track_keys == ("a", "b")


def test_a_track_ending_with_its_first_time_is_placed_by_that_time() -> None:
    b = JourneyBuilder("cam")
    _ended_at(b, 100.0, 2.0)
    b.track_ended("c", first_time=2.5, last_time=8.0, path=[(5.0, 150.0, 100.0), (8.0, 160.0, 100.0)])
    [done] = [e for e in b.finish() if isinstance(e, JourneyComplete)]
    assert done.track_keys == ("a", "c")  # 0.5 s after `a` (3 s after by its path: too late 50 px away)


def test_a_track_end_closes_its_open_stays_at_its_last_time() -> None:
    b = JourneyBuilder("cam")
    b.zone_entered("a", "shelves", 3.0)
    b.zone_entered("a", "checkout", 7.0)  # stamped after the track's last sighting
    b.track_ended("a", first_time=1.0, last_time=6.0)
    assert _stays(b, "a") == [["shelves", 3.0, 6.0], ["checkout", 7.0, 7.0]]
    b.zone_exited("a", "garden", 9.0, dwell_s=1.0)  # news after the end adds a stay, not time to the track
    assert b.to_state()["tracks"]["a"]["last_time"] == 6.0


def test_zone_events_move_a_track_and_its_visit_on_in_time() -> None:
    b = JourneyBuilder("cam")
    b.zone_entered("a", "shelves", 1.0)
    b.zone_exited("a", "shelves", 4.0)
    state = b.to_state()
    assert state["tracks"]["a"]["last_time"] == 4.0 and [v["last_time"] for v in state["visits"].values()] == [4.0]


def test_a_path_keeps_a_point_once_a_sample_period_has_passed() -> None:
    b = JourneyBuilder("cam")
    for t in (0.0, 0.25, 0.5, 0.75, 1.0):
        b.observe("a", t, (10.0, 10.0))
    assert [p[0] for p in b.to_state()["tracks"]["a"]["path"]] == [0.0, 0.5, 1.0]


def test_a_track_that_took_over_before_the_old_one_ended_extends_the_visit_at_once() -> None:
    b = JourneyBuilder("cam")
    b.observe("a", 0.0, (100.0, 100.0))
    b.observe("a", 2.0, (100.0, 100.0))
    b.observe("b", 1.8, (105.0, 100.0))  # an id switch: `b` began before `a` was dropped
    b.observe("b", 4.0, (105.0, 100.0))
    b.track_ended("a")
    [visit] = b.to_state()["visits"].values()
    assert (visit["tracks"], visit["current"], visit["last_time"]) == (["a", "b"], "b", 4.0)


def test_a_track_that_began_with_the_ended_one_does_not_continue_it() -> None:
    b = JourneyBuilder("cam")
    b.observe("a", 0.0, (100.0, 100.0))
    b.observe("b", 0.0, (150.0, 100.0))  # two people from the same first frame
    b.observe("a", 0.3, (100.0, 100.0))
    b.track_ended("a")
    b.observe("b", 3.0, (150.0, 100.0))
    done = [e for e in b.finish() if isinstance(e, JourneyComplete)]
    assert [c.track_keys for c in done] == [("b",)]  # `a` was noise (0.3 s), not an earlier part of `b`


def _kinds(events: list[object]) -> list[type]:
    return [type(e) for e in events]


def test_an_open_visit_is_announced_once_it_lasted_the_shorter_of_min_duration_and_confirm() -> None:
    brief = JourneyBuilder("cam")  # offline: a visit lasts up to its last sighting, not up to the clock
    brief.observe("a", 0.0, (10.0, 10.0))
    assert brief.advance(5.0) == []  # seen once, then never again: wait until its track ends
    exact = JourneyBuilder("cam")
    exact.observe("a", 0.0, (10.0, 10.0))
    exact.observe("a", 1.0, (10.0, 10.0))  # exactly min_duration_s (1 s, under confirm_s)
    assert _kinds(exact.advance(3.0)) == [CustomerEntry]
    both = JourneyBuilder("cam")
    both.observe("brief", 0.0, (10.0, 10.0))  # arrived first, waits ...
    both.observe("good", 0.5, (300.0, 300.0))
    both.observe("good", 3.5, (300.0, 300.0))
    assert [e.session_id for e in both.advance(4.0)] == [both.active_journeys().popitem()[1].session_id]  # ... not it


def test_an_ended_visit_that_lasted_min_duration_is_announced_at_confirmation_and_completes_after_the_hold() -> None:
    b = JourneyBuilder("cam", config=JourneyConfig(stationary_gap_s=0))
    b.observe("a", 0.0, (10.0, 10.0))
    b.observe("a", 1.0, (10.0, 10.0))
    b.track_ended("a")
    assert _kinds(b.advance(3.0)) == [CustomerEntry]
    assert b.advance(3.0) == [] and b.advance(1.0 + 2.0) == []  # exactly the hold after its end: not yet
    assert _kinds(b.advance(3.01)) == [JourneyComplete]


def test_a_visit_never_announced_completes_if_it_lasted_exactly_min_duration() -> None:
    b = JourneyBuilder("cam", config=JourneyConfig(confirm_s=100.0, stationary_gap_s=0))
    b.observe("a", 0.0, (10.0, 10.0))
    b.observe("a", 1.0, (10.0, 10.0))
    b.track_ended("a")
    assert _kinds(b.advance(12.0)) == [CustomerEntry, JourneyComplete]


def test_completed_tracks_are_forgotten_after_done_keep_s_or_beyond_done_keep_max() -> None:
    b = JourneyBuilder("cam", config=JourneyConfig(stationary_gap_s=0, done_keep_s=1.0))
    b.observe("a", 0.0, (10.0, 10.0))
    b.observe("a", 2.0, (10.0, 10.0))
    b.track_ended("a")
    b.advance(5.0)
    assert b.to_state()["done"] == {}  # ended at 2.0, more than a second before 5.0
    edge = JourneyBuilder("cam", config=JourneyConfig(stationary_gap_s=0, done_keep_s=3.0))
    edge.observe("a", 0.0, (10.0, 10.0))
    edge.observe("a", 2.0, (10.0, 10.0))
    edge.track_ended("a")
    edge.advance(5.0)
    assert edge.to_state()["done"] == {"a": 2.0}  # exactly done_keep_s ago: still remembered
    few = JourneyBuilder("cam", config=JourneyConfig(stationary_gap_s=0, done_keep_max=1))
    for key, x in (("a", 10.0), ("b", 500.0)):
        few.observe(key, 0.0, (x, 10.0))
        few.observe(key, 2.0 if key == "a" else 3.0, (x, 10.0))
        few.track_ended(key)
    few.advance(10.0)
    assert few.to_state()["done"] == {"b": 3.0}  # the latest one kept


def test_journeys_count_dwell_and_duration_to_the_millisecond() -> None:
    b = JourneyBuilder("cam", config=JourneyConfig(stationary_gap_s=0))
    b.observe("a", 1.0, (10.0, 10.0))
    b.zone_entered("a", "shelves", 1.5)
    b.zone_entered("a", "checkout", 3.0)
    b.zone_exited("a", "checkout", 3.25)  # a quarter of a second counts as such
    b.observe("a", 4.12345, (20.0, 10.0))
    b.advance(6.12345)
    [active] = b.active_journeys().values()  # still inside: the stay counts up to the clock
    assert active.dwell_times == {"shelves": 4.623, "checkout": 0.25}
    assert active.zones_visited == ["shelves", "checkout"]
    assert active.path_coordinates == [(10.0, 10.0), (20.0, 10.0)] and active.total_duration is None
    b.track_ended("a")
    [done] = [e for e in b.advance(20.0) if isinstance(e, JourneyComplete)]
    assert done.journey.total_duration == 3.123 and done.journey.dwell_times == {"shelves": 2.623, "checkout": 0.25}
