"""What a detector needs to know about a model: its file, tensors, input convention and output head."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from footfall.inference.errors import ModelLoadError


@dataclass(frozen=True)
class NanoDetHead:
    """NanoDet GFL head: ``(B, A, C + 4 * (reg_max + 1))``, sigmoid class scores then the l/t/r/b bins.

    Anchors ``A`` are the cells of the stride 8, 16, 32 feature maps in raster order; a cell's centre is
    ``(col + center_offset) * stride``.
    """

    strides: tuple[int, ...] = (8, 16, 32)
    reg_max: int = 10
    center_offset: float = 0.5


@dataclass(frozen=True)
class YoloHead:
    """Ultralytics YOLOv8/11 detect export without NMS: ``(B, 4 + C, N)``, ``cx, cy, w, h`` in input
    pixels, then per-class scores (already sigmoid)."""


Head = NanoDetHead | YoloHead


@dataclass(frozen=True)
class InputSpec:
    """How a frame becomes the model's input tensor.

    ``layout="nchw_float"``: the letterboxed frames, normalised with ``mean``/``std``, as a
    ``(B, 3, H, W)`` float32 tensor. ``layout="nhwc_uint8"``: the letterboxed ``uint8`` frames as they
    are, ``(B, H, W, 3)`` in ``channel_order``; the model normalises them itself (``mean``/``std`` then
    describe what its graph does).
    """

    name: str = "image"
    default_size: tuple[int, int] = (416, 320)  # (W, H)
    fixed_size: bool = False  # the graph has a static H, W: only default_size works
    size_divisor: int = 32
    channel_order: Literal["bgr", "rgb"] = "bgr"
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)  # in channel_order
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    pad_value: int = 0  # letterbox fill, in 0..255 pixel units
    layout: Literal["nchw_float", "nhwc_uint8"] = "nchw_float"


@dataclass(frozen=True)
class ModelSpec:
    """A model file and everything needed to run it with the shared pre- and post-processing."""

    name: str
    path: Path
    head: Head
    class_names: tuple[str, ...]
    input: InputSpec = field(default_factory=InputSpec)
    output_name: str = "output"
    confidence: float = 0.5  # default threshold
    nms_iou: float = 0.6  # default NMS IoU

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def spec_from_json(path: str | Path) -> ModelSpec:
    """Read a ``model.json`` (see ``inference/models/nanodet/model.json``); the model file is relative to it."""
    path = Path(path)
    try:
        doc: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        raise ModelLoadError(path, "model description not found") from None
    except (OSError, ValueError) as exc:
        raise ModelLoadError(path, f"unreadable model description: {exc}") from exc
    try:
        head_doc = doc["head"]
        head: Head
        if head_doc["type"] == "nanodet":
            head = NanoDetHead(
                strides=tuple(int(s) for s in head_doc["strides"]),
                reg_max=int(head_doc["reg_max"]),
                center_offset=float(head_doc["center_offset"]),
            )
        elif head_doc["type"] == "yolo":
            head = YoloHead()
        else:
            raise ValueError(f"unknown head type {head_doc['type']!r}")
        inp = doc["input"]
        spec = ModelSpec(
            name=str(doc["name"]),
            path=(path.parent / doc["file"]).resolve(),
            head=head,
            class_names=tuple(str(c) for c in doc["classes"]),
            input=InputSpec(
                name=str(inp["name"]),
                default_size=_pair(inp["default_size"]),
                fixed_size=bool(inp.get("fixed_size", False)),
                size_divisor=int(inp.get("size_divisor", 32)),
                channel_order=_channel_order(inp["channel_order"]),
                mean=_triple(inp["mean"]),
                std=_triple(inp["std"]),
                pad_value=int(inp.get("pad_value", 0)),
                layout=_layout(inp.get("tensor", "nchw_float")),
            ),
            output_name=str(doc["output"]["name"]),
            confidence=float(doc.get("defaults", {}).get("confidence", 0.5)),
            nms_iou=float(doc.get("defaults", {}).get("nms_iou", 0.6)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelLoadError(path, f"malformed model description: {exc!r}") from exc
    if not spec.path.is_file():
        raise ModelLoadError(spec.path, f"model file named by {path} does not exist")
    return spec


def _pair(value: Any) -> tuple[int, int]:
    w, h = (int(v) for v in value)
    return (w, h)


def _triple(value: Any) -> tuple[float, float, float]:
    a, b, c = (float(v) for v in value)
    return (a, b, c)


def _layout(value: Any) -> Literal["nchw_float", "nhwc_uint8"]:
    if value == "nchw_float":
        return "nchw_float"
    if value == "nhwc_uint8":
        return "nhwc_uint8"
    raise ValueError(f"input tensor must be 'nchw_float' or 'nhwc_uint8', not {value!r}")


def _channel_order(value: Any) -> Literal["bgr", "rgb"]:
    if value == "bgr":
        return "bgr"
    if value == "rgb":
        return "rgb"
    raise ValueError(f"channel_order must be 'bgr' or 'rgb', not {value!r}")
