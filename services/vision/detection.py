"""The person detector as the vision service uses it: settings, loading, and pipelined detection.

Detection dominates the cost of the pipeline. On a small CPU, running two frames at once with
one onnxruntime thread each keeps both cores busy (model layers are too small for two threads
to share one image efficiently), and decoding the next frames in another thread hides the
decoder. :func:`detect_stream` does both while keeping frames in order.
"""

from __future__ import annotations

import os
import queue
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from footfall.services.vision.sources import Frame


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
        input_size: Model input (W, H), multiples of 32. ``None``: chosen per video by
            :func:`input_size_for` from the frame size and ``pixel_budget``.
        pixel_budget: Input pixels allowed when the size is chosen automatically; the detector's
            run time is proportional to it. 480x352 for the int8 model (see ``model``).
        confidence: Detection threshold. Kept below the tracker's ``high_threshold`` so the
            tracker's second association stage gets the weak boxes of partly hidden people.
        nms_iou: Overlap above which NMS drops the weaker of two boxes (``None``: model default).
        workers: Frames detected concurrently (each in its own onnxruntime call).
        threads: onnxruntime intra-op threads per call; ``None`` picks ``cpus // workers``.
        backend / triton_url: ``"onnx"`` in-process, or ``"triton"`` at ``triton_url``.
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

    def threads_per_call(self) -> int:
        if self.threads is not None:
            return self.threads
        return max(1, (os.cpu_count() or 1) // max(1, self.workers))


def input_size_for(
    frame_size: tuple[int, int], pixel_budget: int = 416 * 320, divisor: int = 32
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


# Shipped variants that inference/triton/model_repository does not serve.
_IN_PROCESS_ONLY = frozenset({"nanodet-int8", "nanodet-u8"})


def load_detector(settings: DetectorSettings | None = None, frame_size: tuple[int, int] | None = None) -> Any:
    """Load an ``inference`` person detector with these settings (people only).

    Without an explicit ``input_size`` the input is sized for ``frame_size`` (see
    :func:`input_size_for`), or the model's default when the frame size is unknown.
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
    return load_person_detector(
        backend=s.backend,  # type: ignore[arg-type]
        model=model,
        triton_url=s.triton_url,
        input_size=size,
        confidence=s.confidence,
        nms_iou=s.nms_iou,
        classes=(0,),
        threads=s.threads_per_call() if s.backend == "onnx" else None,
    )


_END = object()


def _prefetch(frames: Iterable[Frame], depth: int) -> Iterator[Frame]:
    """Iterate ``frames`` from a background thread (decoding overlaps detection)."""
    q: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def reader() -> None:
        try:
            for frame in frames:
                while not stop.is_set():
                    try:
                        q.put(frame, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(_END)
        except BaseException as exc:  # noqa: BLE001  (any decoder error goes to the consumer)
            q.put(exc)

    thread = threading.Thread(target=reader, name="frame-reader", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()


def detect_stream(detector: Any, frames: Iterable[Frame], workers: int = 2) -> Iterator[tuple[Frame, Any]]:
    """Yield ``(frame, detections)`` in frame order, detecting up to ``workers`` frames at once.

    Frames are read ahead in a background thread. With ``workers == 1`` this is a plain
    sequential loop with read-ahead.
    """
    source = _prefetch(frames, depth=max(2, 2 * workers))
    if workers <= 1:
        for frame in source:
            yield frame, detector.detect(frame.image)
        return
    pending: deque[tuple[Frame, Future[Any]]] = deque()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="detect") as pool:
        try:
            for frame in source:
                pending.append((frame, pool.submit(detector.detect, frame.image)))
                if len(pending) > workers:
                    done_frame, future = pending.popleft()
                    yield done_frame, future.result()
            while pending:
                done_frame, future = pending.popleft()
                yield done_frame, future.result()
        finally:
            for _, future in pending:
                future.cancel()
