"""The analysis engine with the real detector on PETS 2009 frames: cameras sharing it (batched detector calls,
several frames in flight) get exactly the results each gets alone, in frame order."""

from __future__ import annotations

import asyncio
from pathlib import Path

import cv2
import pytest

from footfall.services.vision.detection import DetectorSettings, load_detector
from footfall.services.vision.engine import Analysis, AnalysisEngine
from footfall.services.vision.pipeline import CameraConfig
from footfall.services.vision.sources import Frame
from footfall.services.vision.specs import parse_line_spec
from footfall.services.vision.tracking import TrackerConfig

pytestmark = pytest.mark.data

VIDEO = "video/pets2009_s2l1_480x360.avi"
COUNT = 60


@pytest.fixture(scope="module")
def frames(shared_data: Path) -> list[Frame]:
    cap = cv2.VideoCapture(str(shared_data / VIDEO))
    out = []
    for i in range(COUNT):
        ok, image = cap.read()
        assert ok
        out.append(Frame(image, i, i / 7.0))
    cap.release()
    return out


@pytest.fixture(scope="module")
def detector() -> object:
    return load_detector(DetectorSettings())


CONFIG = CameraConfig(lines=(parse_line_spec("door:240,0,240,360"),), tracker=TrackerConfig(frame_rate=7.0))


def digest(analyses: list[Analysis]) -> list[tuple]:
    return [
        (a.result.frame_index, tuple((t.track_id, tuple(round(v, 3) for v in t.xyxy)) for t in a.result.tracks),
         tuple((c.track_id, c.direction) for c in a.result.crossings))
        for a in analyses
    ]


async def test_cameras_sharing_the_engine_get_what_each_gets_alone(frames: list[Frame], detector: object) -> None:
    alone_engine = AnalysisEngine(lambda: detector, workers=1)
    await alone_engine.add_camera("alone", CONFIG, streaming=True)
    alone = [await alone_engine.analyse("alone", frame) for frame in frames]
    await alone_engine.close()
    assert alone_engine.stats.max_batch_size == 1
    assert sum(len(a.result.tracks) for a in alone) > 3 * COUNT  # people are tracked

    engine = AnalysisEngine(lambda: detector, workers=2, max_batch=8)
    for key in ("a", "b", "c"):
        await engine.add_camera(key, CONFIG, streaming=True)
    # Every frame of every camera submitted at once: up to two detector calls in flight, each with one
    # frame of each camera waiting.
    pending = {key: [engine.submit(key, frame) for frame in frames] for key in ("a", "b", "c")}
    results = {key: await asyncio.gather(*futures) for key, futures in pending.items()}
    ended = await engine.remove_camera("a")
    await engine.close()

    assert engine.stats.max_batch_size == 3 and engine.stats.frames == 3 * COUNT
    for key in ("a", "b", "c"):
        assert digest(results[key]) == digest(alone), key
    assert ended is not None and ended.ended and ended.tracks == ()


async def test_a_removed_camera_fails_its_frames_in_flight(frames: list[Frame], detector: object) -> None:
    engine = AnalysisEngine(lambda: detector, workers=2)
    await engine.add_camera("gone", CONFIG, streaming=True)
    futures = [engine.submit("gone", frame) for frame in frames[:10]]
    first = await futures[0]
    await engine.remove_camera("gone")
    outcomes = await asyncio.gather(*futures[1:], return_exceptions=True)
    await engine.close()
    assert first.result.frame_index == 0
    assert all(isinstance(o, (Analysis, asyncio.CancelledError, RuntimeError)) for o in outcomes)
    assert any(isinstance(o, asyncio.CancelledError) for o in outcomes)  # the queued ones never ran
    with pytest.raises(RuntimeError, match="not in the engine"):
        engine.submit("gone", frames[0])


async def test_a_busy_engine_serves_the_cameras_with_nothing_in_detection_first(
    frames: list[Frame], detector: object
) -> None:
    # A gated camera may have two frames in detection; were cameras taken in the order they were added, the
    # first ones would fill every batch of a busy engine (14 live cameras: the last one got 1.75 fps).
    engine = AnalysisEngine(lambda: detector, workers=2, max_batch=3)
    keys = [f"cam{i}" for i in range(5)]
    for key in keys:
        await engine.add_camera(key, CONFIG, streaming=True)
    futures = [engine.submit(key, frame) for key in keys for frame in frames[:2]]
    engine._wakeup.clear()  # the batch loop has not run yet: the batches are formed by hand below
    first = engine._next_batch()
    assert list(first) == keys[:3] and all(job.frame.index == 0 for job in first.values())
    # cam0..cam2 each have frame 0 in detection (and may add frame 1); cam3 and cam4 come first.
    second = engine._next_batch()
    assert list(second)[:2] == ["cam3", "cam4"] and second["cam3"].frame.index == 0
    for job in (*first.values(), *second.values()):
        job.state = "queued"  # hand them back: the engine detects them as usual
    engine._wakeup.set()
    await asyncio.gather(*futures)
    await engine.close()
