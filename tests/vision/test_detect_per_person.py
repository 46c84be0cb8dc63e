"""Per-person detection rate: a settled person (confident, alone, far from lines) is left out of every other
frame's crops and extrapolated, while the people who need it are detected at every frame."""

from __future__ import annotations

import itertools

import numpy as np

from footfall.services.vision.gating import GateConfig, MotionGate
from footfall.services.vision.pipeline import CameraConfig, VisionPipeline
from footfall.services.vision.specs import parse_line_spec
from footfall.services.vision.tracking import PersonTracker, TrackerConfig
from tests.vision.test_gating import H, W, scene
from tests.vision.test_tracking import FPS, Dets


def _box(x: float, y: float) -> tuple[float, float, float, float]:
    return (x - 10, y - 50, x + 10, y)


class RegionDetector:
    """Finds the synthetic people of :func:`scene` only inside the crops it is asked to look at."""

    stride = 2

    def __init__(self) -> None:
        self.people: list[tuple[int, int]] = []
        self.asked: list[list[tuple[int, int, int, int]] | None] = []

    def _found(self, regions: list | None) -> Dets:
        self.asked.append(None if regions is None else list(regions))
        boxes = [_box(x, y) for x, y in self.people
                 if regions is None or any(r[0] <= x - 10 and x + 10 <= r[2] and r[1] <= y - 50 and y <= r[3]
                                           for r in regions)]
        return Dets(np.array(boxes, np.float32).reshape(-1, 4), np.full(len(boxes), 0.9, np.float32))

    def detect(self, frame: np.ndarray) -> Dets:
        return self._found(None)

    def detect_batch(self, frames: list[np.ndarray]) -> list[Dets]:
        return [self._found(None) for _ in frames]

    def detect_regions(self, frame: np.ndarray, regions: list) -> Dets:
        return self._found(regions)


def test_a_lone_walker_is_detected_every_other_frame_while_a_person_at_a_line_is_detected_at_every_one() -> None:
    detector = RegionDetector()
    line = parse_line_spec("door:400,0,400,360")
    config = CameraConfig(lines=(line,), tracker=TrackerConfig(frame_rate=FPS), gate=GateConfig(refresh_seconds=10.0))
    pipeline = VisionPipeline(detector, {"cam": config})
    results = []
    for i in range(30):
        walker, waiter = (60 + 4 * i, 250), (396 + (i % 3), 250)  # the second one shuffles at the door line
        detector.people = [walker, waiter]
        results.append(pipeline.process_frame(scene(walker, waiter), i, i / FPS, camera_id="cam"))
    ids = {t.track_id for r in results for t in r.tracks}
    assert ids == {1, 2}  # no id lost or swapped on the frames the walker was extrapolated
    walker_id = next(t.track_id for t in results[5].tracks if t.xyxy[0] < 300)
    left_out = [r for r in results if any(t.track_id == walker_id and not t.observed for t in r.tracks)]
    assert len(left_out) >= 0.3 * len(results)
    for r in left_out:
        # The person at the line was detected in that frame; the walker extrapolated to where they are.
        assert all(t.observed for t in r.tracks if t.track_id != walker_id)
        (track,) = [t for t in r.tracks if t.track_id == walker_id]
        assert abs((track.xyxy[0] + track.xyxy[2]) / 2 - (60 + 4 * r.frame_index)) <= 2.0
        assert r.detections == 1
    # Never two frames in a row for one person.
    frames = sorted(r.frame_index for r in left_out)
    assert all(b - a >= 2 for a, b in itertools.pairwise(frames))
    # And the crops of those frames left the walker's part of the frame out.
    partial = [regions for regions in detector.asked if regions and all(r[0] > 200 for r in regions)]
    assert len(partial) >= len(left_out)


def test_the_gate_leaves_a_settled_person_out_of_one_frame_and_keeps_the_others_in() -> None:
    gate = MotionGate(GateConfig(refresh_seconds=10.0))
    a, b = (100, 250), (400, 250)
    gate.decide(scene(a, b), 0.0, stride=2)
    gate.set_tracked([_box(*a), _box(*b)], 0.0, owners=[1, 2], settled={1: _box(*a)})
    decision = gate.decide(scene((104, 250), (402, 250)), 0.1, stride=2)
    assert decision.predicted == frozenset({1})
    assert decision.regions and all(r[0] > 200 for r in decision.regions)  # only around person 2
    gate.set_tracked([_box(104, 250), _box(402, 250)], 0.1, owners=[1, 2], settled={1: _box(104, 250)})
    again = gate.decide(scene((108, 250), (404, 250)), 0.2, stride=2)
    assert not again.predicted  # not twice in a row
    # Stride 1 (adaptive rate off) never leaves anyone out.
    gate.set_tracked([_box(108, 250), _box(404, 250)], 0.2, owners=[1, 2], settled={1: _box(108, 250)})
    assert not gate.decide(scene((112, 250), (406, 250)), 0.3, stride=1).predicted


def test_a_settled_person_next_to_a_crop_is_detected_whole() -> None:
    gate = MotionGate(GateConfig(refresh_seconds=10.0))
    a, b = (200, 250), (260, 250)  # 60 px apart: a crop around b would reach a
    gate.decide(scene(a, b), 0.0, stride=2)
    gate.set_tracked([_box(*a), _box(*b)], 0.0, owners=[1, 2], settled={1: _box(*a)})
    decision = gate.decide(scene((202, 250), (262, 250)), 0.1, stride=2)
    assert not decision.predicted
    (x1, _, x2, _), = decision.regions
    assert x1 <= 190 and x2 >= 272  # both, each with a margin


def test_the_tracker_extrapolates_the_people_left_out_and_finds_them_again() -> None:
    tracker = PersonTracker(TrackerConfig(frame_rate=FPS))
    for i in range(4):
        x = 100 + 5 * i
        tracker.update(Dets(np.array([(x, 100, x + 20, 150)], np.float32), np.array([0.9], np.float32)),
                       i, i / FPS, (W, H))
    assert set(tracker.settled()) == {1}
    empty = Dets(np.zeros((0, 4), np.float32), np.zeros(0, np.float32))
    step = tracker.update(empty, 4, 0.4, (W, H), predicted=frozenset({1}))
    (track,) = step.tracks
    assert not track.observed and abs(track.xyxy[0] - 120) <= 1.5 and not step.ended
    assert tracker.settled() == {} and not tracker.steady  # detected again at the next frame
    step = tracker.update(Dets(np.array([(125, 100, 145, 150)], np.float32), np.array([0.9], np.float32)),
                          5, 0.5, (W, H))
    assert [t.track_id for t in step.tracks] == [1] and step.tracks[0].observed and step.tracks[0].hits == 5


def test_people_close_together_or_unsure_are_never_settled() -> None:
    tracker = PersonTracker(TrackerConfig(frame_rate=FPS))
    for i in range(4):
        boxes = np.array([(100, 100, 120, 150), (125, 100, 145, 150), (300, 100, 320, 150)], np.float32)
        tracker.update(Dets(boxes, np.array([0.9, 0.9, 0.55], np.float32)), i, i / FPS, (W, H))
    assert tracker.settled() == {}  # two side by side, the third seen with a weak box only
