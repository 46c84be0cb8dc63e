"""Faces: detection with 5 landmarks, alignment, 128-d embeddings, age/gender/emotion, crop quality.

API (what the identity service calls)::

    from footfall.inference.faces import load_face_analyzer, identify, MATCH_THRESHOLD

    analyzer = load_face_analyzer()                      # in-process (onnxruntime, dlib, LiteRT)
    analyzer = load_face_analyzer("triton", triton_url="triton:8001")   # same results from Triton

    faces = analyzer.detect(frame_bgr)                   # list[Face]: box (x1,y1,x2,y2), score, landmarks (5,2)
    best = max(faces, key=lambda f: analyzer.quality(frame_bgr, f).score)
    quality = analyzer.quality(frame_bgr, best)          # FaceQuality: sharpness, size, frontal, score in [0,1]
    aligned = analyzer.align(frame_bgr, best)            # AlignedFace: 150x150 RGB chip (+ attribute crops)
    vector = analyzer.embed(aligned)                     # (128,) float32, dlib's raw descriptor
    attrs = analyzer.attributes(aligned)                 # FaceAttributes: age, gender, emotion (+ confidences)
    results = analyzer.analyze(frame_bgr)                # all of it for every face, batched per network
    match = identify(vector, gallery_vectors, gallery_labels)   # Match(label or None, distance)

- Frames are BGR ``uint8`` ``H x W x 3``; boxes and landmarks are in frame pixels. Landmarks follow
  ``LANDMARK_NAMES`` (right eye, left eye, nose, right and left mouth corner, the subject's sides).
- Embeddings are compared with **Euclidean distance on the raw vectors** (``EMBEDDING_METRIC``; in
  Qdrant ``Distance.EUCLID``); the same person is closer than ``MATCH_THRESHOLD`` (0.6, calibrated on
  the shared face photos: inference/MODELS.md "Faces"). They are not unit vectors: do not use cosine
  with this threshold.
- Embed a track once, from its best crop, and again only when :func:`clearly_better` says a new crop
  beats the one embedded (~100-300 ms of CPU per embedding; detection is ~20-100 ms per frame).
- ``attributes`` are what the models say (confidence = the top class probability); the shared data
  cannot support an accuracy claim (inference/MODELS.md).
- Missing model files or an unreachable Triton raise ``ModelLoadError`` at construction; a failing
  backend call raises ``InferenceError``; a malformed frame raises ``ValueError``.
"""

from __future__ import annotations

from footfall.inference.faces.analyzer import EMBEDDING_DIM, FaceAnalyzer
from footfall.inference.faces.factory import TRITON_MODELS, load_face_analyzer
from footfall.inference.faces.matching import EMBEDDING_METRIC, MATCH_THRESHOLD, Match, distances, identify
from footfall.inference.faces.models import FaceModelFiles
from footfall.inference.faces.quality import clearly_better, face_quality
from footfall.inference.faces.types import (
    EMOTIONS,
    LANDMARK_NAMES,
    AlignedFace,
    Face,
    FaceAnalysis,
    FaceAttributes,
    FaceQuality,
)

__all__ = [
    "EMBEDDING_DIM",
    "EMBEDDING_METRIC",
    "EMOTIONS",
    "LANDMARK_NAMES",
    "MATCH_THRESHOLD",
    "TRITON_MODELS",
    "AlignedFace",
    "Face",
    "FaceAnalysis",
    "FaceAnalyzer",
    "FaceAttributes",
    "FaceModelFiles",
    "FaceQuality",
    "Match",
    "clearly_better",
    "distances",
    "face_quality",
    "identify",
    "load_face_analyzer",
]
