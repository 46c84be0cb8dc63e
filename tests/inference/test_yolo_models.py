"""Bring-your-own YOLO weights: a synthetic ultralytics-format ONNX with known boxes.

The model built here ignores its pixels and always returns the same raw head, ``(B, 4 + C, N)`` with
``cx, cy, w, h`` in input pixels and sigmoid class scores, like ``yolo export format=onnx`` (no NMS).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from footfall.inference import ModelLoadError, PersonDetector, YoloHead, load_person_detector, resolve_model
from footfall.inference.backends.onnx import OnnxRuntimeBackend

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper

NAMES = {0: "person", 1: "bicycle", 2: "car"}
SIDE = 320
# rows: cx, cy, w, h, person, bicycle, car (input pixels of a 320x320 input)
ANCHORS = np.array(
    [
        [100, 120, 40, 80, 0.90, 0.01, 0.02],  # person A
        [102, 121, 42, 78, 0.80, 0.01, 0.02],  # duplicate of A: NMS removes it
        [250, 200, 30, 90, 0.60, 0.05, 0.01],  # person B
        [160, 160, 100, 50, 0.05, 0.01, 0.95],  # a car
        [40, 260, 20, 40, 0.10, 0.01, 0.01],  # a weak person
    ],
    dtype=np.float32,
)


def yolo_onnx(
    path: Path,
    *,
    head: np.ndarray | None = None,
    batch: int | str = "batch",
    size: int | str = "height",
    metadata: dict[str, str] | None = None,
) -> Path:
    """Write an ONNX whose output is ``head`` broadcast over the batch (opset 13)."""
    head = ANCHORS.T[None] if head is None else head  # (1, 4 + C, N)
    width = size if isinstance(size, int) else "width"
    image = helper.make_tensor_value_info("images", TensorProto.FLOAT, [batch, 3, size, width])
    output = helper.make_tensor_value_info("output0", TensorProto.FLOAT, [batch, *head.shape[1:]])
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["m1"], axes=[1, 2, 3], keepdims=1),  # (B,1,1,1)
        helper.make_node("Squeeze", ["m1", "axis3"], ["m2"]),  # (B,1,1)
        helper.make_node("Mul", ["m2", "zero"], ["zeros"]),
        helper.make_node("Add", ["zeros", "head"], ["output0"]),
    ]
    graph = helper.make_graph(
        nodes,
        "synthetic_yolo",
        [image],
        [output],
        initializer=[
            numpy_helper.from_array(head.astype(np.float32), "head"),
            numpy_helper.from_array(np.array([3], np.int64), "axis3"),
            numpy_helper.from_array(np.array(0.0, np.float32), "zero"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    meta = (
        {"names": repr(NAMES), "imgsz": f"[{SIDE}, {SIDE}]", "stride": "32", "task": "detect"}
        if metadata is None
        else metadata
    )
    for key, value in meta.items():
        model.metadata_props.append(onnx.StringStringEntryProto(key=key, value=value))
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def expected_source_boxes(rows: list[int], frame_w: int, frame_h: int) -> np.ndarray:
    scale = min(SIDE / frame_w, SIDE / frame_h)
    new_w, new_h = round(frame_w * scale), round(frame_h * scale)
    pad_x, pad_y = (SIDE - new_w) // 2, (SIDE - new_h) // 2
    cx, cy, w, h = ANCHORS[rows, 0], ANCHORS[rows, 1], ANCHORS[rows, 2], ANCHORS[rows, 3]
    xyxy = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    xyxy[:, 0::2] = (xyxy[:, 0::2] - pad_x) / (new_w / frame_w)
    xyxy[:, 1::2] = (xyxy[:, 1::2] - pad_y) / (new_h / frame_h)
    return np.clip(xyxy, 0, [frame_w, frame_h, frame_w, frame_h]).astype(np.float32)


def test_yolo_spec_from_metadata(tmp_path: Path) -> None:
    spec = resolve_model(yolo_onnx(tmp_path / "yolo.onnx"))
    assert isinstance(spec.head, YoloHead)
    assert spec.class_names == ("person", "bicycle", "car")
    assert spec.input.name == "images" and spec.output_name == "output0"
    assert spec.input.default_size == (SIDE, SIDE) and not spec.input.fixed_size
    assert spec.input.channel_order == "rgb" and spec.input.std == (255.0, 255.0, 255.0)


def test_yolo_decoder_known_boxes(tmp_path: Path) -> None:
    detector = load_person_detector(model=yolo_onnx(tmp_path / "yolo.onnx"), confidence=0.25, nms_iou=0.5)
    frame = np.zeros((480, 640, 3), np.uint8)  # letterboxed to 320x240 + 40 px bands
    det = detector.detect(frame)
    np.testing.assert_allclose(det.confidence, [0.90, 0.60], atol=1e-6)
    np.testing.assert_array_equal(det.class_id, [0, 0])
    np.testing.assert_allclose(det.xyxy, expected_source_boxes([0, 2], 640, 480), atol=1e-3)


def test_yolo_classes_and_low_confidence(tmp_path: Path) -> None:
    path = yolo_onnx(tmp_path / "yolo.onnx")
    frame = np.zeros((480, 640, 3), np.uint8)
    everything = load_person_detector(model=path, classes=None, confidence=0.25, nms_iou=0.5).detect(frame)
    assert sorted(everything.class_id.tolist()) == [0, 0, 2]
    low = load_person_detector(model=path, confidence=0.05, nms_iou=0.5).detect(frame)
    np.testing.assert_allclose(low.confidence, [0.90, 0.60, 0.10], atol=1e-6)
    no_nms = load_person_detector(model=path, confidence=0.25, nms_iou=0.99).detect(frame)
    assert len(no_nms) == 3  # the duplicate survives a lax NMS


def test_yolo_batch_equals_single(tmp_path: Path) -> None:
    detector = load_person_detector(model=yolo_onnx(tmp_path / "yolo.onnx"), confidence=0.25)
    frames = [np.zeros((480, 640, 3), np.uint8), np.zeros((200, 100, 3), np.uint8)]
    batched = detector.detect_batch(frames)
    for frame, got in zip(frames, batched, strict=True):
        single = detector.detect(frame)
        np.testing.assert_allclose(got.xyxy, single.xyxy)
    np.testing.assert_allclose(batched[1].xyxy, expected_source_boxes([0, 2], 100, 200), atol=1e-3)


def test_static_batch_and_size_export(tmp_path: Path) -> None:
    path = yolo_onnx(tmp_path / "static.onnx", batch=1, size=SIDE)
    spec = resolve_model(path)
    assert spec.input.fixed_size and spec.input.default_size == (SIDE, SIDE)
    backend = OnnxRuntimeBackend(path)
    assert backend.static_batch
    detector = PersonDetector(spec, backend, confidence=0.25)
    results = detector.detect_batch([np.zeros((480, 640, 3), np.uint8)] * 3)  # looped inside the backend
    assert [len(r) for r in results] == [2, 2, 2]
    with pytest.raises(ValueError, match="fixed input of 320x320"):
        PersonDetector(spec, backend, input_size=(640, 640))


def test_names_missing_uses_output_width(tmp_path: Path) -> None:
    path = yolo_onnx(tmp_path / "plain.onnx", batch=1, size=SIDE, metadata={})
    spec = resolve_model(path)
    assert spec.class_names == ("class0", "class1", "class2")
    assert spec.input.default_size == (SIDE, SIDE)


def test_wrong_class_count_is_a_load_error(tmp_path: Path) -> None:
    meta = {"names": repr({0: "person"}), "imgsz": "[320, 320]"}
    with pytest.raises(ModelLoadError, match="not \\(B, 4 \\+ 1, N\\)"):
        resolve_model(yolo_onnx(tmp_path / "bad.onnx", batch=1, size=SIDE, metadata=meta))


def test_nms_included_export_is_a_load_error(tmp_path: Path) -> None:
    end2end = np.zeros((1, 300, 6), np.float32)  # (B, max_det, x1 y1 x2 y2 score class)
    path = yolo_onnx(tmp_path / "e2e.onnx", head=end2end, batch=1, size=SIDE)
    with pytest.raises(ModelLoadError, match="NMS-included"):
        resolve_model(path)


def test_output_checked_at_construction(tmp_path: Path) -> None:
    """A model.json whose head does not fit the model fails at construction (warm-up), not mid-stream."""
    yolo_onnx(tmp_path / "yolo.onnx")
    nanodet = json.loads((resolve_model("nanodet").path.parent / "model.json").read_text())
    nanodet.update(file="yolo.onnx")
    nanodet["input"]["name"] = "images"
    nanodet["output"]["name"] = "output0"
    (tmp_path / "model.json").write_text(json.dumps(nanodet))
    with pytest.raises(
        ModelLoadError, match=r"NanoDet output per image should be \(2730, 124\).*got \(7, 5\)"
    ):
        load_person_detector(model=tmp_path / "model.json")


def test_not_a_detection_task(tmp_path: Path) -> None:
    meta = {"names": repr(NAMES), "imgsz": "[320, 320]", "task": "segment"}
    with pytest.raises(ModelLoadError, match="'segment' model"):
        resolve_model(yolo_onnx(tmp_path / "seg.onnx", metadata=meta))


class _FakeTensor:
    def __init__(self, array: np.ndarray) -> None:
        self.array = array

    def float(self) -> _FakeTensor:
        return self

    def cpu(self) -> _FakeTensor:
        return self

    def numpy(self) -> np.ndarray:
        return self.array


def test_pt_weights_go_through_the_same_pipeline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ultralytics/torch replaced by fakes: the .pt glue feeds the same letterbox, decoder and NMS."""
    import contextlib
    import sys
    import types

    seen: dict[str, object] = {}

    class FakeModel:
        args: ClassVar[dict[str, int]] = {"imgsz": SIDE}
        stride: ClassVar[list[float]] = [8.0, 16.0, 32.0]

        def eval(self) -> FakeModel:
            return self

        def __call__(self, batch: _FakeTensor) -> tuple[_FakeTensor, list[object]]:
            seen["input"] = batch.array
            head = np.repeat(ANCHORS.T[None], len(batch.array), axis=0)
            return _FakeTensor(head), []

    class FakeYOLO:
        def __init__(self, path: str, task: str) -> None:
            seen["env"] = (os.environ.get("YOLO_OFFLINE"), os.environ.get("YOLO_AUTOINSTALL"))
            self.task = task
            self.names = NAMES
            self.model = FakeModel()

    torch = types.ModuleType("torch")
    torch.inference_mode = contextlib.nullcontext  # type: ignore[attr-defined]
    torch.from_numpy = _FakeTensor  # type: ignore[attr-defined]
    ultralytics = types.ModuleType("ultralytics")
    ultralytics.YOLO = FakeYOLO  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "ultralytics", ultralytics)
    monkeypatch.delenv("YOLO_OFFLINE", raising=False)
    monkeypatch.delenv("YOLO_AUTOINSTALL", raising=False)
    weights = tmp_path / "people.pt"
    weights.write_bytes(b"fake")

    pt = load_person_detector(model=weights, confidence=0.25, nms_iou=0.5)
    onnx_twin = load_person_detector(model=yolo_onnx(tmp_path / "people.onnx"), confidence=0.25, nms_iou=0.5)
    frame = np.zeros((480, 640, 3), np.uint8)
    got, expected = pt.detect(frame), onnx_twin.detect(frame)
    np.testing.assert_allclose(got.xyxy, expected.xyxy)
    np.testing.assert_allclose(got.confidence, expected.confidence)
    assert seen["env"] == ("1", "False")
    image = seen["input"]
    assert isinstance(image, np.ndarray) and image.shape == (1, 3, SIDE, SIDE)
    assert abs(float(image[0, 0, 0, 0]) - 114 / 255) < 1e-6  # RGB / 255 with ultralytics' grey bands
