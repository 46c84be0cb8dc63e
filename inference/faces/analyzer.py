"""FaceAnalyzer: detection, alignment, embedding, attributes and quality behind one object."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import numpy.typing as npt

from footfall.inference.backends.base import InferenceBackend
from footfall.inference.errors import InferenceError
from footfall.inference.faces.alignment import FaceAligner
from footfall.inference.faces.attributes import AttributeModels
from footfall.inference.faces.detector import FaceDetector
from footfall.inference.faces.quality import face_quality
from footfall.inference.faces.types import AlignedFace, Face, FaceAnalysis, FaceAttributes, FaceQuality
from footfall.inference.preprocess import validate_frame

EMBEDDING_DIM = 128


class FaceAnalyzer:
    """One face pipeline; every network sits behind an :class:`InferenceBackend` (in-process or Triton).

    Frames are BGR ``uint8`` ``H x W x 3`` (OpenCV's convention, as for the person detector).
    """

    def __init__(
        self,
        detector: FaceDetector,
        aligner: FaceAligner,
        embedder: InferenceBackend,
        attributes: AttributeModels,
    ) -> None:
        self.detector = detector
        self.aligner = aligner
        self.embedder = embedder
        self.attribute_models = attributes

    def detect(self, frame: npt.NDArray[np.uint8]) -> list[Face]:
        return self.detector.detect(frame)

    def detect_batch(self, frames: Sequence[npt.NDArray[np.uint8]]) -> list[list[Face]]:
        return self.detector.detect_batch(frames)

    def align(self, frame: npt.NDArray[np.uint8], face: Face) -> AlignedFace:
        validate_frame(frame)
        return self.aligner.align(frame, face)

    def align_all(self, frame: npt.NDArray[np.uint8], faces: Sequence[Face]) -> list[AlignedFace]:
        validate_frame(frame)
        rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        return [self.aligner.align(frame, face, rgb=rgb) for face in faces]

    def embed(self, aligned: AlignedFace) -> npt.NDArray[np.float32]:
        return self.embed_batch([aligned])[0]

    def embed_batch(self, aligned: Sequence[AlignedFace]) -> npt.NDArray[np.float32]:
        """``(N, 128)`` float32, dlib's raw descriptors: compare with Euclidean distance (see EMBEDDING_METRIC)."""
        if not aligned:
            return np.zeros((0, EMBEDDING_DIM), np.float32)
        chips = np.stack([a.chip for a in aligned])
        out = self.embedder.infer({"chips": chips}).get("embedding")
        if out is None or out.shape != (len(aligned), EMBEDDING_DIM):
            raise InferenceError(f"embedder returned {None if out is None else out.shape}")
        return np.asarray(out, np.float32)

    def attributes(self, aligned: AlignedFace) -> FaceAttributes:
        return self.attribute_models.predict([aligned])[0]

    def attributes_batch(self, aligned: Sequence[AlignedFace]) -> list[FaceAttributes]:
        return self.attribute_models.predict(aligned)

    def quality(self, frame: npt.NDArray[np.uint8], face: Face) -> FaceQuality:
        return face_quality(frame, face)

    def analyze(
        self, frame: npt.NDArray[np.uint8], *, embed: bool = True, attributes: bool = True
    ) -> list[FaceAnalysis]:
        """Every face in the frame with its quality, crops and (optionally) embedding and attributes;
        one backend call per network for all the faces."""
        faces = self.detect(frame)
        aligned = self.align_all(frame, faces)
        vectors = self.embed_batch(aligned) if embed else None
        attrs = self.attributes_batch(aligned) if attributes else None
        return [
            FaceAnalysis(
                face=face,
                quality=self.quality(frame, face),
                aligned=aligned[i],
                embedding=None if vectors is None else vectors[i],
                attributes=None if attrs is None else attrs[i],
            )
            for i, face in enumerate(faces)
        ]

    def close(self) -> None:
        for backend in (
            self.detector.backend,
            self.embedder,
            self.attribute_models.age,
            self.attribute_models.gender,
            self.attribute_models.emotion,
        ):
            close = getattr(backend, "close", None)
            if callable(close):
                close()
