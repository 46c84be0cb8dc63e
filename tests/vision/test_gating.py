"""Motion gating: which part of a frame the detector sees, and that the pipeline loses nobody with it."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from footfall.services.vision.gating import GateConfig, MotionGate
from footfall.services.vision.pipeline import CameraConfig, VisionPipeline
from footfall.services.vision.tracking import TrackerConfig
from tests.vision.helpers import require_data

W, H = 480, 360


def scene(*people: tuple[int, int]) -> np.ndarray:
    """A textured still background with a dark 20x50 'person' whose foot point is at each ``(x, y)``."""
    rng = np.random.default_rng(7)
    image = cv2.GaussianBlur(rng.integers(90, 170, (H, W, 3), dtype=np.uint8), (5, 5), 0)
    for x, y in people:
        image[y - 50 : y, x - 10 : x + 10] = 30
    return image


def test_first_frame_is_detected_whole_then_a_still_empty_scene_not_at_all() -> None:
    gate = MotionGate()
    assert gate.decide(scene(), 0.0).full
    still = gate.decide(scene(), 0.1)
    assert still.skip and still.area((W, H)) == 0.0


def test_a_moving_person_is_looked_at_with_a_margin() -> None:
    gate = MotionGate()
    gate.decide(scene((100, 200)), 0.0)
    decision = gate.decide(scene((110, 200)), 0.1)
    assert not decision.full and not decision.skip
    (x1, y1, x2, y2), = decision.regions
    # Both positions (where the change is), padded by 6 % of 480 px.
    assert x1 <= 90 - 25 and x2 >= 120 + 25 and y1 <= 150 - 25 and y2 >= 200 + 25
    assert decision.area((W, H)) < 0.2


def test_tracked_people_stay_in_view_while_still() -> None:
    gate = MotionGate()
    gate.decide(scene((300, 250)), 0.0)
    gate.set_tracked([(290.0, 200.0, 310.0, 250.0)], 0.0)
    (x1, y1, x2, y2), = gate.decide(scene((300, 250)), 0.1).regions
    assert x1 < 290 and x2 > 310 and y1 < 200 and y2 > 250
    # Tracks of frames older than watch_seconds are forgotten.
    gate.set_tracked([], 0.5)
    assert gate.decide(scene((300, 250)), 0.6).skip


def test_far_apart_people_get_separate_windows() -> None:
    gate = MotionGate()
    gate.decide(scene((60, 120), (420, 330)), 0.0)
    decision = gate.decide(scene((66, 120), (414, 330)), 0.1)
    assert len(decision.regions) == 2
    assert decision.area((W, H)) < 0.25


def test_whole_frame_on_refresh_on_widespread_change_and_when_disabled() -> None:
    gate = MotionGate(GateConfig(refresh_seconds=1.0))
    gate.decide(scene(), 0.0)
    assert gate.decide(scene(), 0.5).skip
    assert gate.decide(scene(), 1.0).full  # a still person never detected is found within refresh_seconds
    assert gate.decide(scene() // 2, 1.1).full  # lights dimmed: everything changed
    assert MotionGate(GateConfig(enabled=False)).decide(scene(), 0.0).full
    gate.reset()
    assert gate.decide(scene(), 1.2).full


def test_bad_gate_settings() -> None:
    with pytest.raises(ValueError):
        GateConfig(margin=-1)
    with pytest.raises(ValueError):
        GateConfig(full_fraction=0)
    with pytest.raises(ValueError):
        GateConfig(threshold=0)


@pytest.mark.data
def test_gated_pipeline_tracks_the_same_people_on_pets_for_less_detection() -> None:
    pytest.importorskip("inference")
    data = require_data("video/pets2009_s2l1_480x360.avi")
    from footfall.services.vision.detection import DetectorSettings, load_detector

    capture = cv2.VideoCapture(str(data / "video/pets2009_s2l1_480x360.avi"))
    frames = [capture.read()[1] for _ in range(70)]
    capture.release()

    class Looked:
        """The real detector, noting the share of each frame it was asked to look at."""

        def __init__(self, inner: object, gating: bool) -> None:
            self.inner, self.gating, self.areas = inner, gating, []

        def detect(self, frame: np.ndarray) -> object:
            return self.detect_batch([frame])[0]

        def detect_batch(self, batch: list[np.ndarray]) -> list:
            self.areas += [1.0] * len(batch)
            return self.inner.detect_batch(batch)

        def detect_regions(self, frame: np.ndarray, regions: list) -> object:
            self.areas.append(sum((x2 - x1) * (y2 - y1) for x1, y1, x2, y2 in regions) / (W * H))
            return self.inner.detect_regions(frame, regions)

    people: dict[bool, list[int]] = {}
    looked: dict[bool, float] = {}
    for gating in (False, True):
        detector = Looked(load_detector(DetectorSettings(), frame_size=(W, H)), gating)
        pipeline = VisionPipeline(detector, {"cam": CameraConfig(tracker=TrackerConfig(frame_rate=7.0))})
        results = [pipeline.process_frame(image, i, i / 7.0, camera_id="cam") for i, image in enumerate(frames)]
        people[gating] = [sum(t.observed for t in r.tracks) for r in results]
        looked[gating] = float(np.mean(detector.areas))
    assert looked[False] == 1.0 and looked[True] < 0.8, looked
    # The same number of people in view, frame by frame, give or take one on a few frames.
    diff = np.abs(np.array(people[True]) - np.array(people[False]))
    assert diff.max() <= 1 and np.count_nonzero(diff) <= 7, (diff, looked)
