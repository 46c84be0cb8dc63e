"""PersonDetector: shared pre- and post-processing in front of any InferenceBackend."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from footfall.inference.backends.base import InferenceBackend
from footfall.inference.decoders import decoder_for
from footfall.inference.detections import Detections
from footfall.inference.errors import InferenceError, ModelLoadError
from footfall.inference.nms import nms
from footfall.inference.preprocess import Letterbox, preprocess, validate_frame
from footfall.inference.spec import ModelSpec


class PersonDetector:
    """Detects people (or any ``classes``) in BGR frames; boxes come back in source-frame pixels.

    ``input_size`` is the model input (W, H), a multiple of 32 for NanoDet; frames of any size are
    letterboxed into it. ``confidence`` is the score threshold (low values such as 0.1 stay cheap:
    only the wanted class columns are scanned and at most ``max_candidates`` boxes reach NMS).
    ``classes=None`` keeps every class. Construction runs one blank image through the backend
    (``warmup``) so a model that does not fit fails here with :class:`ModelLoadError`, not mid-stream.
    """

    def __init__(
        self,
        model: ModelSpec,
        backend: InferenceBackend,
        *,
        input_size: tuple[int, int] | None = None,
        confidence: float | None = None,
        nms_iou: float | None = None,
        classes: Sequence[int] | None = (0,),
        max_detections: int = 300,
        max_candidates: int = 1000,
        warmup: bool = True,
    ) -> None:
        self.model = model
        self.backend = backend
        self.input_size = _check_size(model, input_size)
        self.confidence = _check_unit("confidence", model.confidence if confidence is None else confidence)
        self.nms_iou = _check_unit("nms_iou", model.nms_iou if nms_iou is None else nms_iou)
        self.classes = _check_classes(model, classes)
        if max_detections < 1 or max_candidates < 1:
            raise ValueError("max_detections and max_candidates must be positive")
        self.max_detections = max_detections
        self.max_candidates = max_candidates
        self._decoder = decoder_for(model)
        if warmup:
            self._check_backend()

    def with_settings(
        self,
        *,
        input_size: tuple[int, int] | None = None,
        confidence: float | None = None,
        nms_iou: float | None = None,
    ) -> PersonDetector:
        """A detector with other settings sharing this one's backend (for tuning sweeps)."""
        return PersonDetector(
            self.model,
            self.backend,
            input_size=input_size or self.input_size,
            confidence=self.confidence if confidence is None else confidence,
            nms_iou=self.nms_iou if nms_iou is None else nms_iou,
            classes=None if self.classes is None else tuple(int(c) for c in self.classes),
            max_detections=self.max_detections,
            max_candidates=self.max_candidates,
            warmup=input_size is not None and input_size != self.input_size,
        )

    def detect(self, frame: npt.NDArray[np.uint8]) -> Detections:
        """Detections in one BGR ``uint8`` ``H x W x 3`` frame. Raises ``ValueError`` for anything else."""
        validate_frame(frame)
        return self.detect_batch([frame])[0]

    def detect_batch(self, frames: Sequence[npt.NDArray[np.uint8]]) -> list[Detections]:
        """Detections for each frame, from one batched backend call (frames may differ in size)."""
        if isinstance(frames, np.ndarray) and frames.ndim == 3:
            raise ValueError("detect_batch takes a sequence of frames; use detect() for one frame")
        if len(frames) == 0:
            return []
        for i, frame in enumerate(frames):
            try:
                validate_frame(frame)
            except ValueError as exc:
                raise ValueError(f"frame {i}: {exc}") from None
        tensor, boxes = preprocess(frames, self.model.input, self.input_size)
        output = self._run(tensor)
        return [self._postprocess(output[i], box) for i, box in enumerate(boxes)]

    def detect_regions(
        self, frame: npt.NDArray[np.uint8], regions: Sequence[tuple[int, int, int, int]] | None
    ) -> Detections:
        """Detections inside some regions (``x1, y1, x2, y2`` source pixels) of one BGR frame.

        The frame is letterboxed as for :meth:`detect`; the network then runs only on windows of
        that input around each region, snapped outwards to the model's stride grid, so a window
        holds exactly the pixels, and the grid cells, a full pass would see there: a person well
        inside a region is found as in a full pass, at a fraction of the cost (time grows with
        input pixels). Windows covering most of the input anyway, or ``regions=None``, run the
        whole frame; ``()`` detects nothing. Boxes come back in frame pixels, NMS applied across
        windows. People cut by a window's edge are found partially or not at all: callers pad
        the regions.
        """
        validate_frame(frame)
        if regions is None or self.model.input.fixed_size:
            return self.detect(frame)
        width, height = self.input_size
        d = self.model.input.size_divisor
        tensor, boxes = preprocess([frame], self.model.input, self.input_size)
        box = boxes[0]
        windows: list[tuple[int, int, int, int]] = []
        for x1, y1, x2, y2 in regions:
            wx1 = int((x1 * box.scale_x + box.pad_x) // d * d)
            wy1 = int((y1 * box.scale_y + box.pad_y) // d * d)
            wx2 = int(-(-(x2 * box.scale_x + box.pad_x) // d) * d)
            wy2 = int(-(-(y2 * box.scale_y + box.pad_y) // d) * d)
            wx1, wy1, wx2, wy2 = max(0, wx1), max(0, wy1), min(width, wx2), min(height, wy2)
            if wx2 > wx1 and wy2 > wy1:
                windows.append((wx1, wy1, wx2, wy2))
        if not windows:
            return Detections.empty()
        if sum((x2 - x1) * (y2 - y1) for x1, y1, x2, y2 in windows) >= 0.8 * width * height:
            return self._postprocess(self._run(tensor)[0], box)
        if self.model.input.layout == "nhwc_uint8":
            parts = [np.ascontiguousarray(tensor[:, y1:y2, x1:x2]) for x1, y1, x2, y2 in windows]
        else:
            parts = [np.ascontiguousarray(tensor[:, :, y1:y2, x1:x2]) for x1, y1, x2, y2 in windows]
        found_xyxy, found_scores, found_ids = [], [], []
        for (x1, y1, x2, y2), output in zip(windows, self._run_each(parts), strict=True):
            output = output[0]
            cand = self._decoder.decode(output, (x2 - x1, y2 - y1), self.classes, self.confidence, self.max_candidates)
            if len(cand.scores):
                found_xyxy.append(cand.xyxy + np.array([x1, y1, x1, y1], dtype=np.float32))
                found_scores.append(cand.scores)
                found_ids.append(cand.class_ids)
        if not found_scores:
            return Detections.empty()
        xyxy, scores, ids = np.concatenate(found_xyxy), np.concatenate(found_scores), np.concatenate(found_ids)
        keep = nms(xyxy, scores, ids, self.nms_iou, self.max_detections)
        return Detections(xyxy=box.to_source(xyxy[keep]), confidence=scores[keep], class_id=ids[keep])

    def close(self) -> None:
        close = getattr(self.backend, "close", None)
        if callable(close):
            close()

    def _run(self, tensor: npt.NDArray[np.float32] | npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        return self._output(self.backend.infer({self.model.input.name: tensor}), tensor)

    def _run_each(
        self, tensors: Sequence[npt.NDArray[np.float32] | npt.NDArray[np.uint8]]
    ) -> list[npt.NDArray[np.float32]]:
        """Outputs of independent inputs; a backend that can (``infer_each``) runs them side by side."""
        each = getattr(self.backend, "infer_each", None)
        if not callable(each) or len(tensors) < 2:
            return [self._run(t) for t in tensors]
        outputs = each([{self.model.input.name: t} for t in tensors])
        return [self._output(o, t) for o, t in zip(outputs, tensors, strict=True)]

    def _output(
        self, outputs: dict[str, npt.NDArray[np.float32]], tensor: npt.NDArray[np.float32] | npt.NDArray[np.uint8]
    ) -> npt.NDArray[np.float32]:
        output = outputs.get(self.model.output_name)
        if output is None:
            raise InferenceError(f"backend returned {sorted(outputs)}, not {self.model.output_name!r}")
        if output.shape[0] != tensor.shape[0]:
            raise InferenceError(f"backend returned {output.shape[0]} results for {tensor.shape[0]} images")
        return np.asarray(output, dtype=np.float32)

    def _postprocess(self, output: npt.NDArray[np.float32], box: Letterbox) -> Detections:
        found = self._decoder.decode(
            output, self.input_size, self.classes, self.confidence, self.max_candidates
        )
        if len(found.scores) == 0:
            return Detections.empty()
        keep = nms(found.xyxy, found.scores, found.class_ids, self.nms_iou, self.max_detections)
        return Detections(
            xyxy=box.to_source(found.xyxy[keep]),
            confidence=found.scores[keep],
            class_id=found.class_ids[keep],
        )

    def _check_backend(self) -> None:
        width, height = self.input_size
        blank = (
            np.zeros((1, height, width, 3), np.uint8)
            if self.model.input.layout == "nhwc_uint8"
            else np.zeros((1, 3, height, width), np.float32)
        )
        try:
            output = self._run(blank)
            self._decoder.check_output(tuple(output.shape[1:]), self.input_size)
        except (InferenceError, ValueError) as exc:
            raise ModelLoadError(self.model.path, f"{exc}") from exc


def _check_size(model: ModelSpec, size: tuple[int, int] | None) -> tuple[int, int]:
    spec = model.input
    if size is None:
        return spec.default_size
    try:
        width, height = (int(v) for v in size)
    except (TypeError, ValueError):
        raise ValueError(f"input_size must be (width, height), got {size!r}") from None
    if spec.fixed_size and (width, height) != spec.default_size:
        raise ValueError(
            f"{model.name} has a fixed input of {spec.default_size[0]}x{spec.default_size[1]}; "
            f"input_size {width}x{height} is not possible (re-export the model with dynamic axes)"
        )
    d = spec.size_divisor
    if width <= 0 or height <= 0 or width % d or height % d:
        raise ValueError(
            f"input_size must be positive multiples of {d} for {model.name}, got {width}x{height}"
        )
    return (width, height)


def _check_unit(name: str, value: float) -> float:
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be within [0, 1], got {value}")
    return value


def _check_classes(model: ModelSpec, classes: Sequence[int] | None) -> npt.NDArray[np.int32] | None:
    if classes is None:
        return None
    ids = np.asarray(list(classes), dtype=np.int32)
    if ids.size == 0 or ids.min() < 0 or ids.max() >= model.num_classes:
        raise ValueError(f"classes must be ids in 0..{model.num_classes - 1}, got {list(classes)}")
    return ids


__all__ = ["PersonDetector"]
