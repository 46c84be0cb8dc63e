"""NMS: the all-overlaps-at-once pass keeps exactly the boxes the one-box-at-a-time pass keeps."""

from __future__ import annotations

import numpy as np
import pytest

import footfall.inference.nms as nms_module
from footfall.inference.nms import nms


def _loop_nms(*args: object) -> np.ndarray:
    saved, nms_module._MATRIX_MAX = nms_module._MATRIX_MAX, -1
    try:
        return nms(*args)  # type: ignore[arg-type]
    finally:
        nms_module._MATRIX_MAX = saved


@pytest.mark.parametrize("seed", range(4))
def test_matrix_and_loop_keep_the_same_boxes_in_the_same_order(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for trial in range(300):
        n = int(rng.integers(0, 400))
        xy = rng.uniform(0, 400, (n, 2)).astype(np.float32)
        boxes = np.concatenate([xy, xy + rng.uniform(1, 120, (n, 2)).astype(np.float32)], axis=1)
        if trial % 3 == 0 and n:
            boxes[: n // 2] = boxes[0]  # exact duplicates
        scores = rng.uniform(0, 1, n).astype(np.float32)
        if trial % 5 == 0:
            scores = np.round(scores, 1).astype(np.float32)  # ties: the stable order decides
        classes = rng.integers(0, 3, n).astype(np.int32)
        threshold, most = float(rng.choice([0.3, 0.45, 0.65])), int(rng.choice([1, 5, 300]))
        kept = nms(boxes, scores, classes, threshold, most)
        np.testing.assert_array_equal(kept, _loop_nms(boxes, scores, classes, threshold, most))
        assert len(kept) <= most


def test_a_box_is_suppressed_only_by_a_better_box_of_its_own_class() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [0, 0, 10, 10], [50, 50, 60, 60]], np.float32)
    scores = np.array([0.9, 0.8, 0.7, 0.6], np.float32)
    kept = nms(boxes, scores, np.array([0, 0, 1, 0], np.int32), 0.5)
    assert kept.tolist() == [0, 2, 3]
    assert nms(boxes[:0], scores[:0], np.zeros(0, np.int32), 0.5).tolist() == []
