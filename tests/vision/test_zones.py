"""Polygon zones: enter/exit with frame hysteresis and dwell time."""

from __future__ import annotations

from dataclasses import replace

import pytest

from footfall.services.vision.track import TrackEnd
from footfall.services.vision.zones import PolygonZone, ZoneCounter, ZoneEvent
from tests.vision.helpers import foot_track

SHELF = PolygonZone("shelf", ((100, 100), (300, 100), (300, 300), (100, 300)), enter_frames=2, exit_frames=2)


def feed(
    counter: ZoneCounter, points: list[tuple[float, float] | None], track_id: int = 1, fps: float = 10.0
) -> list:
    events = []
    for frame, p in enumerate(points):
        track = foot_track(track_id, *(p or (0, 0)), observed=p is not None, frame=frame)
        events += counter.update([track], frame, frame / fps)
    return events


def test_enter_and_exit_with_dwell_time() -> None:
    counter = ZoneCounter(SHELF)
    outside, inside = (50, 200), (200, 200)
    events = feed(counter, [outside] * 3 + [inside] * 20 + [outside] * 5)
    assert [(e.kind, e.frame_index) for e in events] == [("enter", 3), ("exit", 23)]
    exit_event = events[1]
    assert exit_event.dwell_seconds == pytest.approx(2.0)
    assert exit_event.dwell_frames == 20
    assert exit_event.reason == "left"


def test_events_carry_the_anchor_and_the_tracks_first_seen_time() -> None:
    counter = ZoneCounter(SHELF)
    # The enter is at the first of the two frames inside, so is its anchor (the foot point by default).
    events = feed(counter, [(50, 200), (200, 210), (205, 212), (206, 214), (50, 220), (40, 220)])
    enter, exit_event = events
    assert (enter.kind, enter.anchor, enter.track_first_seen) == ("enter", (200.0, 210.0), 0.0)
    assert (exit_event.kind, exit_event.anchor) == ("exit", (50.0, 220.0))
    feed(counter, [(200, 200), (150, 150)], track_id=2)
    end = TrackEnd(2, 0, 0.0, 1, 0.1, 2, 0.9, (), 20, 2.0)
    (lost,) = counter.end_track(end)
    assert (lost.reason, lost.anchor) == ("track_ended", (150.0, 150.0))
    # Built by hand (older code): neither is known.
    assert ZoneEvent("shelf", 1, "enter", 0, 0.0).anchor is None


def test_flicker_on_the_edge_produces_no_events() -> None:
    counter = ZoneCounter(SHELF)
    edge = [(99, 200), (101, 200)] * 10  # one frame in, one out
    assert feed(counter, [(50, 200)] + edge) == []
    assert counter.occupancy == 0


def test_single_frame_dropout_inside_does_not_end_the_visit() -> None:
    counter = ZoneCounter(SHELF)
    events = feed(counter, [(200, 200)] * 5 + [(50, 200)] + [(200, 200)] * 5)
    assert [e.kind for e in events] == ["enter"]
    assert counter.occupancy == 1
    assert counter.dwell_seconds(1, now=1.0) == pytest.approx(1.0)


def test_unobserved_frames_neither_extend_nor_break_a_streak() -> None:
    counter = ZoneCounter(SHELF)
    events = feed(counter, [(50, 200), (200, 200), None, None, (200, 200)])
    assert [(e.kind, e.frame_index) for e in events] == [("enter", 1)]


def test_track_end_inside_closes_the_visit_at_last_sighting() -> None:
    counter = ZoneCounter(SHELF)
    feed(counter, [(200, 200)] * 8)
    end = TrackEnd(
        track_id=1,
        first_seen_frame=0,
        first_seen_time=0.0,
        last_seen_frame=7,
        last_seen_time=0.7,
        hits=8,
        mean_confidence=0.9,
        path=(),
        ended_frame=30,
        ended_time=3.0,
    )
    (event,) = counter.end_track(end)
    assert (event.kind, event.reason, event.frame_index) == ("exit", "track_ended", 7)
    assert event.dwell_seconds == pytest.approx(0.7)
    assert counter.occupancy == 0
    assert counter.end_track(end) == []


