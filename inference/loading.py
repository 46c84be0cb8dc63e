"""Turn ``model=`` (a built-in name, a model.json, an ONNX file) into a :class:`ModelSpec`."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

from footfall.inference.errors import ModelLoadError
from footfall.inference.spec import InputSpec, ModelSpec, YoloHead, spec_from_json

MODELS_DIR = Path(__file__).resolve().parent / "models"
BUILTIN_MODELS: dict[str, Path] = {
    "nanodet": MODELS_DIR / "nanodet" / "model.json",
    # The same fp32 network taking uint8 frames (normalised in the graph): identical detections, faster.
    "nanodet-u8": MODELS_DIR / "nanodet-u8" / "model.json",
    # The same network quantised to int8, taking uint8 frames (tools/quantize_nanodet.py).
    "nanodet-int8": MODELS_DIR / "nanodet-int8" / "model.json",
}


def resolve_model(model: str | Path) -> ModelSpec:
    """Find the model's description.

    - ``"nanodet"`` (a built-in name): the shipped model and its ``model.json``;
    - a ``model.json`` file, or a folder holding one;
    - an ``.onnx`` file: described by a ``model.json`` beside it that names it, else read as an
      ultralytics YOLO detect export (class names and image size from its metadata).
    ``.pt`` weights are handled by :func:`inference.factory.load_person_detector` (they need ultralytics).
    """
    if isinstance(model, str) and model in BUILTIN_MODELS:
        return spec_from_json(BUILTIN_MODELS[model])
    path = Path(model)
    if not path.exists():
        hint = f"; built-in models: {', '.join(sorted(BUILTIN_MODELS))}" if "/" not in str(model) else ""
        raise ModelLoadError(path, f"no such file{hint}")
    if path.is_dir():
        return spec_from_json(path / "model.json")
    if path.suffix == ".json":
        return spec_from_json(path)
    if path.suffix == ".onnx":
        described = _described_by_sibling(path)
        return described if described is not None else yolo_spec_from_onnx(path)
    raise ModelLoadError(
        path, f"unsupported model file type {path.suffix!r} (expected .onnx, .pt or model.json)"
    )


def _described_by_sibling(path: Path) -> ModelSpec | None:
    sibling = path.parent / "model.json"
    if not sibling.is_file():
        return None
    try:
        named = json.loads(sibling.read_text()).get("file")
    except (OSError, ValueError, AttributeError):
        return None
    if named is None or (path.parent / named).resolve() != path.resolve():
        return None
    return spec_from_json(sibling)


def yolo_spec_from_onnx(path: Path) -> ModelSpec:
    """Describe an ultralytics detect export: input ``(B, 3, H, W)`` RGB/255, output ``(B, 4 + C, N)``."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise ModelLoadError(path, f"onnxruntime cannot load it: {exc}") from exc
    inputs, outputs = session.get_inputs(), session.get_outputs()
    meta = dict(session.get_modelmeta().custom_metadata_map)
    if len(inputs) != 1 or len(inputs[0].shape) != 4:
        raise ModelLoadError(
            path, f"expected one (B, 3, H, W) image input, got {[(i.name, i.shape) for i in inputs]}"
        )
    if len(outputs) < 1 or len(outputs[0].shape) != 3:
        raise ModelLoadError(
            path, f"expected a (B, 4 + classes, N) output, got {[(o.name, o.shape) for o in outputs]}"
        )
    if meta.get("task", "detect") != "detect":
        raise ModelLoadError(path, f"a {meta['task']!r} model, not a detection model")
    _, channels, height, width = inputs[0].shape
    out_rows, out_cols = outputs[0].shape[1:]
    if channels not in (3, None) and not isinstance(channels, str):
        raise ModelLoadError(path, f"input has {channels} channels, expected 3")
    names = _class_names(meta.get("names"))
    if names is None:
        if not isinstance(out_rows, int):
            raise ModelLoadError(
                path, "no class names in the metadata and a dynamic output: cannot tell the classes"
            )
        names = tuple(f"class{i}" for i in range(out_rows - 4))
    if isinstance(out_rows, int) and out_rows != 4 + len(names):
        layout = (
            " (this looks like a YOLOv5-style or NMS-included export)"
            if isinstance(out_cols, int) and out_cols < out_rows
            else ""
        )
        raise ModelLoadError(
            path,
            f"output {outputs[0].shape} is not (B, 4 + {len(names)}, N) for {len(names)} classes{layout}",
        )
    fixed = isinstance(height, int) and isinstance(width, int)
    if fixed:
        size = (int(width), int(height))
    else:
        imgsz = _parse(meta.get("imgsz")) or [640, 640]
        size = (int(imgsz[-1]), int(imgsz[0]))  # ultralytics stores (h, w)
    stride = int(_parse(meta.get("stride")) or 32)
    return ModelSpec(
        name=path.stem,
        path=path.resolve(),
        head=YoloHead(),
        class_names=names,
        input=InputSpec(
            name=inputs[0].name,
            default_size=size,
            fixed_size=fixed,
            size_divisor=stride,
            channel_order="rgb",
            mean=(0.0, 0.0, 0.0),
            std=(255.0, 255.0, 255.0),
            pad_value=114,
        ),
        output_name=outputs[0].name,
        confidence=0.25,
        nms_iou=0.7,
    )


def _parse(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return None


def _class_names(text: str | None) -> tuple[str, ...] | None:
    names = _parse(text)
    if isinstance(names, dict) and names:
        return tuple(str(names[k]) for k in sorted(names))
    if isinstance(names, (list, tuple)) and names:
        return tuple(str(n) for n in names)
    return None
