"""The Triton backend against a real tritonserver gives the same detections as in-process onnxruntime.

tritonserver comes from nvidia-pytriton in a separate venv (``inference/triton/setup_test_server.sh``);
it has only the python backend, so the repository is the python-backend variant of the shipped one
(same model name, inputs and outputs; model.py runs the same ONNX with onnxruntime).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from footfall.inference import Detections, ModelLoadError, PersonDetector, load_person_detector
from footfall.inference.triton.local_server import LocalTritonServer, find_free_ports, find_install
from footfall.inference.triton.prepare_repository import prepare

pytestmark = pytest.mark.triton

MAX_BATCH = 4  # small, so a longer batch exercises the client-side split


@pytest.fixture(scope="module")
def triton_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTritonServer]:
    try:
        find_install()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    repository = prepare(
        tmp_path_factory.mktemp("model_repository"), python_backend=True, threads=2, max_batch_size=MAX_BATCH
    )
    server = LocalTritonServer(repository)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def both(triton_server: LocalTritonServer) -> Iterator[tuple[PersonDetector, PersonDetector]]:
    local = load_person_detector("onnx", threads=2)
    remote = load_person_detector("triton", triton_url=triton_server.grpc_url)
    yield local, remote
    local.close()
    remote.close()


def assert_same(a: Detections, b: Detections) -> None:
    assert len(a) == len(b)
    np.testing.assert_allclose(a.xyxy, b.xyxy, rtol=0, atol=1e-3)
    np.testing.assert_allclose(a.confidence, b.confidence, rtol=0, atol=1e-5)
    np.testing.assert_array_equal(a.class_id, b.class_id)


def test_same_detections_frame_by_frame(both, pets_frames) -> None:
    local, remote = both
    total = 0
    for frame in pets_frames.values():
        expected = local.detect(frame)
        assert_same(remote.detect(frame), expected)
        total += len(expected)
    assert total > 3 * len(pets_frames), "the frames have people in them"


def test_same_detections_batched(both, pets_frames) -> None:
    local, remote = both
    frames = list(pets_frames.values())  # 8 frames > MAX_BATCH: two requests
    assert len(frames) > MAX_BATCH
    for got, expected in zip(remote.detect_batch(frames), local.detect_batch(frames), strict=True):
        assert_same(got, expected)


def test_same_detections_other_size_and_low_threshold(both, pets_frames) -> None:
    local, remote = both
    local = local.with_settings(input_size=(320, 256), confidence=0.15)
    remote = remote.with_settings(input_size=(320, 256), confidence=0.15)
    assert_same(remote.detect(pets_frames[200]), local.detect(pets_frames[200]))


def test_unknown_model_is_a_load_error(triton_server: LocalTritonServer) -> None:
    with pytest.raises(ModelLoadError, match="yolo-nope"):
        load_person_detector("triton", triton_url=triton_server.grpc_url, triton_model_name="yolo-nope")


def test_unreachable_server_is_a_load_error() -> None:
    (port,) = find_free_ports(1, start=29000, end=29500)
    with pytest.raises(ModelLoadError, match="did not answer"):
        load_person_detector("triton", triton_url=f"127.0.0.1:{port}")
