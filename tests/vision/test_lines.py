"""Counting lines: direction convention, hysteresis, fast movement and finite segments."""

from __future__ import annotations

import pytest

from footfall.services.vision.geometry import Anchor
from footfall.services.vision.lines import LineCounter, LineDirection, LineZone
from tests.vision.helpers import foot_track

DOOR = LineZone("door", (240, 0), (240, 360), hysteresis_px=5.0)


def walk(counter: LineCounter, points: list[tuple[float, float] | None], track_id: int = 1) -> list:
    """Feed one track's foot points frame by frame (``None``: not observed that frame)."""
    events = []
    for frame, p in enumerate(points):
        if p is None:
            tracks = [foot_track(track_id, 0, 0, observed=False, frame=frame)]
        else:
            tracks = [foot_track(track_id, p[0], p[1], frame=frame)]
        events += counter.update(tracks, frame, frame / 10.0)
    return events


def test_door_convention_left_to_right_is_in() -> None:
    counter = LineCounter(DOOR)
    events = walk(counter, [(200 + 10 * i, 180) for i in range(9)])
    assert [e.direction for e in events] == ["in"]
    assert counter.counts == {"in": 1, "out": 0}
    counter = LineCounter(DOOR)
    assert [e.direction for e in walk(counter, [(280 - 10 * i, 180) for i in range(9)])] == ["out"]


def test_horizontal_line_drawn_left_to_right_counts_upward_as_in() -> None:
    hall = LineZone("hall", (0, 180), (480, 180), hysteresis_px=5.0)
    counter = LineCounter(hall)
    assert [e.direction for e in walk(counter, [(100, 220 - 10 * i) for i in range(9)])] == ["in"]


def test_swapping_the_points_swaps_in_and_out() -> None:
    reverse = LineZone("door", (240, 360), (240, 0), hysteresis_px=5.0)
    counter = LineCounter(reverse)
    assert [e.direction for e in walk(counter, [(200 + 10 * i, 180) for i in range(9)])] == ["out"]


def test_offset_sign_matches_convention() -> None:
    assert DOOR.offset((250, 100)) == pytest.approx(10.0)
    assert DOOR.offset((230, 100)) == pytest.approx(-10.0)


def test_fast_person_jumping_over_the_line_in_one_frame_is_counted() -> None:
    counter = LineCounter(DOOR)
    events = walk(counter, [(20, 100), (460, 300)])
    assert len(events) == 1 and events[0].direction == "in"
    # The crossing point is where the straight path meets the line.
    assert events[0].point[0] == pytest.approx(240.0)
    assert events[0].point[1] == pytest.approx(200.0)


def test_crossing_while_not_observed_is_counted_on_reappearance() -> None:
    counter = LineCounter(DOOR)
    events = walk(counter, [(200, 180), (210, 180), None, None, None, (290, 180)])
    assert [(e.direction, e.frame_index) for e in events] == [("in", 5)]


def test_jitter_on_the_line_never_counts() -> None:
    counter = LineCounter(DOOR)
    jitter = [(200, 180)] + [(240 + (3 if i % 2 else -3), 180) for i in range(30)] + [(236, 180)]
    assert walk(counter, jitter) == []
    assert counter.counts == {"in": 0, "out": 0}


def test_jitter_then_real_crossing_counts_once_with_first_frame_on_new_side() -> None:
    counter = LineCounter(DOOR)
    points = [(200, 180), (238, 180), (242, 180), (238, 180), (242, 180), (243, 180), (250, 180), (260, 180)]
    events = walk(counter, points)
    assert len(events) == 1
    # Counted when 5 px clear (frame 6), dated at the first observation of the final crossing (frame 4).
    assert events[0].frame_index == 4


def test_cross_and_cross_back_counts_both_directions() -> None:
    counter = LineCounter(DOOR)
    events = walk(counter, [(200, 180), (260, 180), (280, 180), (220, 180), (200, 180)])
    assert [e.direction for e in events] == ["in", "out"]
    assert counter.counts == {"in": 1, "out": 1}


def test_shallow_excursion_within_hysteresis_counts_nothing() -> None:
    counter = LineCounter(DOOR)
    assert walk(counter, [(200, 180), (243, 180), (244, 180), (230, 180), (200, 180)]) == []


