"""Faces in the vision pipeline against real servers and real models: NATS JetStream, the person detector, the
face analyzer, and the shared Hamilton clip (two known people, faces large enough to find)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from footfall.services.vision.face_engine import FaceEngine
from footfall.services.vision.faces import FaceSampling
from tests.vision_service.conftest import detector, vision_auth  # noqa: F401 - shared fixtures

CLIP = "faces/face_recognition/examples/short_hamilton_clip.mp4"


@pytest.fixture(scope="session")
def hamilton_clip(shared_data: Path) -> Path:
    path = shared_data / CLIP
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return path


@pytest.fixture(scope="session")
def face_analyzer() -> Any:
    from footfall.inference.faces import load_face_analyzer

    return load_face_analyzer(threads=2)


def face_engine(analyzer: Any, **sampling: Any) -> FaceEngine:
    return FaceEngine(lambda: analyzer, sampling=FaceSampling(**sampling))
