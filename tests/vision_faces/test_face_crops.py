"""Best face crops of tracks, published on real NATS from the real models running on the Hamilton clip."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from footfall.v1 import events_pb2, vision_pb2

from footfall.inference.faces import clearly_better, FaceQuality
from footfall.services.core.events import EventBus, unpack
from footfall.services.vision.publisher import FACE_CROP
from tests.vision_faces.conftest import face_engine
from tests.vision_service.conftest import Vision, new_camera, start_vision_stack, stop_vision_stack, stream_message_count

pytestmark = pytest.mark.data


def crops_of(vision: Vision) -> list[events_pb2.FaceCropObserved]:
    return [unpack(env, events_pb2.FaceCropObserved) for env in vision.events.of(FACE_CROP)]


async def run_clip(vision: Vision, camera: str, clip: Path, session_id: str, **options: Any) -> None:
    await vision.stub.StartStream(
        vision_pb2.StartStreamRequest(camera_id=camera, path=str(clip), session_id=session_id, **options),
        metadata=vision.md,
    )
    stream = await vision.wait_finished(camera)
    assert stream.status == vision_pb2.STREAM_STATUS_STOPPED, stream.status_detail


async def test_best_crops_are_published_once_per_track_and_replays_do_not_duplicate(
    event_bus: EventBus, detector: Any, face_analyzer: Any, hamilton_clip: Path
) -> None:
    vision = await start_vision_stack(event_bus, detector, faces=face_engine(face_analyzer))
    try:
        camera = new_camera("FACES")
        await run_clip(vision, camera, hamilton_clip, "replay1")
        await vision.service.publisher.flush()
        first = crops_of(vision)
        assert first, "no face crop published for the clip's visible faces"

        by_track: dict[str, list[events_pb2.FaceCropObserved]] = defaultdict(list)
        for crop in first:
            by_track[crop.track_id].append(crop)
            image = cv2.imdecode(np.frombuffer(crop.crop_jpeg, np.uint8), cv2.IMREAD_COLOR)
            assert image is not None and max(image.shape[:2]) <= 320
            # The crop really holds the face it describes: the detector finds it again, where it says.
            found = face_analyzer.detect(image)
            assert found, f"no face in the published crop of {crop.track_id}"
            cx, cy = (crop.box_x1 + crop.box_x2) / 2, (crop.box_y1 + crop.box_y2) / 2
            assert any(f.box[0] <= cx <= f.box[2] and f.box[1] <= cy <= f.box[3] for f in found)
            assert len(crop.landmarks) == 5 and crop.quality_score >= 0.1
        # Each track: its first crop, then only clearly better ones, each in a later frame.
        for crops in by_track.values():
            for before, after in zip(crops, crops[1:]):
                assert after.frame_index > before.frame_index
                assert clearly_better(FaceQuality(0, 0, 0, after.quality_score),
                                      FaceQuality(0, 0, 0, before.quality_score))
        assert max(c.quality_score for c in first) > 0.8  # the clip shows a sharp frontal face

        subject = event_bus.subject(vision.org, "vision", FACE_CROP)
        stored = await stream_message_count(event_bus, subject)
        assert stored == len(first)

        # The same file with the same session id again: the same crops with the same ids, dropped by JetStream.
        await run_clip(vision, camera, hamilton_clip, "replay1")
        await vision.service.publisher.flush()
        replayed = crops_of(vision)[len(first):]
        assert [c.track_id for c in replayed] == [c.track_id for c in first]
        assert await stream_message_count(event_bus, subject) == stored
    finally:
        await stop_vision_stack(vision)


async def test_a_stream_can_turn_face_crops_off(
    event_bus: EventBus, detector: Any, face_analyzer: Any, hamilton_clip: Path
) -> None:
    vision = await start_vision_stack(event_bus, detector, faces=face_engine(face_analyzer))
    try:
        camera = new_camera("NOFACES")
        await run_clip(vision, camera, hamilton_clip, "off1", face_crops=False, max_frames=60)
        await vision.service.publisher.flush()
        assert vision.events.of("track_ended")  # the stream ran and tracked people
        assert crops_of(vision) == []
    finally:
        await stop_vision_stack(vision)