def test_path_crossing_outside_the_finite_segment_is_not_counted() -> None:
    short = LineZone("short", (240, 100), (240, 200), hysteresis_px=5.0)
    counter = LineCounter(short)
    assert walk(counter, [(200, 300), (280, 300)]) == []  # below the segment's lower end
    assert walk(counter, [(200, 50), (280, 60)], track_id=2) == []  # above it


def test_walking_around_the_end_of_the_segment_counts_nothing_but_the_next_crossing_does() -> None:
    short = LineZone("short", (240, 100), (240, 200), hysteresis_px=5.0)
    counter = LineCounter(short)
    around = [(200, 150), (200, 250), (280, 250), (280, 150)]  # under the end: settles on the in side
    back_through = [(200, 150)]  # then back through the segment: out
    events = walk(counter, around + back_through)
    assert [e.direction for e in events] == ["out"]


def test_crossing_exactly_through_an_end_point_counts() -> None:
    short = LineZone("short", (240, 100), (240, 200), hysteresis_px=5.0)
    counter = LineCounter(short)
    assert len(walk(counter, [(200, 200), (280, 200)])) == 1


@pytest.mark.parametrize(
    ("direction", "expected"),
    [
        (LineDirection.BIDIRECTIONAL, ["in", "out"]),
        (LineDirection.ENTRY, ["in"]),
        (LineDirection.EXIT, ["out"]),
    ],
)
def test_line_direction_filters_what_is_counted(direction: LineDirection, expected: list[str]) -> None:
    zone = LineZone("door", (240, 0), (240, 360), direction=direction, hysteresis_px=5.0)
    counter = LineCounter(zone)
    events = walk(counter, [(200, 180), (280, 180), (200, 180)])
    assert [e.direction for e in events] == expected
    assert counter.in_count == expected.count("in")
    assert counter.out_count == expected.count("out")
    assert [e.occupancy_delta for e in events] == [1 if d == "in" else -1 for d in expected]


def test_foot_point_decides_not_the_box_centre() -> None:
    # The box straddles the line the whole time, only the feet cross it.
    counter = LineCounter(LineZone("hall", (0, 180), (480, 180), hysteresis_px=4.0))
    events = walk(counter, [(100, 200), (100, 190), (100, 170), (100, 160)])
    assert [e.direction for e in events] == ["in"]
    centre = LineCounter(LineZone("hall", (0, 180), (480, 180), anchor=Anchor.CENTER, hysteresis_px=4.0))
    assert walk(centre, [(100, 200), (100, 190), (100, 170), (100, 160)]) == []


def test_hysteresis_scales_with_box_height_by_default() -> None:
    zone = LineZone("door", (240, 0), (240, 360))  # 10% of the box height
    counter = LineCounter(zone)
    # Box height 50: 4 px beyond is not enough, 6 px is.
    events = walk(counter, [(200, 180), (244, 180)])
    assert events == []
    assert len(walk(counter, [(246, 180)], track_id=1)) == 1


def test_track_lost_before_getting_clear_is_not_counted_and_state_is_released() -> None:
    counter = LineCounter(DOOR)
    walk(counter, [(200, 180), (242, 180)])
    counter.forget(1)
    assert walk(counter, [(260, 180)]) == []  # a new observation starts fresh on the in side


def test_crossing_event_fields() -> None:
    counter = LineCounter(DOOR)
    tracks = [foot_track(7, 200, 180, confidence=0.8)]
    counter.update(tracks, 10, 1.0)
    (event,) = counter.update([foot_track(7, 260, 180, confidence=0.7)], 11, 1.1)
    assert (event.line, event.track_id, event.direction, event.frame_index) == ("door", 7, "in", 11)
    assert event.timestamp == pytest.approx(1.1)
    assert event.confidence == pytest.approx(0.7)


def test_several_tracks_are_independent() -> None:
    counter = LineCounter(DOOR)
    a = [(200, 100), (280, 100)]
    b = [(280, 300), (200, 300)]
    events = []
    for frame in range(2):
        events += counter.update(
            [foot_track(1, *a[frame], frame=frame), foot_track(2, *b[frame], frame=frame)], frame, frame / 10
        )
    assert sorted((e.track_id, e.direction) for e in events) == [(1, "in"), (2, "out")]


def test_invalid_lines_are_rejected() -> None:
    with pytest.raises(ValueError):
        LineZone("zero", (10, 10), (10, 10))
    with pytest.raises(ValueError):
        LineZone("", (0, 0), (1, 1))
    with pytest.raises(ValueError):
        LineZone("neg", (0, 0), (1, 1), hysteresis_px=-1)
