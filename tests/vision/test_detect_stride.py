"""Adaptive detection rate: a steady scene skips the detector on some frames and extrapolates its tracks;
anything new, people close together, or a person near a counting line brings detection back."""

from __future__ import annotations

import numpy as np
import pytest
from footfall.services.vision.gating import PREDICT, GateConfig, MotionGate
from footfall.services.vision.pipeline import CameraConfig, VisionPipeline
from footfall.services.vision.specs import parse_line_spec
from footfall.services.vision.tracking import PersonTracker, TrackerConfig

from tests.vision.test_gating import H, W, scene
from tests.vision.test_tracking import FPS, Dets


class SceneDetector:
    """Finds the synthetic people of :func:`scene` (foot points known) wherever it is asked to look."""

    def __init__(self, stride: int) -> None:
        self.stride = stride
        self.people: list[tuple[int, int]] = []
        self.calls = 0

    def _found(self) -> Dets:
        self.calls += 1
        boxes = np.array([(x - 10, y - 50, x + 10, y) for x, y in self.people], np.float32).reshape(-1, 4)
        return Dets(boxes, np.full(len(boxes), 0.9, np.float32))

    def detect(self, frame: np.ndarray) -> Dets:
        return self._found()

    def detect_batch(self, frames: list[np.ndarray]) -> list[Dets]:
        return [self._found() for _ in frames]

    def detect_regions(self, frame: np.ndarray, regions: list) -> Dets:
        return self._found()


def walk(stride: int, lines: tuple = (), steps: int = 30, start: int = 60, speed: int = 4,
         others: tuple[tuple[int, int], ...] = ()) -> tuple[list, SceneDetector]:
    detector = SceneDetector(stride)
    config = CameraConfig(lines=lines, tracker=TrackerConfig(frame_rate=FPS), gate=GateConfig(refresh_seconds=10.0))
    pipeline = VisionPipeline(detector, {"cam": config})
    results = []
    for i in range(steps):
        detector.people = [(start + speed * i, 250), *others]
        results.append(pipeline.process_frame(scene(*detector.people), i, i / FPS, camera_id="cam"))
    return results, detector


def test_a_lone_walker_is_detected_every_other_frame_with_one_id_and_extrapolated_boxes() -> None:
    results, detector = walk(stride=2)
    predicted = [r for r in results if r.tracks and not any(t.observed for t in r.tracks)]
    assert detector.calls < 0.7 * len(results) and len(predicted) >= 0.3 * len(results)
    assert all(r.detections == 0 and not r.ended for r in predicted)
    assert {t.track_id for r in results for t in r.tracks} == {1}
    for r in predicted:  # extrapolated to where the walker is at that frame, within a pixel or two
        (track,) = r.tracks
        assert abs((track.xyxy[0] + track.xyxy[2]) / 2 - (60 + 4 * r.frame_index)) <= 2.0


def test_stride_one_detects_every_frame() -> None:
    results, detector = walk(stride=1)
    assert detector.calls == len(results)
    assert all(t.observed for r in results[2:] for t in r.tracks)


def test_a_walker_near_a_line_is_detected_every_frame_and_counted_once() -> None:
    line = parse_line_spec("door:150,0,150,360")
    results, detector = walk(stride=2, lines=(line,))
    near = [r for r in results if r.tracks and abs((r.tracks[0].xyxy[0] + r.tracks[0].xyxy[2]) / 2 - 150) < 12]
    assert near and all(t.observed for r in near for t in r.tracks)
    assert sum(len(r.crossings) for r in results) == 1
    assert detector.calls < len(results)  # far from the line, frames were still skipped


def test_people_close_together_keep_every_frame_detected() -> None:
    results, detector = walk(stride=2, start=100, speed=0, others=((125, 250),))
    assert detector.calls == len(results)


def test_a_newcomer_brings_detection_back() -> None:
    gate = MotionGate(GateConfig(refresh_seconds=10.0))
    gate.decide(scene((100, 250)), 0.0, stride=2)
    gate.set_tracked([(90.0, 200.0, 110.0, 250.0)], 0.0, steady=True)
    # Someone appears far from the tracked person: not covered by the tracks, so detected.
    decision = gate.decide(scene((100, 250), (400, 300)), 0.1, stride=2)
    assert decision != PREDICT and not decision.full and not decision.skip


def test_gaps_are_bounded_in_frames_and_seconds() -> None:
    gate = MotionGate(GateConfig(refresh_seconds=10.0, predict_seconds=0.3))
    box = [(90.0, 200.0, 110.0, 250.0)]
    gate.decide(scene((100, 250)), 0.0, stride=3)
    gate.set_tracked(box, 0.0, steady=True)
    assert gate.decide(scene((100, 250)), 0.1, stride=3) == PREDICT
    gate.set_tracked(box, 0.1, steady=True)
    assert gate.decide(scene((100, 250)), 0.2, stride=3) == PREDICT
    gate.set_tracked(box, 0.2, steady=True)
    assert gate.decide(scene((100, 250)), 0.3, stride=3) != PREDICT  # stride reached
    gate.set_tracked(box, 0.3, steady=True)
    assert gate.decide(scene((100, 250)), 0.8, stride=3) != PREDICT  # over predict_seconds
    gate.set_tracked(box, 0.8, steady=False)
    assert gate.decide(scene((100, 250)), 0.9, stride=3) != PREDICT  # not steady
    with pytest.raises(ValueError):
        GateConfig(predict_seconds=-1)


def test_tracker_predict_leaves_the_association_alone() -> None:
    tracker = PersonTracker(TrackerConfig(frame_rate=FPS))
    for i in range(4):
        x = 100 + 5 * i
        tracker.update(Dets(np.array([(x, 100, x + 20, 150)], np.float32), np.array([0.9], np.float32)),
                       i, i / FPS, (W, H))
    assert tracker.steady
    (track,) = tracker.predict(4, 0.4, (W, H)).tracks
    assert not track.observed and track.hits == 4 and abs(track.xyxy[0] - 120) <= 1.5
    step = tracker.update(Dets(np.array([(125, 100, 145, 150)], np.float32), np.array([0.9], np.float32)),
                          5, 0.5, (W, H))
    assert [t.track_id for t in step.tracks] == [1] and step.tracks[0].observed and step.tracks[0].hits == 5
