"""Counting-line edge cases that mutation testing (tests/tools/mutation.py) showed untested: exact boundaries
(on the line, at the hysteresis distance, through the segment's first point), a first sighting near the line,
unobserved tracks among observed ones, and the validation limits."""

from __future__ import annotations

import dataclasses

import pytest

from footfall.services.vision.lines import LineCounter, LineCrossing, LineZone
from tests.vision.helpers import foot_track
from tests.vision.test_lines import walk

EXACT = LineZone("door", (240, 0), (240, 360), hysteresis_px=0.0)  # no hysteresis: every side change counts


def test_a_point_exactly_on_the_line_is_on_neither_side() -> None:
    counter = LineCounter(EXACT)
    assert walk(counter, [(200, 180), (240, 180), (200, 180)]) == []  # touching the line is not crossing it
    assert counter.counts == {"in": 0, "out": 0}


@pytest.mark.parametrize("past", [0.5, 0.01])
def test_half_a_pixel_past_the_line_is_across_it(past: float) -> None:
    counter = LineCounter(EXACT)
    events = walk(counter, [(200, 180), (240 + past, 180), (240, 180), (240 - past, 180)])
    assert [(e.direction, e.frame_index) for e in events] == [("in", 1), ("out", 3)]
    assert counter.counts == {"in": 1, "out": 1}


def test_reaching_exactly_the_hysteresis_distance_counts() -> None:
    counter = LineCounter(LineZone("door", (240, 0), (240, 360), hysteresis_px=10.0))
    assert walk(counter, [(200, 180), (249.5, 180)]) == []  # 9.5 px past: not yet
    events = walk(counter, [(250, 180)])  # exactly 10 px past
    assert [e.direction for e in events] == ["in"] and events[0].frame_index == 1  # crossed at 249.5


def test_a_first_sighting_near_the_line_still_sets_the_starting_side() -> None:
    # First seen 2 px on the out side (inside the 10 px hysteresis), then well inside: one entry.
    counter = LineCounter(LineZone("door", (240, 0), (240, 360), hysteresis_px=10.0))
    events = walk(counter, [(238, 180), (242, 180), (260, 180)])
    assert [(e.direction, e.frame_index) for e in events] == [("in", 1)]


def test_a_crossing_through_the_first_end_point_counts() -> None:
    short = LineZone("short", (240, 100), (240, 200), hysteresis_px=5.0)
    counter = LineCounter(short)
    events = walk(counter, [(200, 100), (280, 100)])
    assert len(events) == 1 and events[0].point == pytest.approx((240.0, 100.0))


def test_unobserved_tracks_do_not_hide_the_observed_ones_after_them() -> None:
    counter = LineCounter(EXACT)
    for frame, x in enumerate([200, 280]):
        hidden = foot_track(9, 0, 0, observed=False, frame=frame)
        events = counter.update([hidden, foot_track(1, x, 180, frame=frame)], frame, frame / 10)
    assert [(e.track_id, e.direction) for e in events] == [(1, "in")]


def test_observe_reports_the_crossing_with_full_confidence_by_default() -> None:
    counter = LineCounter(EXACT)
    assert counter.observe(4, (190, 130, 210, 180), 0, 0.0) is None
    crossing = counter.observe(4, (270, 130, 290, 180), 1, 0.1)
    assert crossing is not None and (crossing.track_id, crossing.direction, crossing.confidence) == (4, "in", 1.0)
    assert counter.observe(5, (190, 130, 210, 180), 2, 0.2, confidence=0.4) is None
    assert counter.observe(5, (270, 130, 290, 180), 3, 0.3, confidence=0.4).confidence == 0.4  # type: ignore[union-attr]


def test_geometry_of_a_line_that_does_not_start_at_the_origin() -> None:
    line = LineZone("slant", (2, 4), (6, 7))
    assert line.length == 5.0
    assert line.position_along((2, 4)) == 0.0 and line.position_along((6, 7)) == 1.0
    assert line.position_along((4, 5.5)) == pytest.approx(0.5)
    assert line.position_along((10, 10)) == pytest.approx(2.0)  # beyond point 2, on the infinite line


def test_hysteresis_from_the_box_height() -> None:
    line = LineZone("door", (240, 0), (240, 360))  # default: a tenth of the box height
    assert line.hysteresis_for(0.5) == pytest.approx(0.05)
    assert line.hysteresis_for(-3.0) == 0.0  # a degenerate box never asks for less than nothing
    assert LineZone("door", (240, 0), (240, 360), hysteresis_px=0.25).hysteresis_for(100) == 0.25


@pytest.mark.parametrize("options", [{"hysteresis_px": 0.0}, {"hysteresis_px": 0.5}, {"hysteresis_box_fraction": 0.0},
                                     {"hysteresis_box_fraction": 0.5}])
def test_zero_and_small_hysteresis_are_valid(options: dict[str, float]) -> None:
    LineZone("door", (240, 0), (240, 360), **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("options", [{"hysteresis_px": -0.01}, {"hysteresis_box_fraction": -0.01}])
def test_negative_hysteresis_is_refused(options: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be >= 0"):
        LineZone("door", (240, 0), (240, 360), **options)  # type: ignore[arg-type]


def test_lines_and_crossings_cannot_be_changed_once_made() -> None:
    line = LineZone("door", (240, 0), (240, 360))
    with pytest.raises(dataclasses.FrozenInstanceError):
        line.name = "other"  # type: ignore[misc]
    crossing = LineCrossing("door", 1, "in", 0, 0.0, 1.0, (240.0, 10.0))
    with pytest.raises(dataclasses.FrozenInstanceError):
        crossing.direction = "out"  # type: ignore[misc]
