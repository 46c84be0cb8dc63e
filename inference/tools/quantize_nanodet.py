#!/usr/bin/env python3
"""Build ``inference/models/nanodet-int8/nanodet-int8.onnx`` from the shipped fp32 ``nanodet.onnx``.

Why: on the project's small CPUs the network is ~90 % of the vision pipeline's time. With int8
weights and activations onnxruntime runs NanoDet at 416x320 in ~5.8 ms instead of ~14.5 ms per
frame (one thread, AVX512-VNNI), and taking ``uint8`` frames removes ~1.5 ms of numpy normalisation.

Steps (all with ``onnx`` + ``onnxruntime.quantization``; no retraining):

1. Exact graph rewrites of the fp32 model (outputs bit-identical): each zero ``Pad`` in front of a
   ``Conv`` becomes the Conv's ``pads``; the ``-inf`` ``Pad`` in front of the ``MaxPool`` becomes the
   MaxPool's ``pads``. (That ``-inf`` tensor is also what made calibration see an infinite range.)
2. Static QDQ quantisation: weights int8 per output channel, activations uint8 per tensor, MinMax
   ranges calibrated on images that are *not* the PETS test video: the face_recognition photos and
   every 8th frame of ``short_hamilton_clip.mp4`` from the shared test data, each also mirrored,
   plus one synthetic street-like mosaic per image (small pasted copies of the others, for the
   small-person activation ranges). Each image is letterboxed and normalised exactly as at run time.
3. The input becomes ``image`` ``(batch, height, width, 3)`` ``uint8`` BGR (the letterboxed frame),
   and the graph does ``Transpose -> Cast -> (x - mean) * (1 / std)`` itself: bit-identical to
   ``preprocess.to_tensor`` (same float32 operations), on flattened channel planes so that
   onnxruntime keeps it cheap (see :func:`uint8_input`).

``--u8`` builds ``models/nanodet-u8/nanodet-u8.onnx`` instead: steps 1 and 3 only, still fp32, whose
detections are bit-identical to ``nanodet.onnx`` with the numpy pre-processing (~1 ms less network
time and no float pre-processing in Python); no data needed.

Run from the repository root with the project venv (needs the shared test data, ../shared/data)::

    python inference/tools/quantize_nanodet.py
    python inference/tools/quantize_nanodet.py --output /tmp/nanodet-int8.onnx --check

The result depends on the onnxruntime version (1.30.0 made the committed file); its sha256 is in
``models/nanodet-int8/model.json``. ``--check`` prints detection F1 on every 3rd PETS frame for the
fp32 and int8 models (evaluation only; PETS is never used for calibration).
"""

from __future__ import annotations

import argparse
import dataclasses
import glob
import hashlib
import os
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))

SOURCE = REPO_ROOT / "inference" / "models" / "nanodet" / "nanodet.onnx"
DEFAULT_OUTPUT = REPO_ROOT / "inference" / "models" / "nanodet-int8" / "nanodet-int8.onnx"
U8_OUTPUT = REPO_ROOT / "inference" / "models" / "nanodet-u8" / "nanodet-u8.onnx"
CALIBRATION_SIZE = (416, 320)
# Nodes kept in float32 (env NANODET_FP32_NODES overrides, comma-separated).
FP32_NODES: tuple[str, ...] = ()
SEED = 0


def fold_pads(model: onnx.ModelProto) -> onnx.ModelProto:
    """Fold ``Pad(0) -> Conv`` and ``Pad(-inf) -> MaxPool`` into the consumer's ``pads`` (exact)."""
    graph = model.graph
    inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    folded = []
    for node in graph.node:
        if node.op_type != "Pad" or node.input[1] not in inits:
            continue
        pads = [int(v) for v in inits[node.input[1]].tolist()]
        value = float(inits[node.input[2]]) if len(node.input) > 2 and node.input[2] else 0.0
        mode = {a.name: helper.get_attribute_value(a) for a in node.attribute}.get("mode", b"constant")
        users = consumers.get(node.output[0], [])
        if mode != b"constant" or len(users) != 1 or len(pads) != 8:
            continue
        if pads[:2] != [0, 0] or pads[4:6] != [0, 0]:
            continue
        user = users[0]
        expected = {"Conv": 0.0, "MaxPool": -np.inf}.get(user.op_type)
        if expected is None or value != expected:
            continue
        attrs = {a.name for a in user.attribute}
        if "pads" in attrs or "auto_pad" in attrs:
            continue
        user.attribute.append(helper.make_attribute("pads", pads[2:4] + pads[6:8]))
        user.input[0] = node.input[0]
        folded.append(node)
    for node in folded:
        graph.node.remove(node)
    used = {name for node in graph.node for name in node.input}
    for init in list(graph.initializer):
        if init.name not in used:
            graph.initializer.remove(init)
    return model


