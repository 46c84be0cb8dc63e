"""The face models on a real tritonserver give the in-process results, model by model.

tritonserver comes from nvidia-pytriton (inference/triton/setup_test_server.sh), python backend only:
the ONNX models (face_detector, face_age, face_gender) run there through the python-backend variant of
their configs, dlib's embedder and the TFLite emotion model through their own model.py, exactly as
they would on a production Triton's python backend.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from footfall.inference import ModelLoadError
from footfall.inference.faces import FaceAnalyzer, load_face_analyzer
from footfall.inference.faces.triton_repository import prepare_face_repository
from footfall.inference.triton.local_server import LocalTritonServer, find_install

pytestmark = pytest.mark.triton

MAX_BATCH = 2  # small, so the group photo's three faces exercise the client-side split
PHOTOS = (
    "examples/knn_examples/test/obama_and_biden.jpg",
    "examples/knn_examples/test/kit_with_rose.jpg",
    "examples/obama_small.jpg",
    "tests/test_images/obama_partial_face.jpg",
)


@pytest.fixture(scope="module")
def triton_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTritonServer]:
    try:
        find_install()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    repository = prepare_face_repository(
        tmp_path_factory.mktemp("face_repository"), python_backend=True, threads=1, max_batch_size=MAX_BATCH
    )
    server = LocalTritonServer(repository)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def both(triton_server: LocalTritonServer) -> Iterator[tuple[FaceAnalyzer, FaceAnalyzer]]:
    local = load_face_analyzer(threads=1)
    remote = load_face_analyzer("triton", triton_url=triton_server.grpc_url)
    yield local, remote
    local.close()
    remote.close()


def test_same_results_on_every_model(both, shared_data: Path) -> None:
    local, remote = both
    compared = 0
    for photo in PHOTOS:
        image = cv2.imread(str(shared_data / "faces/face_recognition" / photo))
        expected, got = local.analyze(image), remote.analyze(image)
        assert len(got) == len(expected) > 0
        for a, b in zip(expected, got, strict=True):
            np.testing.assert_allclose(b.face.box, a.face.box, atol=1e-3)
            np.testing.assert_allclose(b.face.landmarks, a.face.landmarks, atol=1e-3)
            assert abs(b.face.score - a.face.score) < 1e-5
            np.testing.assert_allclose(b.embedding, a.embedding, atol=1e-5)
            assert (b.attributes.age, b.attributes.gender, b.attributes.emotion) == (
                a.attributes.age,
                a.attributes.gender,
                a.attributes.emotion,
            )
            for name, p in a.attributes.emotions.items():
                assert abs(b.attributes.emotions[name] - p) < 1e-5
            assert abs(b.attributes.age_confidence - a.attributes.age_confidence) < 1e-5
            compared += 1
    assert compared >= 7


def test_batched_detection(both, shared_data: Path) -> None:
    local, remote = both
    frames = [cv2.imread(str(shared_data / "faces/face_recognition" / p)) for p in PHOTOS]
    for a, b in zip(local.detect_batch(frames), remote.detect_batch(frames), strict=True):
        assert len(a) == len(b)
        for fa, fb in zip(a, b, strict=True):
            np.testing.assert_allclose(fb.box, fa.box, atol=1e-3)


def test_missing_model_is_a_load_error(triton_server: LocalTritonServer) -> None:
    from footfall.inference.backends.triton import TritonBackend

    with pytest.raises(ModelLoadError, match="face_nope"):
        TritonBackend(triton_server.grpc_url, "face_nope")
