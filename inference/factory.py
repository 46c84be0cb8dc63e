"""One call from settings to a ready detector."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from footfall.inference.backends.base import InferenceBackend
from footfall.inference.backends.onnx import OnnxRuntimeBackend
from footfall.inference.detector import PersonDetector
from footfall.inference.errors import ModelLoadError
from footfall.inference.loading import resolve_model
from footfall.inference.spec import ModelSpec


def load_person_detector(
    backend: Literal["onnx", "triton"] = "onnx",
    model: str | Path = "nanodet",
    *,
    triton_url: str | None = None,
    triton_model_name: str | None = None,
    triton_model_version: str = "",
    input_size: tuple[int, int] | None = None,
    confidence: float | None = None,
    nms_iou: float | None = None,
    classes: Sequence[int] | None = (0,),
    threads: int | None = None,
    spare_threads: int = 0,
    warmup: bool = True,
) -> PersonDetector:
    """Build a :class:`PersonDetector`.

    ``model``: ``"nanodet"`` (shipped), a path to a YOLO ``.onnx`` export, a ``model.json``, or ultralytics
    ``.pt`` weights (needs ``footfall[yolo]``; in-process only). ``backend="onnx"`` runs in this process
    with ``threads`` intra-op threads (and up to ``spare_threads`` more while no other call runs, see
    :mod:`~footfall.inference.backends.onnx`); ``backend="triton"`` sends the same tensors to ``triton_url``
    (``host:port`` of the gRPC endpoint), model ``triton_model_name`` (default: the model's name, e.g.
    ``nanodet``). Missing or malformed weights raise :class:`ModelLoadError` here.
    """
    spec: ModelSpec
    runner: InferenceBackend
    is_pt = Path(model).suffix == ".pt"
    if backend == "onnx":
        if is_pt:
            from footfall.inference.backends.ultralytics import UltralyticsBackend

            ultra = UltralyticsBackend(model)
            spec, runner = ultra.spec(), ultra
        else:
            spec = resolve_model(model)
            runner = OnnxRuntimeBackend(spec.path, threads=threads, spare_threads=spare_threads)
    elif backend == "triton":
        if is_pt:
            raise ModelLoadError(
                model, "Triton serves ONNX here: export the .pt to ONNX (dynamic=True) first"
            )
        if not triton_url:
            raise ValueError("backend='triton' needs triton_url (host:port of Triton's gRPC endpoint)")
        spec = resolve_model(model)
        from footfall.inference.backends.triton import TritonBackend

        runner = TritonBackend(triton_url, triton_model_name or spec.name, triton_model_version)
    else:
        raise ValueError(f"backend must be 'onnx' or 'triton', not {backend!r}")
    return PersonDetector(
        spec,
        runner,
        input_size=input_size,
        confidence=confidence,
        nms_iou=nms_iou,
        classes=classes,
        warmup=warmup,
    )
