"""Greedy non-maximum suppression in numpy (class-aware), identical for every backend."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def box_iou(box: npt.NDArray[np.float32], boxes: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """IoU of one ``(4,)`` box against ``(N, 4)`` boxes."""
    x1 = np.maximum(box[0], boxes[:, 0])
    y1 = np.maximum(box[1], boxes[:, 1])
    x2 = np.minimum(box[2], boxes[:, 2])
    y2 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = area + areas - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0).astype(np.float32)


def pairwise_iou(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """IoU of every box in ``a`` ``(N, 4)`` against every box in ``b`` ``(M, 4)``: ``(N, M)``."""
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0).astype(np.float32)


_MATRIX_MAX = 512  # candidates up to which nms() computes all overlaps at once (a 1 MB matrix)


def nms(
    xyxy: npt.NDArray[np.float32],
    scores: npt.NDArray[np.float32],
    class_ids: npt.NDArray[np.int32],
    iou_threshold: float,
    max_detections: int = 300,
) -> npt.NDArray[np.intp]:
    """Indices of the boxes kept, best first. Boxes of different classes never suppress each other."""
    if len(scores) == 0:
        return np.zeros((0,), np.intp)
    # Offset each class into its own region so one pass handles all classes.
    span = float(np.max(xyxy)) - float(np.min(xyxy)) + 1.0
    shifted = xyxy + (class_ids.astype(np.float32) * span)[:, None]
    order = np.argsort(-scores, kind="stable")
    if order.size <= _MATRIX_MAX:
        # Every overlap at once (the same float32 arithmetic as box_iou, so the same boxes survive), then one
        # pass in score order: a few hundred candidates cost one numpy call instead of one per kept box.
        boxes = shifted[order]
        suppresses = pairwise_iou(boxes, boxes) > iou_threshold
        alive = np.ones(order.size, dtype=bool)
        kept: list[int] = []
        for i in range(order.size):
            if alive[i]:
                kept.append(i)
                if len(kept) >= max_detections:
                    break
                alive[i + 1 :] &= ~suppresses[i, i + 1 :]
        return order[np.asarray(kept, dtype=np.intp)]
    keep: list[int] = []
    while order.size and len(keep) < max_detections:
        best = int(order[0])
        keep.append(best)
        if order.size == 1:
            break
        rest = order[1:]
        order = rest[box_iou(shifted[best], shifted[rest]) <= iou_threshold]
    return np.asarray(keep, dtype=np.intp)
