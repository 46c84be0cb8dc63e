"""The person detector of every vision path: its settings, its one loader, and input sizing per frame size.

Live streams, pushed frames, ``footfall process`` and the ``customer_tracking_engine`` API all detect with
a detector built here from one :class:`DetectorSettings` (fed from the typed platform settings by
:meth:`DetectorSettings.from_settings`), so the accuracy measured for one holds for all of them.

Detection dominates the cost of the pipeline. On a small CPU, running two frames at once with
one onnxruntime thread each keeps both cores busy (model layers are too small for two threads
to share one image efficiently): ``workers`` is how many frames the engine
(:class:`~footfall.services.vision.engine.AnalysisEngine`) detects at once.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

SIZE_DIVISOR = 32


@dataclass(frozen=True, slots=True)
class DetectorSettings:
    """How the vision service runs the person detector.

    Attributes:
        model: a shipped model name or a model path understood by ``inference``. Default
            ``"nanodet-int8"``: NanoDet quantised to int8, taking uint8 frames (normalised in its
            graph); ~2.4x faster than the fp32 ``"nanodet"`` at the same input size. At 416x320 it
            loses ~0.01 F1 (small, distant people), so its default budget is 480x352, where it
            scores like fp32 and still costs ~40 % of fp32 at 416x320 (``inference/MODELS.md``).
            ``"nanodet-u8"``: fp32 with the same uint8 input, detections bit-identical to
            ``"nanodet"`` (use ``pixel_budget=416 * 320`` with either fp32 model).
        input_size: Model input (W, H), multiples of 32. ``None``: chosen per frame size by
            :func:`input_size_for` within ``pixel_budget``.
        pixel_budget: Input pixels allowed when the size is chosen automatically; the detector's
            run time is proportional to it. 480x352 for the int8 model (see ``model``).
        confidence: Detection threshold. Kept below the tracker's ``high_threshold`` so the
            tracker's second association stage gets the weak boxes of partly hidden people.
        nms_iou: Overlap above which NMS drops the weaker of two boxes (``None``: model default).
        workers: Frames detected concurrently (each in its own onnxruntime call).
        threads: onnxruntime intra-op threads per call; ``None`` picks ``cpus // workers``, and a call
            running alone (one camera) then borrows the idle workers' cores: the windows of a motion-gated
            frame run side by side, a whole frame on all cores (same detections, see
            :mod:`footfall.inference.backends.onnx`).
        backend / triton_url: ``"onnx"`` in-process, or ``"triton"`` at ``triton_url``.
        motion_gating: Detect only where a camera's frame changed or people are tracked
            (:mod:`~footfall.services.vision.gating`; each camera's ``CameraConfig.gate`` tunes it).
        detect_stride: With motion gating, a steady scene is detected at least every this many frames
            and its tracks extrapolated in between (adaptive detection rate, see
            :mod:`~footfall.services.vision.gating`), and a settled person is left out of every other
            frame's crops; 1 detects every frame and everyone.

    Raises ``ValueError`` naming the bad field (the CLI and the settings loader show it as is).
    """

    model: str = "nanodet-int8"
    input_size: tuple[int, int] | None = None
    pixel_budget: int = 480 * 352
    confidence: float = 0.2
    nms_iou: float | None = None
    workers: int = 2
    threads: int | None = None
    backend: str = "onnx"
    triton_url: str | None = None
    motion_gating: bool = True
    detect_stride: int = 2

    def __post_init__(self) -> None:
        if not str(self.model).strip():
            raise ValueError("detector model must not be empty")
        if self.input_size is not None:
            object.__setattr__(self, "input_size", check_input_size(self.input_size))
        if self.pixel_budget < SIZE_DIVISOR * SIZE_DIVISOR:
            raise ValueError(f"detector pixel budget must be at least {SIZE_DIVISOR}x{SIZE_DIVISOR}")
        check_confidence(self.confidence)
        if self.nms_iou is not None and not (math.isfinite(self.nms_iou) and 0.0 < self.nms_iou <= 1.0):
            raise ValueError(f"detector nms_iou must be within (0, 1], got {self.nms_iou}")
        if self.workers < 1:
            raise ValueError(f"detector workers must be 1 or more, got {self.workers}")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"detector threads must be 1 or more, got {self.threads}")
        if self.detect_stride < 1:
            raise ValueError(f"detector detect_stride must be 1 or more, got {self.detect_stride}")
        if self.backend not in ("onnx", "triton"):
            raise ValueError(f"inference backend must be 'onnx' or 'triton', not {self.backend!r}")

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> DetectorSettings:
        """The detector of the platform ``Settings`` (``detector_*``, ``inference_backend``, ``triton_url``);
        unset fields keep this class's defaults; ``overrides`` win over both."""
        values: dict[str, Any] = {
            "model": getattr(settings, "detector_model", None),
            "input_size": getattr(settings, "detector_input_size", None),
            "pixel_budget": getattr(settings, "detector_pixel_budget", None),
            "confidence": getattr(settings, "detector_confidence", None),
            "workers": getattr(settings, "detector_workers", None),
            "threads": getattr(settings, "detector_threads", None),
            "backend": getattr(settings, "inference_backend", None),
            "triton_url": getattr(settings, "triton_url", None),
            "motion_gating": getattr(settings, "detector_motion_gating", None),
            "detect_stride": getattr(settings, "detector_detect_stride", None),
        }
        values.update(overrides)
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if v is not None and k in names})

    def threads_per_call(self) -> int:
        if self.threads is not None:
            return self.threads
        return max(1, (os.cpu_count() or 1) // max(1, self.workers))

    def spare_threads(self) -> int:
        """Threads a call may borrow while no other detection runs (one camera, or a quiet moment): the cores
        the other workers would use. None when ``threads`` is set explicitly (then every call uses exactly that)."""
        if self.threads is not None:
            return 0
        return max(0, (os.cpu_count() or 1) - self.threads_per_call())


def check_input_size(size: Sequence[int]) -> tuple[int, int]:
    """``(W, H)`` as positive multiples of 32, or ``ValueError`` saying so."""
    try:
        w, h = (int(v) for v in size)
    except (TypeError, ValueError):
        raise ValueError(f"detector input size must be (width, height), got {size!r}") from None
    if w <= 0 or h <= 0 or w % SIZE_DIVISOR or h % SIZE_DIVISOR:
        raise ValueError(
            f"detector input size must be positive multiples of {SIZE_DIVISOR}, got {w}x{h} "
            f"(e.g. {max(1, round(w / SIZE_DIVISOR)) * SIZE_DIVISOR}x{max(1, round(h / SIZE_DIVISOR)) * SIZE_DIVISOR})"
        )
    return (w, h)


def check_confidence(value: float) -> float:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and 0.0 < value <= 1.0):
        raise ValueError(f"detector confidence must be within (0, 1], got {value}")
    return float(value)