def test_occupancy_counts_tracks_inside() -> None:
    counter = ZoneCounter(SHELF)
    for frame in range(3):
        counter.update(
            [
                foot_track(1, 200, 200, frame=frame),
                foot_track(2, 150, 150, frame=frame),
                foot_track(3, 10, 10, frame=frame),
            ],
            frame,
            frame / 10,
        )
    assert counter.occupancy == 2


# Two aisles side by side, sharing the border x = 200.
LEFT = PolygonZone("left", ((0, 100), (200, 100), (200, 300), (0, 300)))
RIGHT = PolygonZone("right", ((200, 100), (400, 100), (400, 300), (200, 300)))


def feed_both(zones: tuple[PolygonZone, ...], xs: list[float], y: float = 200.0, height: float = 60.0) -> list:
    """One person's foot point along ``xs`` (one per frame, 10 fps) through counters of ``zones``."""
    counters = [ZoneCounter(z) for z in zones]
    events = []
    for frame, x in enumerate(xs):
        track = foot_track(1, x, y, height=height, frame=frame)
        for counter in counters:
            events += counter.update([track], frame, frame / 10)
    return events


def test_jitter_on_a_shared_border_does_not_flip_between_adjacent_zones() -> None:
    # Standing on the border: the foot point jitters +-4 px, two frames on each side at a time
    # (the frame hysteresis alone lets that through).
    jitter = [196, 197, 203, 204] * 8
    xs = [150.0] * 5 + jitter
    flips = feed_both(
        (replace(LEFT, margin=0.0), replace(RIGHT, margin=0.0)), xs
    )
    assert sum(e.kind == "enter" and e.zone == "right" for e in flips) >= 6  # the bug, without a margin
    events = feed_both((LEFT, RIGHT), xs)  # default margin: 0.1 x 60 px height = 6 px
    assert [(e.zone, e.kind) for e in events] == [("left", "enter")]


def test_a_real_crossing_between_adjacent_zones_is_counted_once() -> None:
    # Walking from one aisle into the other, with the same jitter while passing the border.
    xs = [150.0] * 5 + [180, 190, 197, 203, 198, 204, 212, 225] + [250.0] * 10
    events = feed_both((LEFT, RIGHT), xs)
    assert [(e.zone, e.kind) for e in events] == [("left", "enter"), ("left", "exit"), ("right", "enter")]
    exit_left, enter_right = events[1], events[2]
    # Both changes happen once the foot point is 6 px past the border, at x = 212 (frame 11)...
    assert exit_left.frame_index == enter_right.frame_index == 11
    # ...and the left aisle's visit lasted from its first frame until then.
    assert exit_left.dwell_seconds == pytest.approx(1.1)


def test_margin_scales_with_the_persons_height() -> None:
    # 3 px inside: enough for a small, far-away person (20 px tall: 2 px band), not for a near one.
    far = feed_both((LEFT,), [250.0] + [197.0] * 4, height=20.0)
    near = feed_both((LEFT,), [250.0] + [197.0] * 4, height=100.0)
    assert [e.kind for e in far] == ["enter"] and near == []


def test_non_convex_polygon() -> None:
    # An L-shaped zone: the notch is outside.
    ell = PolygonZone("ell", ((0, 0), (200, 0), (200, 100), (100, 100), (100, 200), (0, 200)), enter_frames=1)
    assert ell.contains((50, 150)) and ell.contains((150, 50))
    assert not ell.contains((150, 150))


def test_invalid_zones_are_rejected() -> None:
    with pytest.raises(ValueError):
        PolygonZone("tri", ((0, 0), (1, 1)))
    with pytest.raises(ValueError):
        PolygonZone("z", ((0, 0), (1, 0), (0, 1)), enter_frames=0)
    with pytest.raises(ValueError, match="margin"):
        PolygonZone("z", ((0, 0), (1, 0), (0, 1)), margin=-0.1)
