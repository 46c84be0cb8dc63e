"""Person tracker wrapper: ids, track ends, two-stage association, coasting and stitching."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from footfall.services.vision.tracking import PersonTracker, TrackerConfig

FPS = 10.0


@dataclass
class Dets:
    xyxy: np.ndarray
    confidence: np.ndarray

    def __len__(self) -> int:
        return len(self.confidence)


def dets(*boxes: tuple[float, float, float, float, float]) -> Dets:
    """Detections from ``(x1, y1, x2, y2, confidence)`` tuples."""
    arr = np.array(boxes, dtype=np.float32).reshape(-1, 5)
    return Dets(arr[:, :4], arr[:, 4])


def person(x: float, y: float = 100.0, conf: float = 0.9) -> tuple[float, float, float, float, float]:
    return (x, y, x + 20, y + 50, conf)


def run(tracker: PersonTracker, frames: list[Dets]) -> list:
    return [tracker.update(d, i, i / FPS, (640, 480)) for i, d in enumerate(frames)]


def test_two_people_get_two_stable_ids() -> None:
    tracker = PersonTracker(TrackerConfig(frame_rate=FPS))
    steps = run(tracker, [dets(person(10 + 5 * i), person(400 - 5 * i, 300)) for i in range(30)])
    ids = {t.track_id for s in steps for t in s.tracks}
    assert ids == {1, 2}
    last = steps[-1].tracks
    assert all(t.observed for t in last)
    assert {t.hits for t in last} == {30}  # tracks in the very first frame are confirmed at once
    assert all(t.first_seen_frame == 0 for t in last)


def test_track_ends_after_lost_seconds_with_its_path() -> None:
    tracker = PersonTracker(TrackerConfig(frame_rate=FPS, lost_seconds=1.0, stitch_seconds=0.0))
    steps = run(tracker, [dets(person(10 + 5 * i)) for i in range(10)] + [dets()] * 15)
    ended = [(i, e) for i, s in enumerate(steps) for e in s.ended]
    assert len(ended) == 1
    frame, end = ended[0]
    assert 19 <= frame <= 21  # lost after frame 9, kept for 1 s
    assert end.track_id == 1 and end.hits == 10 and len(end.path) == 10
    assert end.path[-1].frame_index == 9
    assert end.path[-1].point[1] == pytest.approx(150.0, abs=2.0)  # foot point


def test_low_confidence_detections_extend_but_do_not_start_tracks() -> None:
    tracker = PersonTracker(TrackerConfig(frame_rate=FPS))
    # A person whose score drops to 0.3 for a while (partly hidden) keeps the id.
    frames = [dets(person(10 + 5 * i, conf=0.9 if i < 5 or i > 15 else 0.3)) for i in range(25)]
    steps = run(tracker, frames)
    assert {t.track_id for s in steps for t in s.tracks} == {1}
    assert all(len(s.tracks) == 1 for s in steps[1:])
    # Low-confidence boxes alone never start a track.
    lonely = PersonTracker(TrackerConfig(frame_rate=FPS))
    assert all(not s.tracks for s in run(lonely, [dets(person(10 + 5 * i, conf=0.3)) for i in range(10)]))


def test_coasting_reports_predicted_boxes_briefly() -> None:
    tracker = PersonTracker(TrackerConfig(frame_rate=FPS, coast_seconds=0.2))
    steps = run(tracker, [dets(person(10 + 5 * i)) for i in range(10)] + [dets()] * 5)
    coasting = [s.tracks for s in steps[10:]]
    assert [len(t) for t in coasting] == [1, 1, 0, 0, 0]
    assert not coasting[0][0].observed
    assert coasting[0][0].xyxy[0] > steps[9].tracks[0].xyxy[0]  # predicted further along


def stop_behind_pillar(gap_frames: int) -> list[Dets]:
    """Walk right at 10 px/frame, vanish, come back where they vanished (they stopped)."""
    walk = [dets(person(10 + 10 * i)) for i in range(10)]
    hidden = [dets()] * gap_frames
    back = [dets(person(110 + 2 * i)) for i in range(6)]
    return walk + hidden + back


def test_stitching_keeps_the_id_of_a_person_who_stopped_while_hidden() -> None:
    stitched = PersonTracker(TrackerConfig(frame_rate=FPS, stitch_seconds=2.0))
    ids = {t.track_id for s in run(stitched, stop_behind_pillar(8)) for t in s.tracks}
    assert ids == {1}
    plain = PersonTracker(TrackerConfig(frame_rate=FPS, stitch_seconds=0.0))
    ids = {t.track_id for s in run(plain, stop_behind_pillar(8)) for t in s.tracks}
    assert len(ids) == 2


def test_stitching_refuses_someone_too_far_to_have_walked_there() -> None:
    tracker = PersonTracker(TrackerConfig(frame_rate=FPS, stitch_seconds=2.0))
    frames = (
        [dets(person(10 + 10 * i)) for i in range(10)]
        + [dets()] * 3
        + [dets(person(500 + i)) for i in range(5)]
    )
    ids = {t.track_id for s in run(tracker, frames) for t in s.tracks}
    assert ids == {1, 2}


def test_finish_ends_everything_and_ids_are_never_reused() -> None:
    tracker = PersonTracker(TrackerConfig(frame_rate=FPS))
    run(tracker, [dets(person(10 + 5 * i), person(300, 300)) for i in range(5)])
    ended = tracker.finish(4, 0.4)
    assert sorted(e.track_id for e in ended) == [1, 2]
    assert tracker.active_track_ids == []
    steps = [tracker.update(dets(person(10)), i, 1.0 + i / FPS) for i in range(3)]
    assert {t.track_id for s in steps for t in s.tracks} == {3}


def test_non_increasing_timestamps_are_tolerated() -> None:
    tracker = PersonTracker(TrackerConfig(frame_rate=FPS))
    for i in range(5):
        step = tracker.update(dets(person(10 + 5 * i)), i, 0.0)  # a source with a stuck clock
    assert [t.track_id for t in step.tracks] == [1]


@pytest.mark.parametrize("algorithm", ["botsort", "bytetrack", "ocsort", "cbiou"])
def test_every_backend_tracks(algorithm: str) -> None:
    tracker = PersonTracker(TrackerConfig(frame_rate=FPS, algorithm=algorithm, min_hits=2))
    steps = run(tracker, [dets(person(10 + 5 * i), person(400 - 5 * i, 300)) for i in range(20)])
    assert len({t.track_id for s in steps for t in s.tracks}) == 2


def test_bad_config() -> None:
    with pytest.raises(ValueError):
        TrackerConfig(frame_rate=0)
    with pytest.raises(ValueError):
        TrackerConfig(algorithm="magic")
