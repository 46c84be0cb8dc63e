"""Ultralytics YOLOv8/11 detect-export decoding: ``(4 + C, N)`` rows ``cx, cy, w, h, scores...``."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from footfall.inference.decoders.base import Candidates, select_scores


class YoloDecoder:
    def __init__(self, num_classes: int) -> None:
        self.num_classes = num_classes

    def check_output(self, shape: tuple[int, ...], input_size: tuple[int, int]) -> None:
        if len(shape) != 2 or shape[0] != 4 + self.num_classes:
            raise ValueError(
                f"YOLO output per image should be (4 + {self.num_classes}, N) = ({4 + self.num_classes}, N) "
                f"(ultralytics detect export without NMS), got {tuple(shape)}"
            )

    def decode(
        self,
        output: npt.NDArray[np.float32],
        input_size: tuple[int, int],
        class_ids: npt.NDArray[np.int32] | None,
        confidence: float,
        max_candidates: int,
    ) -> Candidates:
        scores_t = output[4:].T  # (N, C) view
        rows, scores, ids = select_scores(scores_t, class_ids, confidence, max_candidates)
        cx, cy, w, h = (output[i, rows].astype(np.float32) for i in range(4))
        xyxy = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1).astype(np.float32)
        return Candidates(xyxy=xyxy, scores=scores, class_ids=ids)
