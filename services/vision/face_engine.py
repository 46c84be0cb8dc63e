"""The face detector shared by every camera of a vision service, on a thread of its own.

Face sampling (:mod:`footfall.services.vision.faces`) runs here rather than on the person detector's
analysis thread, so one camera's face work never delays another camera's detection batch. The analyzer
loads on first use; when it cannot load (model files missing, Triton without the face models) faces are
turned off with one log line and the streams go on counting people: identity is an extra, not a reason
to stop counting.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from footfall.services.vision.blur import blur_regions, head_boxes
from footfall.services.vision.faces import FaceCrop, FaceSampler, FaceSampling
from footfall.services.vision.track import Track

log = logging.getLogger(__name__)


class FaceEngine:
    """Loads the face analyzer once and runs face work for every camera.

    Args:
        load_analyzer: Builds a :class:`footfall.inference.faces.FaceAnalyzer` (called once, in a thread).
        sampling: How often and where faces are looked for.
        enabled: The default for streams that do not say whether they want face crops.
    """

    def __init__(
        self, load_analyzer: Callable[[], Any], *, sampling: FaceSampling | None = None, enabled: bool = True
    ) -> None:
        self._load_analyzer = load_analyzer
        self.sampling = sampling or FaceSampling()
        self.enabled = enabled
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vision-faces")
        self._analyzer: Any = None
        self._failed = False
        self._load_lock = asyncio.Lock()
        self.seconds = 0.0  # face work so far (measuring its cost)

    @property
    def available(self) -> bool:
        return not self._failed

    def sampler(self) -> FaceSampler:
        return FaceSampler(self.sampling)

    async def analyzer(self) -> Any | None:
        """The analyzer, loading it on first use; None when it cannot be loaded."""
        if self._analyzer is not None or self._failed:
            return self._analyzer
        async with self._load_lock:
            if self._analyzer is None and not self._failed:
                try:
                    self._analyzer = await asyncio.get_running_loop().run_in_executor(self._executor, self._load_analyzer)
                except Exception:
                    self._failed = True
                    log.exception("the face analyzer could not be loaded: face crops and face blurring by "
                                  "detection are off (blurring falls back to head regions)")
        return self._analyzer

    async def sample(
        self, sampler: FaceSampler, image: np.ndarray, tracks: Sequence[Track], frame_index: int, timestamp: float
    ) -> list[FaceCrop]:
        """The crops of this frame worth handing over (see :meth:`FaceSampler.observe`)."""
        if not sampler.due(tracks, frame_index):
            return []
        analyzer = await self.analyzer()
        if analyzer is None:
            return []

        def run() -> list[FaceCrop]:
            started = time.perf_counter()
            try:
                return sampler.observe(analyzer, image, tracks, frame_index, timestamp)
            finally:
                self.seconds += time.perf_counter() - started

        return await asyncio.get_running_loop().run_in_executor(self._executor, run)

    def blur(self, image: np.ndarray, tracks: Sequence[Track]) -> np.ndarray:
        """In the caller's thread: ``image`` with its faces blurred (head regions when no detector loaded)."""
        analyzer = self._analyzer
        if analyzer is None:
            return blur_regions(image, head_boxes(tracks), padding=0.0)
        faces = analyzer.detect_batch([image])[0]
        return blur_regions(image, [tuple(float(v) for v in f.box) for f in faces])

    async def close(self) -> None:
        """Stop the face thread (the analyzer stays usable by whoever else holds it, like the detector)."""
        self._executor.shutdown(wait=False, cancel_futures=True)


def face_analyzer_loader(settings: Any) -> Callable[[], Any]:
    """Loads the face analyzer the settings ask for (in-process or Triton); call it in a thread."""

    def load() -> Any:
        from footfall.inference.faces import load_face_analyzer

        return load_face_analyzer(settings.inference_backend, triton_url=settings.triton_url,
                                  threads=settings.inference_threads)

    return load
