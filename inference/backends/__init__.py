"""Inference backends: in-process onnxruntime (default), Triton over gRPC, optional ultralytics .pt."""

from __future__ import annotations

from inference.backends.base import InferenceBackend
from inference.backends.onnx import OnnxRuntimeBackend

__all__ = ["InferenceBackend", "OnnxRuntimeBackend"]
# TritonBackend (inference.backends.triton) and UltralyticsBackend (inference.backends.ultralytics)
# are imported where used, so importing this package never loads tritonclient or torch.
