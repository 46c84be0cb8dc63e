"""Zone edge cases that mutation testing (tests/tools/mutation.py zones) showed untested: exact edges with no
margin, a brand-new track's first frames, the exit streak right after an enter, dwell so far, the limits."""

from __future__ import annotations

import dataclasses

import pytest

from footfall.services.vision.track import TrackEnd
from footfall.services.vision.zones import PolygonZone, ZoneCounter, zone_from_points
from tests.vision.test_zones import SHELF, feed

SQUARE = ((100, 100), (300, 100), (300, 300), (100, 300))
EDGELESS = PolygonZone("shelf", SQUARE, enter_frames=1, exit_frames=1, margin=0.0)


def test_without_a_margin_the_edge_itself_is_outside() -> None:
    counter = ZoneCounter(EDGELESS)
    assert feed(counter, [(200, 100)]) == []  # the foot exactly on the top edge
    assert [e.kind for e in feed(counter, [(200, 100.5)])] == ["enter"]  # half a pixel inside


def test_a_new_track_inside_needs_enter_frames_like_any_other() -> None:
    counter = ZoneCounter(SHELF)
    assert feed(counter, [(200, 200)]) == []
    assert counter.occupancy == 0
    events = feed(counter, [(200, 200), (200, 200)])  # frames 0 and 1 of the same track, again
    assert [(e.kind, e.frame_index) for e in events] == [("enter", 0)]


def test_leaving_right_after_entering_needs_exit_frames_too() -> None:
    counter = ZoneCounter(SHELF)
    events = feed(counter, [(200, 200), (200, 200), (50, 200), (50, 200)])
    assert [(e.kind, e.frame_index) for e in events] == [("enter", 0), ("exit", 2)]
    counter = ZoneCounter(SHELF)
    assert [e.kind for e in feed(counter, [(200, 200), (200, 200), (50, 200)])] == ["enter"]  # one frame out


def test_dwell_so_far() -> None:
    counter = ZoneCounter(SHELF)
    feed(counter, [(50, 200), (200, 200), (200, 200)])  # entered at frame 1, t = 0.1 s
    assert counter.dwell_seconds(1, 2.6) == pytest.approx(2.5)
    assert counter.dwell_seconds(1, 0.0) == 0.0  # a clock before the enter: never negative
    assert counter.dwell_seconds(2, 2.6) is None  # unknown track
    feed(counter, [(50, 200)], track_id=3)
    assert counter.dwell_seconds(3, 2.6) is None  # known, outside


@pytest.mark.parametrize("options", [{"enter_frames": 1, "exit_frames": 1}, {"margin": 0.0}, {"margin": 9.99}])
def test_the_smallest_and_largest_settings_are_valid(options: dict[str, float]) -> None:
    PolygonZone("z", SQUARE, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("options", [{"enter_frames": 0}, {"exit_frames": 0}, {"margin": 10.0}, {"margin": 10.5},
                                     {"margin": -0.01}])
def test_settings_out_of_range_are_refused(options: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        PolygonZone("z", SQUARE, **options)  # type: ignore[arg-type]


def test_zones_cannot_be_changed_once_made() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        SHELF.margin = 0.5  # type: ignore[misc]


def test_enter_and_exit_carry_the_time_of_their_first_frame() -> None:
    counter = ZoneCounter(SHELF)
    events = feed(counter, [(50, 200), (200, 200), (200, 200), (50, 200), (50, 200)], fps=4.0)
    assert [(e.kind, e.frame_index, e.timestamp) for e in events] == [("enter", 1, 0.25), ("exit", 3, 0.75)]
    assert (events[1].dwell_frames, events[1].dwell_seconds) == (2, pytest.approx(0.5))


def test_a_track_ending_on_the_frame_it_entered_dwelled_zero_frames() -> None:
    counter = ZoneCounter(EDGELESS)
    [enter] = feed(counter, [(200, 200)])
    end = TrackEnd(track_id=1, first_seen_frame=0, first_seen_time=0.0, last_seen_frame=0, last_seen_time=0.0,
                   hits=1, mean_confidence=0.9, path=(), ended_frame=5, ended_time=0.5)
    [gone] = counter.end_track(end)
    assert (enter.kind, gone.kind, gone.reason, gone.dwell_frames, gone.dwell_seconds) == (
        "enter", "exit", "track_ended", 0, 0.0)


def test_zone_from_points() -> None:
    zone = zone_from_points("till", [[10, 20], [30, 20], [30, 40]], enter_frames=1)
    assert zone == PolygonZone("till", ((10.0, 20.0), (30.0, 20.0), (30.0, 40.0)), enter_frames=1)


def test_the_margin_band_edges() -> None:
    # margin 0.1 of a 50 px person: a 5 px band on each side of the top edge (y = 100)
    counter = ZoneCounter(PolygonZone("shelf", SQUARE, enter_frames=1, exit_frames=1, margin=0.1))
    assert feed(counter, [(200, 104.9)]) == []  # not yet 5 px inside
    assert [e.kind for e in feed(counter, [(200, 105)])] == ["enter"]  # exactly 5 px inside
    assert feed(counter, [(200, 95.1)]) == []  # still within the band outside: stays inside
    assert [e.kind for e in feed(counter, [(200, 95)])] == ["exit"]  # exactly 5 px outside


def test_zone_events_cannot_be_changed_once_made() -> None:
    counter = ZoneCounter(EDGELESS)
    [enter] = feed(counter, [(200, 200)])
    with pytest.raises(dataclasses.FrozenInstanceError):
        enter.kind = "exit"  # type: ignore[misc]
