"""Face blurring for images that leave the service (MJPEG, WatchFrames), per camera (`blur_faces`).

Faces come from the face detector on the whole frame. When no detector is available the upper part of
every tracked person's box is blurred instead: a camera that asked for blurring never sends a face
because a model failed to load.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import cv2
import numpy as np
import numpy.typing as npt

from footfall.services.vision.geometry import Box
from footfall.services.vision.track import Track

# Grow each face box by this fraction of its size on every side (hair, ears, the detector's tight boxes).
FACE_PADDING = 0.25
# Without a detector: this top fraction of each person box is taken as the head.
HEAD_FRACTION = 0.25


def blur_regions(image: npt.NDArray[np.uint8], boxes: Iterable[Box], padding: float = FACE_PADDING) -> np.ndarray:
    """A copy of ``image`` with each box (grown by ``padding``) pixelated beyond recognition."""
    out = image.copy()
    height, width = out.shape[:2]
    for x1, y1, x2, y2 in boxes:
        pad_x, pad_y = padding * (x2 - x1), padding * (y2 - y1)
        bx1, by1 = max(0, math.floor(x1 - pad_x)), max(0, math.floor(y1 - pad_y))
        bx2, by2 = min(width, math.ceil(x2 + pad_x)), min(height, math.ceil(y2 + pad_y))
        if bx2 - bx1 < 1 or by2 - by1 < 1:
            continue
        region = out[by1:by2, bx1:bx2]
        # Pixelate to ~6 cells across, then smooth: no identifiable detail survives either step.
        cells = (max(1, (bx2 - bx1) // max(1, (bx2 - bx1) // 6)), max(1, (by2 - by1) // max(1, (by2 - by1) // 6)))
        small = cv2.resize(region, cells, interpolation=cv2.INTER_AREA)
        coarse = cv2.resize(small, (bx2 - bx1, by2 - by1), interpolation=cv2.INTER_NEAREST)
        kernel = max(3, (min(bx2 - bx1, by2 - by1) // 4) | 1)
        out[by1:by2, bx1:bx2] = cv2.GaussianBlur(coarse, (kernel, kernel), 0)
    return out


def head_boxes(tracks: Sequence[Track]) -> list[Box]:
    """The top HEAD_FRACTION of each tracked person's box (the fallback when no detector runs)."""
    return [(t.xyxy[0], t.xyxy[1], t.xyxy[2], t.xyxy[1] + HEAD_FRACTION * (t.xyxy[3] - t.xyxy[1])) for t in tracks]