def uint8_input(model: onnx.ModelProto, mean: tuple[float, ...], std: tuple[float, ...]) -> onnx.ModelProto:
    """Make the input ``(B, H, W, 3)`` uint8 and normalise inside the graph, as ``to_tensor`` does.

    The normalisation runs on the channel planes flattened to ``(B, 3, H*W)``: with the plain
    ``(B, 3, H, W)`` form, onnxruntime's layout optimiser moves the ``Transpose`` past the ``Sub``
    and ``Mul`` (to feed its NHWC convolutions), which then broadcast over runs of three values:
    ~30 % of the int8 network's time at 480x352. Flattened, it cannot, and they take ~1 %. The
    ``value_info`` tells onnxruntime the reshaped tensor is 4-D (else it keeps the first
    convolutions in NCHW). Same float32 operations on every value: outputs are bit-identical.
    """
    graph = model.graph
    old = graph.input[0]
    name = old.name
    inner = f"{name}_normalised"
    for node in graph.node:
        for k, value in enumerate(node.input):
            if value == name:
                node.input[k] = inner
    mean_a = np.asarray(mean, dtype=np.float32).reshape(1, 3, 1)
    inv_std = np.asarray([1.0 / s for s in std], dtype=np.float32).reshape(1, 3, 1)
    graph.initializer.extend(
        [
            numpy_helper.from_array(mean_a, "image_mean"),
            numpy_helper.from_array(inv_std, "image_inv_std"),
            numpy_helper.from_array(np.array([0, 3, -1], dtype=np.int64), "image_planes_shape"),
        ]
    )
    prefix = [
        helper.make_node("Transpose", [name], ["image_nchw"], perm=[0, 3, 1, 2], name="image_to_nchw"),
        helper.make_node("Shape", ["image_nchw"], ["image_nchw_shape"], name="image_shape"),
        helper.make_node("Reshape", ["image_nchw", "image_planes_shape"], ["image_planes"], name="image_flatten"),
        helper.make_node("Cast", ["image_planes"], ["image_float"], to=TensorProto.FLOAT, name="image_cast"),
        helper.make_node("Sub", ["image_float", "image_mean"], ["image_centred"], name="image_sub_mean"),
        helper.make_node("Mul", ["image_centred", "image_inv_std"], ["image_scaled"], name="image_scale"),
        helper.make_node("Reshape", ["image_scaled", "image_nchw_shape"], [inner], name="image_unflatten"),
    ]
    for k, node in enumerate(prefix):
        graph.node.insert(k, node)
    graph.value_info.append(
        helper.make_tensor_value_info(inner, TensorProto.FLOAT, ["batch", 3, "height", "width"])
    )
    graph.input.remove(old)
    graph.input.insert(
        0, helper.make_tensor_value_info(name, TensorProto.UINT8, ["batch", "height", "width", 3])
    )
    return model


def calibration_images(data: Path) -> list[np.ndarray]:
    """Face photos and Hamilton clip frames (never PETS), mirrored, plus seeded mosaics."""
    root = data / "faces" / "face_recognition"
    images = []
    for path in sorted(glob.glob(str(root / "**" / "*.*"), recursive=True)):
        if path.lower().endswith((".jpg", ".jpeg", ".png")):
            image = cv2.imread(path)
            if image is not None:
                images.append(image)
    capture = cv2.VideoCapture(str(root / "examples" / "short_hamilton_clip.mp4"))
    index = 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        if index % 8 == 0:
            images.append(frame)
        index += 1
    capture.release()
    if len(images) < 20:
        raise SystemExit(f"too few calibration images under {root} ({len(images)})")
    out = []
    for image in images:
        out.append(image)
        out.append(np.ascontiguousarray(image[:, ::-1]))
    rng = np.random.default_rng(SEED)
    for base in images:
        canvas = cv2.resize(base, (480, 360), interpolation=cv2.INTER_LINEAR)
        for _ in range(int(rng.integers(4, 10))):
            src = images[int(rng.integers(len(images)))]
            h = int(rng.integers(40, 140))
            w = max(8, int(h * src.shape[1] / src.shape[0] * rng.uniform(0.4, 1.0)))
            w = min(w, 470)
            tile = cv2.resize(src, (w, h), interpolation=cv2.INTER_LINEAR)
            y, x = int(rng.integers(0, 360 - h)), int(rng.integers(0, 480 - w))
            canvas[y : y + h, x : x + w] = tile
        out.append(canvas)
    return out


def _fp32_nodes() -> list[str]:
    env = os.environ.get("NANODET_FP32_NODES")
    return [n for n in env.split(",") if n] if env is not None else list(FP32_NODES)


