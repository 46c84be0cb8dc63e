"""Letterbox resize and tensor layout: the one pre-processing shared by every backend.

Deterministic by construction: integer target sizes, OpenCV ``INTER_LINEAR`` resize, integer padding
offsets, and the exact inverse mapping for boxes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from footfall.inference.spec import InputSpec


@dataclass(frozen=True)
class Letterbox:
    """Where a source frame sits inside the model input: ``input = source * scale + pad``."""

    scale_x: float
    scale_y: float
    pad_x: int
    pad_y: int
    source_width: int
    source_height: int

    def to_source(self, xyxy: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Map boxes from model-input pixels back to source pixels, clipped to the frame."""
        out = np.empty_like(xyxy, dtype=np.float32)
        out[:, 0::2] = (xyxy[:, 0::2] - self.pad_x) / self.scale_x
        out[:, 1::2] = (xyxy[:, 1::2] - self.pad_y) / self.scale_y
        np.clip(out[:, 0::2], 0.0, float(self.source_width), out=out[:, 0::2])
        np.clip(out[:, 1::2], 0.0, float(self.source_height), out=out[:, 1::2])
        return out


def validate_frame(frame: object) -> npt.NDArray[np.uint8]:
    """Return the frame if it is a BGR ``uint8`` ``H x W x 3`` image, else raise a ``ValueError``."""
    if not isinstance(frame, np.ndarray):
        raise ValueError(  # noqa: TRY004 - one error type for every malformed frame
            f"frame must be a numpy array (BGR uint8 HxWx3), got {type(frame).__name__}"
        )
    if frame.dtype != np.uint8:
        raise ValueError(f"frame must be uint8 (BGR HxWx3), got dtype {frame.dtype}")
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"frame must be BGR HxWx3, got shape {frame.shape}")
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        raise ValueError(f"frame is empty: shape {frame.shape}")
    return frame


def letterbox(
    frame: npt.NDArray[np.uint8],
    size: tuple[int, int],
    pad_value: int = 0,
    out: npt.NDArray[np.uint8] | None = None,
) -> tuple[npt.NDArray[np.uint8], Letterbox]:
    """Resize keeping the aspect ratio to fit ``size`` = (W, H), centred on a ``pad_value`` canvas.

    ``out``: an ``(H, W, 3)`` ``uint8`` array to draw the canvas into (e.g. one image of a batch).
    """
    width, height = size
    src_h, src_w = frame.shape[:2]
    ratio = min(width / src_w, height / src_h)
    new_w = min(width, max(1, round(src_w * ratio)))
    new_h = min(height, max(1, round(src_h * ratio)))
    if (new_w, new_h) != (src_w, src_h):
        resized = cv2.resize(frame, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    else:
        resized = frame
    pad_x = (width - new_w) // 2
    pad_y = (height - new_h) // 2
    if out is None:
        canvas = np.full((height, width, 3), pad_value, dtype=np.uint8)
    else:
        canvas = out
        # Only the bands around the image need the fill.
        canvas[:pad_y] = pad_value
        canvas[pad_y + new_h :] = pad_value
        canvas[pad_y : pad_y + new_h, :pad_x] = pad_value
        canvas[pad_y : pad_y + new_h, pad_x + new_w :] = pad_value
    canvas[pad_y : pad_y + new_h, pad_x : pad_x + new_w] = resized
    box = Letterbox(
        scale_x=new_w / src_w,
        scale_y=new_h / src_h,
        pad_x=pad_x,
        pad_y=pad_y,
        source_width=src_w,
        source_height=src_h,
    )
    return canvas, box


def to_tensor(canvases: Sequence[npt.NDArray[np.uint8]], spec: InputSpec) -> npt.NDArray[np.float32]:
    """Stack letterboxed BGR canvases into the model's normalised ``(B, 3, H, W)`` float32 tensor."""
    batch = np.stack(canvases)  # (B, H, W, 3) BGR
    if spec.channel_order == "rgb":
        batch = batch[..., ::-1]
    mean = np.asarray(spec.mean, dtype=np.float32)
    inv_std = np.asarray([1.0 / s for s in spec.std], dtype=np.float32)
    normalised = (batch.astype(np.float32) - mean) * inv_std
    return np.ascontiguousarray(normalised.transpose(0, 3, 1, 2))


def preprocess(
    frames: Sequence[npt.NDArray[np.uint8]], spec: InputSpec, size: tuple[int, int]
) -> tuple[npt.NDArray[np.float32] | npt.NDArray[np.uint8], list[Letterbox]]:
    """Validate, letterbox and normalise frames into one batch tensor (in the model's ``layout``).

    A ``nhwc_uint8`` model normalises in its graph: here frames are only letterboxed, straight into
    the batch, in the model's channel order.
    """
    if spec.layout == "nhwc_uint8":
        width, height = size
        batch = np.empty((len(frames), height, width, 3), dtype=np.uint8)
        boxes = [
            letterbox(validate_frame(f), size, spec.pad_value, out=batch[i])[1] for i, f in enumerate(frames)
        ]
        if spec.channel_order == "rgb":
            batch = np.ascontiguousarray(batch[..., ::-1])
        return batch, boxes
    canvases = []
    boxes = []
    for frame in frames:
        canvas, box = letterbox(validate_frame(frame), size, spec.pad_value)
        canvases.append(canvas)
        boxes.append(box)
    return to_tensor(canvases, spec), boxes
