"""VisionPipeline with a scripted detector: events per frame, several cameras, batched detection."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import pytest

from footfall.services.vision.lines import LineZone
from footfall.services.vision.pipeline import CameraConfig, VisionPipeline
from footfall.services.vision.sources import Frame
from footfall.services.vision.tracking import TrackerConfig
from footfall.services.vision.zones import PolygonZone

try:
    from footfall.inference.detections import Detections
except ImportError:  # pragma: no cover - the inference package is optional for these tests
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Detections:  # type: ignore[no-redef]
        xyxy: np.ndarray
        confidence: np.ndarray
        class_id: np.ndarray

        def __len__(self) -> int:
            return len(self.confidence)


def boxes_for(frame: np.ndarray) -> Detections:
    """The scripted 'detector' reads people from pixel (0, i): x of person i's left edge, 0 = absent."""
    xs = [float(v) * 2 for v in frame[0, :4, 0] if v]
    xyxy = np.array([[x, 100 + 60 * i, x + 20, 150 + 60 * i] for i, x in enumerate(xs)], np.float32).reshape(
        -1, 4
    )
    return Detections(
        xyxy=xyxy, confidence=np.full(len(xs), 0.9, np.float32), class_id=np.zeros(len(xs), np.int32)
    )


class ScriptedDetector:
    def __init__(self) -> None:
        self.batches: list[int] = []

    def detect(self, frame: np.ndarray) -> Detections:
        return self.detect_batch([frame])[0]

    def detect_batch(self, frames: Sequence[np.ndarray]) -> list[Detections]:
        self.batches.append(len(frames))
        return [boxes_for(f) for f in frames]


def frame_with(*xs: float) -> np.ndarray:
    image = np.zeros((360, 480, 3), np.uint8)
    for i, x in enumerate(xs):
        image[0, i, 0] = int(x // 2)
    return image


DOOR = LineZone("door", (240, 0), (240, 360), hysteresis_px=4.0)
ZONE = PolygonZone("right", ((300, 0), (480, 0), (480, 360), (300, 360)))
TRACKER = TrackerConfig(frame_rate=10.0, lost_seconds=0.5, stitch_seconds=0.5)


def test_single_camera_events() -> None:
    pipeline = VisionPipeline(ScriptedDetector(), lines=[DOOR], zones=[ZONE], tracker=TRACKER)
    results = []
    for i in range(40):
        image = frame_with(100 + 10 * i) if i < 30 else frame_with()
        results.append(pipeline.process_frame(image, i, i / 10.0))
    crossings = [c for r in results for c in r.crossings]
    assert [(c.line, c.direction, c.track_id) for c in crossings] == [("door", "in", 1)]
    assert 12 <= crossings[0].frame_index <= 14  # foot x = 110 + 10 i passes 240 at i = 13
    zone_events = [e for r in results for e in r.zone_events]
    assert [e.kind for e in zone_events] == ["enter", "exit"]
    assert zone_events[1].reason == "track_ended"
    ended = [e for r in results for e in r.ended]
    assert [e.track_id for e in ended] == [1]
    assert pipeline.cameras["default"].line_counts == {"door": {"in": 1, "out": 0}}
    assert results[5].detections == 1 and results[5].tracks[0].observed


def test_frames_from_sources_and_automatic_indices() -> None:
    pipeline = VisionPipeline(ScriptedDetector(), lines=[DOOR], tracker=TRACKER)
    now = time.time()
    r0 = pipeline.process_frame(Frame(frame_with(100), 7, now))
    assert (r0.frame_index, r0.timestamp) == (7, now)
    r1 = pipeline.process_frame(frame_with(110))  # next index, wall-clock time
    assert r1.frame_index == 8 and r1.timestamp >= now
    assert [t.track_id for t in r1.tracks] == [1]
    final = pipeline.finish()
    assert [e.track_id for e in final.ended] == [1]


def test_several_cameras_share_one_batched_detector() -> None:
    detector = ScriptedDetector()
    cameras = {
        "entrance": CameraConfig(lines=(DOOR,), tracker=TRACKER),
        "till": CameraConfig(zones=(ZONE,), tracker=TRACKER),
    }
    pipeline = VisionPipeline(detector, cameras)
    out = []
    for i in range(25):
        out.append(
            pipeline.process_batch(
                {
                    "entrance": Frame(frame_with(100 + 10 * i), i, i / 10),
                    "till": Frame(frame_with(350, 120 + 5 * i), i, i / 10),
                }
            )
        )
    assert detector.batches == [2] * 25
    assert set(out[0]) == {"entrance", "till"}
    entrance = [c for r in out for c in r["entrance"].crossings]
    assert [(c.direction, c.track_id) for c in entrance] == [("in", 1)]
    # Track ids are per camera.
    assert {t.track_id for t in out[-1]["till"].tracks} == {1, 2}
    assert pipeline.cameras["till"].zone_occupancy == {"right": 1}
    final = pipeline.remove_camera("till")
    assert sorted(e.track_id for e in final.ended) == [1, 2]
    assert any(e.kind == "exit" and e.reason == "track_ended" for e in final.zone_events)
    assert "till" not in pipeline.cameras


def test_unknown_and_duplicate_cameras() -> None:
    pipeline = VisionPipeline(ScriptedDetector(), {"a": CameraConfig()})
    with pytest.raises(KeyError, match="unknown camera"):
        pipeline.process_frame(frame_with(), camera_id="b")
    with pytest.raises(ValueError, match="already exists"):
        pipeline.add_camera("a")
    with pytest.raises(ValueError, match="unique"):
        CameraConfig(lines=(DOOR, DOOR))


class GatedScriptedDetector(ScriptedDetector):
    """The scripted detector with ``detect_regions``, noting the regions it was asked for."""

    def __init__(self, gating: bool = True) -> None:
        super().__init__()
        self.gating = gating
        self.regions: list[tuple | None] = []

    def detect_regions(self, frame: np.ndarray, regions: Sequence[tuple[int, int, int, int]]) -> Detections:
        self.regions.append(tuple(regions))
        return boxes_for(frame) if regions else boxes_for(np.zeros_like(frame))


def test_motion_gate_sends_whole_frames_in_one_batch_and_still_ones_to_regions() -> None:
    detector = GatedScriptedDetector()
    pipeline = VisionPipeline(detector, {"a": CameraConfig(tracker=TRACKER), "b": CameraConfig(tracker=TRACKER)})
    empty = frame_with()
    # First frames: whole, both cameras in one batched call.
    pipeline.process_batch({"a": Frame(empty, 0, 0.0), "b": Frame(empty, 0, 0.0)})
    assert detector.batches == [2] and detector.regions == []
    # Nothing changed, nobody tracked: nothing to look at in either camera.
    pipeline.process_batch({"a": Frame(empty, 1, 0.1), "b": Frame(empty, 1, 0.1)})
    assert detector.batches == [2] and detector.regions == [(), ()]
    # After refresh_seconds (2 s) a whole frame again, whatever moved.
    pipeline.process_batch({"a": Frame(empty, 22, 2.2)})
    assert detector.batches == [2, 1]
    # A detector whose gating is off always sees whole frames.
    ungated = GatedScriptedDetector(gating=False)
    pipeline = VisionPipeline(ungated, {"a": CameraConfig(tracker=TRACKER)})
    for i in range(3):
        pipeline.process_frame(empty, i, i / 10, camera_id="a")
    assert ungated.batches == [1, 1, 1] and ungated.regions == []
