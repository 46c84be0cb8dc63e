"""FaceDetector: RetinaFace pre- and post-processing in front of any InferenceBackend."""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np
import numpy.typing as npt

from footfall.inference.backends.base import InferenceBackend
from footfall.inference.decoders import retinaface
from footfall.inference.errors import InferenceError, ModelLoadError
from footfall.inference.faces.types import Face
from footfall.inference.nms import nms
from footfall.inference.preprocess import validate_frame

BGR_MEAN = np.asarray((104.0, 117.0, 123.0), np.float32)  # the network's training mean
OUTPUTS = ("loc", "conf", "landmarks")


class FaceDetector:
    """Finds faces and their 5 landmarks in BGR frames; boxes come back in source pixels.

    Frames larger than ``max_side`` (longest side) are scaled down first (never up); each input is
    padded on the right and bottom to a multiple of 32 with the mean colour (0 after normalisation),
    and frames of a batch share one padded canvas, so a batch is one backend call. ``confidence`` 0.9
    and NMS IoU 0.4 are the upstream defaults.
    """

    def __init__(
        self,
        backend: InferenceBackend,
        *,
        max_side: int = 640,
        confidence: float = 0.9,
        nms_iou: float = 0.4,
        min_size: float = 12.0,
        warmup: bool = True,
    ) -> None:
        if max_side < 32:
            raise ValueError("max_side must be at least 32")
        self.backend = backend
        self.max_side = int(max_side)
        self.confidence = float(confidence)
        self.nms_iou = float(nms_iou)
        self.min_size = float(min_size)
        if warmup:
            try:
                self._run(np.zeros((1, 3, 64, 64), np.float32))
            except (InferenceError, ValueError) as exc:
                raise ModelLoadError("face detector", str(exc)) from exc

    def detect(self, frame: npt.NDArray[np.uint8]) -> list[Face]:
        validate_frame(frame)
        return self.detect_batch([frame])[0]

    def detect_batch(self, frames: Sequence[npt.NDArray[np.uint8]]) -> list[list[Face]]:
        if len(frames) == 0:
            return []
        for frame in frames:
            validate_frame(frame)
        tensor, scales = self.preprocess(frames)
        outputs = self._run(tensor)
        size = (tensor.shape[3], tensor.shape[2])
        return [
            self._postprocess(outputs["loc"][i], outputs["conf"][i], outputs["landmarks"][i], size, scale)
            for i, scale in enumerate(scales)
        ]

    def preprocess(
        self, frames: Sequence[npt.NDArray[np.uint8]]
    ) -> tuple[npt.NDArray[np.float32], list[float]]:
        """``(B, 3, H, W)`` float32 BGR minus the mean, and each frame's scale factor."""
        resized, scales = [], []
        for frame in frames:
            height, width = frame.shape[:2]
            scale = min(1.0, self.max_side / max(height, width))
            if scale < 1.0:
                size = (max(1, round(width * scale)), max(1, round(height * scale)))
                frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
            resized.append(frame)
            scales.append(scale)
        height = _round_up(max(f.shape[0] for f in resized))
        width = _round_up(max(f.shape[1] for f in resized))
        tensor = np.zeros((len(resized), 3, height, width), np.float32)
        for i, frame in enumerate(resized):
            h, w = frame.shape[:2]
            tensor[i, :, :h, :w] = (frame.astype(np.float32) - BGR_MEAN).transpose(2, 0, 1)
        return tensor, scales

    def close(self) -> None:
        close = getattr(self.backend, "close", None)
        if callable(close):
            close()

    def _run(self, tensor: npt.NDArray[np.float32]) -> dict[str, npt.NDArray[np.float32]]:
        outputs = self.backend.infer({"input": tensor})
        missing = [name for name in OUTPUTS if name not in outputs]
        if missing:
            raise InferenceError(f"face detector backend returned {sorted(outputs)}, missing {missing}")
        expected = retinaface.prior_count(tensor.shape[3], tensor.shape[2])
        for name in OUTPUTS:
            if outputs[name].shape[:2] != (len(tensor), expected):
                raise InferenceError(f"face detector output {name} has shape {outputs[name].shape}")
        return {name: np.asarray(outputs[name], np.float32) for name in OUTPUTS}

    def _postprocess(
        self,
        loc: npt.NDArray[np.float32],
        conf: npt.NDArray[np.float32],
        landmarks: npt.NDArray[np.float32],
        size: tuple[int, int],
        scale: float,
    ) -> list[Face]:
        found = retinaface.decode(loc, conf, landmarks, size, self.confidence)
        if len(found.scores) == 0:
            return []
        keep = nms(found.xyxy, found.scores, np.zeros(len(found.scores), np.int32), self.nms_iou)
        faces = []
        for i in keep:
            box = found.xyxy[i] / scale
            if min(box[2] - box[0], box[3] - box[1]) < self.min_size:
                continue
            faces.append(Face(box=box, score=float(found.scores[i]), landmarks=found.landmarks[i] / scale))
        return faces


def _round_up(value: int, divisor: int = 32) -> int:
    return int(math.ceil(value / divisor) * divisor)
