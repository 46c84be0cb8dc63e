"""NanoDet GFL head decoding: sigmoid scores + per-side distributions over ``reg_max + 1`` bins."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt

from footfall.inference.decoders.base import Candidates, select_scores
from footfall.inference.spec import NanoDetHead


class NanoDetDecoder:
    def __init__(self, head: NanoDetHead, num_classes: int) -> None:
        self.head = head
        self.num_classes = num_classes
        self.bins = head.reg_max + 1
        self._project = np.arange(self.bins, dtype=np.float32)

    def anchor_count(self, input_size: tuple[int, int]) -> int:
        return len(self._grid(input_size)[1])

    def check_output(self, shape: tuple[int, ...], input_size: tuple[int, int]) -> None:
        expected = (self.anchor_count(input_size), self.num_classes + 4 * self.bins)
        if tuple(shape) != expected:
            raise ValueError(
                f"NanoDet output per image should be {expected} (anchors for strides {self.head.strides} "
                f"at {input_size[0]}x{input_size[1]}, {self.num_classes} classes + 4x{self.bins} bins), "
                f"got {tuple(shape)}"
            )

    def decode(
        self,
        output: npt.NDArray[np.float32],
        input_size: tuple[int, int],
        class_ids: npt.NDArray[np.int32] | None,
        confidence: float,
        max_candidates: int,
    ) -> Candidates:
        c = self.num_classes
        rows, scores, ids = select_scores(output[:, :c], class_ids, confidence, max_candidates)
        centers, strides = self._grid(input_size)
        logits = output[rows, c:].reshape(-1, 4, self.bins).astype(np.float32)
        logits = logits - logits.max(axis=2, keepdims=True)
        weights = np.exp(logits)
        weights /= weights.sum(axis=2, keepdims=True)
        distances = (weights @ self._project) * strides[rows, None]  # (n, 4): left, top, right, bottom
        ctr = centers[rows]
        xyxy = np.concatenate([ctr - distances[:, :2], ctr + distances[:, 2:]], axis=1).astype(np.float32)
        return Candidates(xyxy=xyxy, scores=scores, class_ids=ids)

    def _grid(self, input_size: tuple[int, int]) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        return _anchor_grid(input_size, self.head.strides, self.head.center_offset)


@lru_cache(maxsize=16)
def _anchor_grid(
    input_size: tuple[int, int], strides: tuple[int, ...], offset: float
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Cell centres ``(A, 2)`` in input pixels and each cell's stride ``(A,)``, levels in order."""
    width, height = input_size
    centers = []
    cell_strides = []
    for stride in strides:
        cols, rows = -(-width // stride), -(-height // stride)
        ys, xs = np.mgrid[0:rows, 0:cols]
        level = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float32)
        centers.append((level + offset) * stride)
        cell_strides.append(np.full(len(level), stride, dtype=np.float32))
    grid = np.concatenate(centers), np.concatenate(cell_strides)
    for array in grid:
        array.setflags(write=False)
    return grid
