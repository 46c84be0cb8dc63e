"""The result type of every detector: boxes in source-frame pixels."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class Detections:
    """N detections of one frame. Boxes are ``x1, y1, x2, y2`` in the source frame's pixels.

    ``class_id`` holds COCO ids for COCO models (person = 0); other models use their own class list.
    """

    xyxy: npt.NDArray[np.float32]  # (N, 4)
    confidence: npt.NDArray[np.float32]  # (N,)
    class_id: npt.NDArray[np.int32]  # (N,)

    def __post_init__(self) -> None:
        xyxy = np.asarray(self.xyxy, dtype=np.float32).reshape(-1, 4)
        confidence = np.asarray(self.confidence, dtype=np.float32).reshape(-1)
        class_id = np.asarray(self.class_id, dtype=np.int32).reshape(-1)
        if not len(xyxy) == len(confidence) == len(class_id):
            raise ValueError(
                f"Detections fields disagree: {len(xyxy)} boxes, {len(confidence)} scores, {len(class_id)} ids"
            )
        object.__setattr__(self, "xyxy", xyxy)
        object.__setattr__(self, "confidence", confidence)
        object.__setattr__(self, "class_id", class_id)

    def __len__(self) -> int:
        return int(self.confidence.shape[0])

    @classmethod
    def empty(cls) -> Detections:
        return cls(
            xyxy=np.zeros((0, 4), np.float32),
            confidence=np.zeros((0,), np.float32),
            class_id=np.zeros((0,), np.int32),
        )

    def filter(self, mask: npt.ArrayLike) -> Detections:
        """Keep the detections selected by a boolean mask of length N or by an array of indices."""
        selector = np.asarray(mask)
        if selector.dtype == np.bool_ and selector.shape != (len(self),):
            raise ValueError(f"boolean mask of shape {selector.shape} for {len(self)} detections")
        return Detections(
            xyxy=self.xyxy[selector],
            confidence=self.confidence[selector],
            class_id=self.class_id[selector],
        )