def input_size_for(
    frame_size: tuple[int, int], pixel_budget: int = 416 * 320, divisor: int = SIZE_DIVISOR
) -> tuple[int, int]:
    """Model input (W, H) for frames of ``frame_size`` (W, H) within ``pixel_budget`` input pixels.

    Picks the multiple-of-``divisor`` input that keeps the most *image* pixels after letterboxing
    (so no compute goes to padding bars), without upscaling past the source. For 480x360 within
    416x320's budget this is 416x320 (the image fills 416x312); for 1920x1080 it is 480x256.
    """
    src_w, src_h = frame_size
    if src_w <= 0 or src_h <= 0:
        raise ValueError(f"bad frame size {frame_size}")
    best: tuple[float, int, tuple[int, int]] | None = None
    max_side = int((pixel_budget / divisor) // divisor * divisor) or divisor
    for w in range(divisor, max_side + 1, divisor):
        for h in range(divisor, max_side + 1, divisor):
            if w * h > pixel_budget:
                break
            scale = min(w / src_w, h / src_h, 1.0)
            content = (src_w * scale) * (src_h * scale)
            key = (round(content), -w * h, (w, h))  # most image pixels, then the smallest input
            if best is None or key[:2] > best[:2]:
                best = key
    assert best is not None
    return best[2]


class FittedDetector:
    """A person detector whose input is sized for each frame size (see :func:`input_size_for`).

    One model session serves every size: each size gets a ``PersonDetector.with_settings`` view of the
    same backend, made at the first frame of that size. Frames of different sizes in one batch are
    detected per size, results in the order given. With a fixed ``input_size`` every frame uses it.
    """

    #: Distinct frame sizes kept; pushed frames of ever new sizes recycle the oldest view.
    MAX_SIZES = 16

    def __init__(self, base: Any, settings: DetectorSettings) -> None:
        self.base = base
        self.settings = settings
        self.backend_name = settings.backend
        self.gating = settings.motion_gating  # VisionPipeline.detect_batch: use detect_regions
        self.stride = settings.detect_stride  # VisionPipeline.detect_batch: frames a steady scene may predict
        self._views: dict[tuple[int, int], Any] = {}
        self._lock = threading.Lock()

    def input_size(self, frame_size: tuple[int, int]) -> tuple[int, int]:
        if self.settings.input_size is not None:
            return self.settings.input_size
        return input_size_for(frame_size, self.settings.pixel_budget)

    def view(self, frame_size: tuple[int, int]) -> Any:
        """The detector for frames of ``frame_size`` (W, H)."""
        with self._lock:
            found = self._views.get(frame_size)
            if found is None:
                size = self.input_size(frame_size)
                found = self.base if tuple(self.base.input_size) == size else self.base.with_settings(input_size=size)
                if len(self._views) >= self.MAX_SIZES:
                    self._views.pop(next(iter(self._views)))
                self._views[frame_size] = found
            return found

    def detect(self, frame_bgr: np.ndarray) -> Any:
        return self.view((int(frame_bgr.shape[1]), int(frame_bgr.shape[0]))).detect(frame_bgr)

    def detect_regions(self, frame_bgr: np.ndarray, regions: Sequence[tuple[int, int, int, int]] | None) -> Any:
        """Detect only inside ``regions`` of the frame (motion gating; ``PersonDetector.detect_regions``)."""
        return self.view((int(frame_bgr.shape[1]), int(frame_bgr.shape[0]))).detect_regions(frame_bgr, regions)

    def detect_batch(self, frames: Sequence[np.ndarray]) -> list[Any]:
        groups: dict[tuple[int, int], list[int]] = {}
        for i, frame in enumerate(frames):
            groups.setdefault((int(frame.shape[1]), int(frame.shape[0])), []).append(i)
        out: list[Any] = [None] * len(frames)
        for size, indices in groups.items():
            for i, dets in zip(indices, self.view(size).detect_batch([frames[i] for i in indices])):
                out[i] = dets
        return out

    def close(self) -> None:
        close = getattr(self.base, "close", None)
        if callable(close):
            close()


# Shipped variants that inference/triton/model_repository does not serve.
_IN_PROCESS_ONLY = frozenset({"nanodet-int8", "nanodet-u8"})


def load_detector(settings: DetectorSettings | None = None, frame_size: tuple[int, int] | None = None) -> FittedDetector:
    """Load the person detector (people only) of ``settings``: the one loader of every vision path.

    ``frame_size``: size the first view for these frames now (a model that cannot take that input fails
    here, not at the first frame). Raises ``inference.ModelLoadError`` for missing or broken weights.
    """
    from footfall.inference import load_person_detector

    s = settings or DetectorSettings()
    size = s.input_size
    if size is None and frame_size is not None:
        size = input_size_for(frame_size, s.pixel_budget)
    model = s.model
    if s.backend == "triton" and model in _IN_PROCESS_ONLY:
        # The Triton repository serves the fp32 "nanodet" (a GPU gains nothing from int8 here).
        model = "nanodet"
    base = load_person_detector(
        backend=s.backend,  # type: ignore[arg-type]
        model=model,
        triton_url=s.triton_url,
        input_size=size,
        confidence=s.confidence,
        nms_iou=s.nms_iou,
        classes=(0,),
        threads=s.threads_per_call() if s.backend == "onnx" else None,
        spare_threads=s.spare_threads() if s.backend == "onnx" else 0,
    )
    detector = FittedDetector(base, s)
    if frame_size is not None:
        detector.view(frame_size)
    return detector


def detector_loader(settings: DetectorSettings) -> Callable[[], FittedDetector]:
    """``load_detector`` bound to ``settings``, for :class:`~footfall.services.vision.engine.AnalysisEngine`
    (which calls it once, in its analysis thread)."""

    def load() -> FittedDetector:
        return load_detector(settings)

    return load
