"""PersonDetector with the shipped NanoDet on real frames, plus its input and model-loading contracts."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from footfall.inference import (
    Detections,
    ModelLoadError,
    PersonDetector,
    load_person_detector,
    resolve_model,
)
from footfall.inference.backends.onnx import OnnxRuntimeBackend
from footfall.inference.nms import pairwise_iou
from footfall.inference.preprocess import letterbox

FACES = "faces/face_recognition"


def matched(found: np.ndarray, truth: np.ndarray, threshold: float = 0.5) -> int:
    """One-to-one greedy matches at IoU >= threshold, detections taken best first."""
    if len(found) == 0 or len(truth) == 0:
        return 0
    ious = pairwise_iou(found, truth)
    used: set[int] = set()
    for row in ious:
        for j in np.argsort(-row):
            if row[j] < threshold:
                break
            if int(j) not in used:
                used.add(int(j))
                break
    return len(used)


def assert_inside(det: Detections, frame: np.ndarray) -> None:
    h, w = frame.shape[:2]
    assert (
        det.xyxy.dtype == np.float32 and det.confidence.dtype == np.float32 and det.class_id.dtype == np.int32
    )
    assert np.all(det.xyxy[:, 0] >= 0) and np.all(det.xyxy[:, 1] >= 0)
    assert np.all(det.xyxy[:, 2] <= w) and np.all(det.xyxy[:, 3] <= h)
    assert np.all(det.xyxy[:, 2] > det.xyxy[:, 0]) and np.all(det.xyxy[:, 3] > det.xyxy[:, 1])


# --- real frames -------------------------------------------------------------------------------------


def test_pets_frame_200_finds_the_people(detector: PersonDetector, pets_frames, pets_ground_truth) -> None:
    frame = pets_frames[200]
    det = detector.detect(frame)
    truth = pets_ground_truth[200]  # 7 people
    assert 6 <= len(det) <= 9, det
    assert set(det.class_id.tolist()) == {0}
    assert np.all(det.confidence >= detector.confidence)
    assert np.all(np.diff(det.confidence) <= 0), "best first"
    assert_inside(det, frame)
    assert matched(det.xyxy, truth) >= len(truth) - 1


def test_pets_frames_precision_and_recall(detector: PersonDetector, pets_frames, pets_ground_truth) -> None:
    found = truth_total = hits = 0
    for number, frame in pets_frames.items():
        det = detector.detect(frame)
        truth = pets_ground_truth.get(number, np.zeros((0, 4), np.float32))
        found += len(det)
        truth_total += len(truth)
        hits += matched(det.xyxy, truth)
        assert_inside(det, frame)
    assert hits / truth_total >= 0.8, (hits, truth_total)
    assert hits / found >= 0.8, (hits, found)


@pytest.mark.parametrize(
    ("photo", "low", "high"),
    [
        ("examples/two_people.jpg", 2, 3),
        ("examples/knn_examples/test/obama_and_biden.jpg", 2, 3),
        ("examples/knn_examples/test/kit_with_rose.jpg", 1, 3),
        ("examples/obama-480p.jpg", 1, 2),
        ("tests/test_images/biden.jpg", 1, 2),
        ("examples/lin-manuel-miranda.png", 1, 2),
    ],
)
def test_photos_have_people(
    detector: PersonDetector, data_dir: Path, photo: str, low: int, high: int
) -> None:
    path = data_dir / FACES / photo
    if not path.is_file():
        pytest.skip(f"{path} not in the test data")
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    det = detector.detect(image)
    assert low <= len(det) <= high, (photo, det)
    assert_inside(det, image)


def test_batch_equals_single(detector: PersonDetector, pets_frames, data_dir: Path) -> None:
    photo = cv2.imread(str(data_dir / FACES / "examples/two_people.jpg"), cv2.IMREAD_COLOR)
    frames = [pets_frames[200], photo, pets_frames[400][:, 100:], pets_frames[1]]
    batched = detector.detect_batch(frames)
    assert len(batched) == len(frames)
    for frame, got in zip(frames, batched, strict=True):
        single = detector.detect(frame)
        assert len(got) == len(single)
        np.testing.assert_allclose(got.xyxy, single.xyxy, atol=1e-3)
        np.testing.assert_allclose(got.confidence, single.confidence, atol=1e-5)
        np.testing.assert_array_equal(got.class_id, single.class_id)
    assert detector.detect_batch([]) == []


@pytest.mark.parametrize("model", ["nanodet", "nanodet-int8"])
def test_regions_find_the_people_inside_them_as_a_full_pass_does(pets_frames, pets_ground_truth, model) -> None:
    # Motion gating's detector call: windows of the letterboxed frame around each person.
    det = load_person_detector(model=model, input_size=(480, 352), confidence=0.2)
    frame, truth = pets_frames[200], pets_ground_truth[200]
    full = det.detect(frame)
    agreement = []
    for person in truth:
        x1, y1, x2, y2 = person
        pad = 0.06 * 480
        region = (int(x1 - pad), int(y1 - pad), int(x2 + pad), int(y2 + pad))
        found = det.detect_regions(frame, [region])
        assert_inside(found, frame)
        # Everyone the full pass finds, the region around them finds too...
        if pairwise_iou(person[None], full.xyxy).max() >= 0.5:
            assert pairwise_iou(person[None], found.xyxy).max() >= 0.5
        # ...with the same box (same pixels, same grid), bar two people side by side.
        best_full = full.xyxy[pairwise_iou(person[None], full.xyxy)[0].argmax()]
        best_region = found.xyxy[pairwise_iou(person[None], found.xyxy)[0].argmax()]
        agreement.append(pairwise_iou(best_full[None], best_region[None])[0, 0])
        # Everything found lies in (or straddles) the window around the region.
        assert np.all(found.xyxy[:, 2] > region[0] - 32) and np.all(found.xyxy[:, 0] < region[2] + 32)
    assert np.median(agreement) > 0.9, agreement
    # Several regions at once: about the people of all of them, no duplicates across windows.
    regions = [(int(b[0]) - 29, int(b[1]) - 29, int(b[2]) + 29, int(b[3]) + 29) for b in truth]
    several = det.detect_regions(frame, regions)
    assert matched(several.xyxy[several.confidence >= 0.5], truth) >= matched(full.xyxy[full.confidence >= 0.5], truth) - 1
    ious = pairwise_iou(several.xyxy, several.xyxy) - np.eye(len(several))
    assert ious.max(initial=0.0) <= det.nms_iou


def test_regions_none_is_the_whole_frame_and_empty_is_nothing(detector: PersonDetector, pets_frames) -> None:
    frame = pets_frames[300]
    whole = detector.detect(frame)
    np.testing.assert_array_equal(detector.detect_regions(frame, None).xyxy, whole.xyxy)
    # A region covering most of the frame runs the whole frame (a window would save little).
    np.testing.assert_array_equal(detector.detect_regions(frame, [(0, 0, 470, 350)]).xyxy, whole.xyxy)
    assert len(detector.detect_regions(frame, [])) == 0
    assert len(detector.detect_regions(frame, [(500, 400, 600, 500)])) == 0  # outside the frame


def test_results_are_deterministic(detector: PersonDetector, pets_frames) -> None:
    first = detector.detect(pets_frames[300])
    again = detector.detect(pets_frames[300].copy())
    np.testing.assert_array_equal(first.xyxy, again.xyxy)
    np.testing.assert_array_equal(first.confidence, again.confidence)


def test_low_confidence_keeps_the_confident_boxes(detector: PersonDetector, pets_frames) -> None:
    frame = pets_frames[200]
    strict = detector.detect(frame)
    loose = detector.with_settings(confidence=0.1).detect(frame)
    assert len(loose) >= len(strict)
    assert loose.confidence.min() >= 0.1
    ious = pairwise_iou(strict.xyxy, loose.xyxy)
    assert np.all(ious.max(axis=1) > 0.99), "every confident box survives at a lower threshold"


@pytest.mark.parametrize("size", [(320, 256), (416, 416), (640, 480)])
def test_input_size_is_configurable(detector: PersonDetector, pets_frames, pets_ground_truth, size) -> None:
    det = detector.with_settings(input_size=size).detect(pets_frames[200])
    assert matched(det.xyxy, pets_ground_truth[200]) >= 5
    assert_inside(det, pets_frames[200])


def test_all_classes(detector: PersonDetector, data_dir: Path) -> None:
    image = cv2.imread(str(data_dir / FACES / "examples/two_people.jpg"), cv2.IMREAD_COLOR)
    model = resolve_model("nanodet")
    every = PersonDetector(model, detector.backend, classes=None, confidence=0.3)
    det = every.detect(image)
    assert 0 in det.class_id
    assert det.class_id.min() >= 0 and det.class_id.max() < model.num_classes


# --- input contract -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "frame",
    [
        np.zeros((360, 480, 3), np.float32),  # wrong dtype
        np.zeros((360, 480), np.uint8),  # grey
        np.zeros((360, 480, 4), np.uint8),  # BGRA
        np.zeros((0, 0, 3), np.uint8),  # empty
        np.zeros((360, 0, 3), np.uint8),
        None,
        [[0, 0, 0]],
    ],
    ids=["float32", "grey", "bgra", "empty", "zero-width", "none", "list"],
)
def test_malformed_frames_raise_value_error(detector: PersonDetector, frame) -> None:
    with pytest.raises(ValueError, match="frame"):
        detector.detect(frame)


def test_malformed_frame_in_batch_names_its_index(detector: PersonDetector) -> None:
    good = np.zeros((120, 160, 3), np.uint8)
    with pytest.raises(ValueError, match="frame 1"):
        detector.detect_batch([good, np.zeros((120, 160), np.uint8)])
    with pytest.raises(ValueError, match="sequence of frames"):
        detector.detect_batch(good)


def test_blank_and_tiny_frames(detector: PersonDetector) -> None:
    assert len(detector.detect(np.zeros((360, 480, 3), np.uint8))) == 0
    assert len(detector.detect(np.full((1, 1, 3), 255, np.uint8))) == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"input_size": (400, 320)}, "multiples of 32"),
        ({"input_size": (416,)}, "width, height"),
        ({"confidence": 1.5}, "confidence"),
        ({"nms_iou": -0.1}, "nms_iou"),
        ({"classes": (80,)}, "classes"),
    ],
)
def test_bad_settings_raise_value_error(detector: PersonDetector, kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        PersonDetector(resolve_model("nanodet"), detector.backend, **kwargs)


# --- model loading ------------------------------------------------------------------------------------


def test_missing_model_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.onnx"
    with pytest.raises(ModelLoadError) as err:
        load_person_detector(model=missing)
    assert str(missing) in str(err.value) and "no such file" in str(err.value)
    with pytest.raises(ModelLoadError, match="built-in models: nanodet"):
        load_person_detector(model="nanodet-xl")
    with pytest.raises(ModelLoadError, match="does not exist"):
        OnnxRuntimeBackend(missing)


def test_garbage_onnx_file(tmp_path: Path) -> None:
    garbage = tmp_path / "broken.onnx"
    garbage.write_bytes(b"\x08\x07definitely not protobuf" * 50)
    with pytest.raises(ModelLoadError) as err:
        load_person_detector(model=garbage)
    assert str(garbage) in str(err.value)


def test_truncated_nanodet(tmp_path: Path) -> None:
    folder = tmp_path / "nanodet"
    folder.mkdir()
    shipped = resolve_model("nanodet").path
    (folder / "nanodet.onnx").write_bytes(shipped.read_bytes()[: 1 << 20])
    (folder / "model.json").write_text((shipped.parent / "model.json").read_text())
    with pytest.raises(ModelLoadError, match="onnxruntime cannot load it"):
        load_person_detector(model=folder / "nanodet.onnx")


def test_malformed_model_json(tmp_path: Path) -> None:
    bad = tmp_path / "model.json"
    bad.write_text('{"name": "x", "file": "x.onnx"}')
    with pytest.raises(ModelLoadError, match="malformed model description"):
        load_person_detector(model=bad)
    bad.write_text("{not json")
    with pytest.raises(ModelLoadError, match="unreadable"):
        load_person_detector(model=bad)


def test_unsupported_file_type(tmp_path: Path) -> None:
    weights = tmp_path / "weights.tflite"
    weights.write_bytes(b"x")
    with pytest.raises(ModelLoadError, match="unsupported model file type"):
        load_person_detector(model=weights)


def test_pt_weights_without_ultralytics(tmp_path: Path) -> None:
    try:
        import ultralytics  # noqa: F401

        pytest.skip("ultralytics is installed")
    except ImportError:
        pass
    weights = tmp_path / "yolo11n.pt"
    weights.write_bytes(b"not really torch")
    with pytest.raises(ModelLoadError, match=r"footfall\[yolo\]"):
        load_person_detector(model=weights)
    with pytest.raises(ModelLoadError, match="Triton serves ONNX"):
        load_person_detector("triton", model=weights, triton_url="127.0.0.1:1")


def test_unknown_backend() -> None:
    with pytest.raises(ValueError, match="backend"):
        load_person_detector("tensorrt")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="triton_url"):
        load_person_detector("triton")


# --- small pieces -------------------------------------------------------------------------------------


def test_detections_api() -> None:
    empty = Detections.empty()
    assert len(empty) == 0 and empty.xyxy.shape == (0, 4)
    det = Detections(
        xyxy=np.array([[0, 0, 10, 10], [5, 5, 20, 20]]),
        confidence=np.array([0.9, 0.4]),
        class_id=np.array([0, 2]),
    )
    assert det.xyxy.dtype == np.float32 and det.class_id.dtype == np.int32
    assert len(det.filter(det.confidence > 0.5)) == 1
    assert det.filter(np.array([1])).class_id.tolist() == [2]
    with pytest.raises(ValueError, match="mask"):
        det.filter(np.array([True]))
    with pytest.raises(ValueError, match="disagree"):
        Detections(xyxy=np.zeros((2, 4)), confidence=np.zeros(1), class_id=np.zeros(2))
    with pytest.raises(AttributeError):
        det.confidence = np.zeros(2)  # type: ignore[misc]


def test_letterbox_maps_boxes_back_exactly() -> None:
    frame = np.zeros((360, 480, 3), np.uint8)
    canvas, box = letterbox(frame, (416, 320), pad_value=0)
    assert canvas.shape == (320, 416, 3)
    assert (box.pad_x, box.pad_y) == (0, 4)
    source = np.array([[10.0, 20.0, 200.0, 300.0]], np.float32)
    in_input = source.copy()
    in_input[:, 0::2] = source[:, 0::2] * box.scale_x + box.pad_x
    in_input[:, 1::2] = source[:, 1::2] * box.scale_y + box.pad_y
    np.testing.assert_allclose(box.to_source(in_input), source, atol=1e-4)
    tall = np.zeros((500, 100, 3), np.uint8)
    canvas, box = letterbox(tall, (416, 320), pad_value=114)
    assert canvas.shape == (320, 416, 3) and box.pad_x > 0 and box.pad_y == 0
    assert canvas[0, 0, 0] == 114
