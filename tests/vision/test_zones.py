"""Polygon zones: enter/exit with frame hysteresis and dwell time."""

from __future__ import annotations

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
