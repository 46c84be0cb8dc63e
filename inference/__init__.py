"""Footfall inference: models, their pre- and post-processing, and backends (onnxruntime, Triton).

>>> from inference import load_person_detector
>>> detector = load_person_detector()  # shipped NanoDet, in-process onnxruntime
>>> detections = detector.detect(frame_bgr)  # Detections: xyxy, confidence, class_id

See ``inference/MODELS.md`` for the models, their licences and how to bring your own.
"""

from __future__ import annotations

from footfall.inference.backends.base import InferenceBackend
from footfall.inference.backends.onnx import OnnxRuntimeBackend
from footfall.inference.detections import Detections
from footfall.inference.detector import PersonDetector
from footfall.inference.errors import InferenceError, ModelLoadError
from footfall.inference.factory import load_person_detector
from footfall.inference.loading import BUILTIN_MODELS, resolve_model
from footfall.inference.spec import InputSpec, ModelSpec, NanoDetHead, YoloHead

__all__ = [
    "BUILTIN_MODELS",
    "Detections",
    "InferenceBackend",
    "InferenceError",
    "InputSpec",
    "ModelLoadError",
    "ModelSpec",
    "NanoDetHead",
    "OnnxRuntimeBackend",
    "PersonDetector",
    "YoloHead",
    "load_person_detector",
    "resolve_model",
]
