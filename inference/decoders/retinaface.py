"""RetinaFace (MobileNet-0.25, biubug6/Pytorch_Retinaface) output decoding: priors, boxes, 5 landmarks.

The network is fully convolutional: for an input of W x H it predicts, for every prior, a box offset
``loc`` (4), a softmax ``conf`` (background, face) and 5 landmark offsets (10). Priors are laid out
per stride (8, 16, 32), cells in raster order, two square sizes per cell (16/32, 64/128, 256/512 px),
centred at ``(col + 0.5) * stride``; the grid has ``ceil(W / stride)`` columns. Offsets are scaled by
the training variances (0.1 for centres and landmarks, 0.2 for log sizes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

STRIDES = (8, 16, 32)
PRIOR_SIZES = ((16, 32), (64, 128), (256, 512))
CENTER_VARIANCE = 0.1
SIZE_VARIANCE = 0.2


@dataclass(frozen=True)
class FaceCandidates:
    """Faces of one image above the score threshold, before NMS, in model-input pixels."""

    xyxy: npt.NDArray[np.float32]  # (N, 4)
    scores: npt.NDArray[np.float32]  # (N,)
    landmarks: npt.NDArray[np.float32]  # (N, 5, 2): right eye, left eye, nose, right mouth, left mouth


@lru_cache(maxsize=16)
def priors(width: int, height: int) -> npt.NDArray[np.float32]:
    """``(A, 4)`` priors ``cx, cy, w, h`` in input pixels for a ``width`` x ``height`` input."""
    parts = []
    for stride, sizes in zip(STRIDES, PRIOR_SIZES, strict=True):
        cols, rows = math.ceil(width / stride), math.ceil(height / stride)
        ys, xs = np.mgrid[0:rows, 0:cols]
        centres = np.stack([(xs.ravel() + 0.5) * stride, (ys.ravel() + 0.5) * stride], axis=1)
        centres = np.repeat(centres, len(sizes), axis=0)
        extents = np.tile(np.repeat(np.asarray(sizes, np.float64)[:, None], 2, axis=1), (cols * rows, 1))
        parts.append(np.hstack([centres, extents]))
    result = np.vstack(parts).astype(np.float32)
    result.setflags(write=False)
    return result


def prior_count(width: int, height: int) -> int:
    return sum(math.ceil(width / s) * math.ceil(height / s) * len(z) for s, z in zip(STRIDES, PRIOR_SIZES))


def decode(
    loc: npt.NDArray[np.float32],
    conf: npt.NDArray[np.float32],
    landmarks: npt.NDArray[np.float32],
    input_size: tuple[int, int],
    confidence: float,
    max_candidates: int = 1000,
) -> FaceCandidates:
    """One image's ``loc`` (A, 4), ``conf`` (A, 2) and ``landmarks`` (A, 10) -> candidates above ``confidence``."""
    width, height = input_size
    anchors = priors(width, height)
    count = len(anchors)
    if (loc.shape, conf.shape, landmarks.shape) != ((count, 4), (count, 2), (count, 10)):
        raise ValueError(
            f"RetinaFace outputs {loc.shape}, {conf.shape}, {landmarks.shape} do not fit the "
            f"{len(anchors)} priors of a {width}x{height} input"
        )
    scores = conf[:, 1]
    rows = np.flatnonzero(scores > confidence)
    if len(rows) > max_candidates:
        rows = np.sort(rows[np.argsort(-scores[rows], kind="stable")[:max_candidates]])
    chosen = anchors[rows]
    centre, extent = chosen[:, :2], chosen[:, 2:]
    box_centre = centre + loc[rows, :2] * CENTER_VARIANCE * extent
    box_extent = extent * np.exp(loc[rows, 2:] * SIZE_VARIANCE)
    xyxy = np.hstack([box_centre - box_extent / 2, box_centre + box_extent / 2])
    points = centre[:, None, :] + landmarks[rows].reshape(-1, 5, 2) * CENTER_VARIANCE * extent[:, None, :]
    return FaceCandidates(
        xyxy=xyxy.astype(np.float32),
        scores=scores[rows].astype(np.float32),
        landmarks=points.astype(np.float32),
    )