def build(output: Path, data: Path) -> str:
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    from footfall.inference.loading import resolve_model
    from footfall.inference.preprocess import preprocess

    spec = resolve_model("nanodet")
    tensors = [preprocess([im], spec.input, CALIBRATION_SIZE)[0] for im in calibration_images(data)]
    print(f"{len(tensors)} calibration images")

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._it = iter(tensors)

        def get_next(self) -> dict[str, np.ndarray] | None:
            x = next(self._it, None)
            return None if x is None else {spec.input.name: x}

    with tempfile.TemporaryDirectory() as tmp:
        folded = Path(tmp) / "folded.onnx"
        quantised = Path(tmp) / "int8.onnx"
        model = fold_pads(onnx.load(str(SOURCE)))
        onnx.checker.check_model(model)
        onnx.save(model, str(folded))
        quantize_static(
            str(folded),
            str(quantised),
            Reader(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
            nodes_to_exclude=_fp32_nodes(),
        )
        model = uint8_input(onnx.load(str(quantised)), spec.input.mean, spec.input.std)
    model.doc_string = (
        "NanoDet int8 (QDQ), uint8 BGR NHWC input; built by inference/tools/quantize_nanodet.py"
    )
    onnx.checker.check_model(model)
    output.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(output))
    return hashlib.sha256(output.read_bytes()).hexdigest()


def build_u8(output: Path) -> str:
    """The fp32 network with steps 1 and 3 only: outputs bit-identical to nanodet.onnx + to_tensor."""
    from footfall.inference.loading import resolve_model

    spec = resolve_model("nanodet")
    model = uint8_input(fold_pads(onnx.load(str(SOURCE))), spec.input.mean, spec.input.std)
    model.doc_string = "NanoDet fp32, uint8 BGR NHWC input; built by inference/tools/quantize_nanodet.py --u8"
    onnx.checker.check_model(model)
    output.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(output))
    return hashlib.sha256(output.read_bytes()).hexdigest()


def pets_f1(
    model_json: Path, model_path: Path | None, data: Path, size: tuple[int, int] = (416, 320)
) -> dict[float, float]:
    """Detection F1 (IoU >= 0.5) on every 3rd PETS frame at several confidences."""
    from scipy.optimize import linear_sum_assignment

    from footfall.inference.backends.onnx import OnnxRuntimeBackend
    from footfall.inference.detector import PersonDetector
    from footfall.inference.nms import pairwise_iou
    from footfall.inference.spec import spec_from_json
    from footfall.services.vision.mot import read_mot

    spec = spec_from_json(model_json)
    if model_path is not None:
        spec = dataclasses.replace(spec, path=model_path)
    confs = (0.3, 0.4, 0.5, 0.55, 0.6)
    det = PersonDetector(spec, OnnxRuntimeBackend(spec.path), input_size=size, confidence=min(confs))
    gt = read_mot(data / "pets2009_s2l1" / "gt_mot_480x360.txt")
    capture = cv2.VideoCapture(str(data / "video" / "pets2009_s2l1_480x360.avi"))
    counts = {c: [0, 0, 0] for c in confs}
    index = 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        index += 1
        if index % 3:
            continue
        found = det.detect(frame)
        g = gt[gt[:, 0] == index]
        truth = np.c_[g[:, 2], g[:, 3], g[:, 2] + g[:, 4], g[:, 3] + g[:, 5]].astype(np.float32)
        for c in confs:
            boxes = found.xyxy[found.confidence >= c]
            matched = 0
            if len(truth) and len(boxes):
                iou = pairwise_iou(truth, boxes)
                rows, cols = linear_sum_assignment(-iou)
                matched = int((iou[rows, cols] >= 0.5).sum())
            counts[c][0] += matched
            counts[c][1] += len(boxes) - matched
            counts[c][2] += len(truth) - matched
    return {c: round(2 * tp / (2 * tp + fp + fn), 4) for c, (tp, fp, fn) in counts.items()}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument(
        "--data",
        type=Path,
        default=Path(os.environ.get("FOOTFALL_TEST_DATA") or REPO_ROOT.parent / "shared" / "data"),
    )
    parser.add_argument("--check", action="store_true", help="print PETS detection F1, fp32 vs int8")
    parser.add_argument(
        "--u8", action="store_true", help=f"build the lossless fp32 uint8-input model instead ({U8_OUTPUT})"
    )
    args = parser.parse_args()
    if args.u8:
        output = args.output if args.output != DEFAULT_OUTPUT else U8_OUTPUT
        print(f"wrote {output}\nsha256 {build_u8(output)}")
        return
    digest = build(args.output, args.data)
    print(f"wrote {args.output}\nsha256 {digest}")
    if args.check:
        models = REPO_ROOT / "inference" / "models"
        print("fp32", pets_f1(models / "nanodet" / "model.json", None, args.data))
        int8 = models / "nanodet-int8" / "model.json"
        print("int8", pets_f1(int8, args.output, args.data))
        print("fp32 480x352", pets_f1(models / "nanodet" / "model.json", None, args.data, (480, 352)))
        print("int8 480x352", pets_f1(int8, args.output, args.data, (480, 352)))


if __name__ == "__main__":
    main()
