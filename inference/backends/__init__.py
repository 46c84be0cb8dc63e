"""Inference backends: in-process onnxruntime (default), Triton over gRPC, optional ultralytics .pt."""

from __future__ import annotations

from footfall.inference.backends.base import InferenceBackend
from footfall.inference.backends.onnx import OnnxRuntimeBackend

__all__ = ["InferenceBackend", "OnnxRuntimeBackend"]
# TritonBackend (footfall.inference.backends.triton) and UltralyticsBackend (footfall.inference.backends.ultralytics)
# are imported where used, so importing this package never loads tritonclient or torch.
