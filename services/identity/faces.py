"""The face models as identity uses them: decode an image, find its best face, embed it, describe it, crop it.

The analyzer is loaded on first use (a few seconds, a few hundred MB), so a platform that never sees a face
never pays for it, and every call runs on one worker thread: the models are CPU-bound and not shared
between threads.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import cv2
import numpy as np
import numpy.typing as npt
from footfall.inference.faces import FaceAnalyzer, FaceQuality, load_face_analyzer
from footfall.inference.faces.types import Face
from footfall.services.core.config import Settings
from footfall.services.core.errors import InvalidArgument, TooLarge, Unavailable
from footfall.services.identity.domain import Attributes, attributes_from_models

INVALID_IMAGE = "Invalid image data"
NO_FACE = "No face found in the image"
#: Margin around the face box in stored crops (fraction of the box side).
CROP_MARGIN = 0.3
CROP_JPEG_QUALITY = 90

T = TypeVar("T")


@dataclass(frozen=True)
class FaceReading:
    """One face, read: its descriptor, what the models say, its quality and a JPEG crop of it."""

    vector: list[float]
    attributes: Attributes
    quality: FaceQuality
    crop_jpeg: bytes


class FaceEngine:
    """`await engine.read_image(bytes)` -> the best face of an uploaded image; `await engine.read_crop(...)`
    -> a crop event's face (its landmarks given by vision, so no detection is needed)."""

    def __init__(self, loader: Callable[[], FaceAnalyzer], *, max_image_bytes: int, max_pixels: int) -> None:
        self._loader = loader
        self._analyzer: FaceAnalyzer | None = None
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="faces")
        self.max_image_bytes = max_image_bytes
        self.max_pixels = max_pixels

    @classmethod
    def from_settings(cls, settings: Settings) -> FaceEngine:
        def load() -> FaceAnalyzer:
            return load_face_analyzer(settings.inference_backend, triton_url=settings.triton_url,
                                      threads=settings.inference_threads)

        return cls(load, max_image_bytes=settings.identity_max_image_bytes, max_pixels=settings.max_image_pixels)

    def analyzer(self) -> FaceAnalyzer:
        with self._lock:
            if self._analyzer is None:
                try:
                    self._analyzer = self._loader()
                except Exception as err:
                    raise Unavailable("face models unavailable") from err
            return self._analyzer

    async def _run(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    async def read_image(self, image: bytes) -> FaceReading:
        """The largest face of an uploaded JPEG/PNG; InvalidArgument for undecodable data or no face."""
        frame = self.decode(image)
        return await self._run(lambda: self._read_best(frame))

    async def read_crop(self, crop_jpeg: bytes, box: Sequence[float], score: float,
                        landmarks: Sequence[tuple[float, float]]) -> FaceReading:
        """A crop event's face: aligned on the landmarks vision found (detected again only without them)."""
        frame = self.decode(crop_jpeg)
        if len(landmarks) != 5 or len(box) != 4:
            return await self._run(lambda: self._read_best(frame))
        face = Face(np.asarray(box, np.float32), float(score), np.asarray(landmarks, np.float32).reshape(5, 2))
        return await self._run(lambda: self._read(frame, face))

    async def embed_image(self, image: bytes) -> list[float]:
        return (await self.read_image(image)).vector

    def decode(self, image: bytes) -> npt.NDArray[np.uint8]:
        if len(image) > self.max_image_bytes:
            raise TooLarge(f"image larger than {self.max_image_bytes} bytes")
        if not image:
            raise InvalidArgument(INVALID_IMAGE)
        header = cv2.imdecode(np.frombuffer(image, np.uint8), cv2.IMREAD_REDUCED_GRAYSCALE_8)
        if header is None:
            raise InvalidArgument(INVALID_IMAGE)
        if header.shape[0] * header.shape[1] * 64 > self.max_pixels:
            raise TooLarge("image has too many pixels")
        frame = cv2.imdecode(np.frombuffer(image, np.uint8), cv2.IMREAD_COLOR)
        if frame is None or frame.ndim != 3:
            raise InvalidArgument(INVALID_IMAGE)
        return frame

    def _read_best(self, frame: npt.NDArray[np.uint8]) -> FaceReading:
        faces = self.analyzer().detect(frame)
        if not faces:
            raise InvalidArgument(NO_FACE)
        face = max(faces, key=lambda f: f.width * f.height)
        return self._read(frame, face)

    def _read(self, frame: npt.NDArray[np.uint8], face: Face) -> FaceReading:
        analyzer = self.analyzer()
        aligned = analyzer.align(frame, face)
        vector = analyzer.embed(aligned)
        attrs = analyzer.attributes(aligned)
        return FaceReading(
            vector=[float(v) for v in vector],
            attributes=attributes_from_models(attrs.age, attrs.age_confidence, attrs.gender, attrs.gender_confidence,
                                              attrs.emotion, attrs.emotion_confidence),
            quality=analyzer.quality(frame, face),
            crop_jpeg=crop_jpeg(frame, face),
        )

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        if self._analyzer is not None:
            self._analyzer.close()
            self._analyzer = None


def crop_jpeg(frame: npt.NDArray[np.uint8], face: Face) -> bytes:
    """The face box with a margin, as JPEG: what is kept of a face (never the whole frame)."""
    h, w = frame.shape[:2]
    x1, y1, x2, y2 = (float(v) for v in face.box)
    mx, my = (x2 - x1) * CROP_MARGIN, (y2 - y1) * CROP_MARGIN
    left, top = max(0, int(x1 - mx)), max(0, int(y1 - my))
    right, bottom = min(w, int(x2 + mx + 1)), min(h, int(y2 + my + 1))
    if right <= left or bottom <= top:
        left, top, right, bottom = 0, 0, w, h
    ok, data = cv2.imencode(".jpg", frame[top:bottom, left:right], [cv2.IMWRITE_JPEG_QUALITY, CROP_JPEG_QUALITY])
    if not ok:
        raise InvalidArgument(INVALID_IMAGE)
    return bytes(data)
