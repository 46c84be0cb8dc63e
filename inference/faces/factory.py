"""One call from settings to a ready FaceAnalyzer, in-process or against Triton."""

from __future__ import annotations

from typing import Literal

from footfall.inference.backends.base import InferenceBackend
from footfall.inference.faces.alignment import FaceAligner
from footfall.inference.faces.analyzer import FaceAnalyzer
from footfall.inference.faces.attributes import AgeGenderConvention, AttributeModels
from footfall.inference.faces.detector import FaceDetector
from footfall.inference.faces.models import FaceModelFiles

# Triton model names (inference/triton/model_repository/<name>/config.pbtxt).
TRITON_MODELS = {
    "detector": "face_detector",
    "embedder": "face_embedding",
    "age": "face_age",
    "gender": "face_gender",
    "emotion": "face_emotion",
}


def load_face_analyzer(
    backend: Literal["onnx", "triton"] = "onnx",
    *,
    triton_url: str | None = None,
    threads: int | None = None,
    max_side: int = 640,
    confidence: float = 0.9,
    files: FaceModelFiles | None = None,
    warmup: bool = True,
) -> FaceAnalyzer:
    """Build a :class:`FaceAnalyzer`.

    ``backend="onnx"``: every network in this process (onnxruntime for the detector and age/gender,
    dlib for the embedder, LiteRT for emotion) with ``threads`` threads each. ``backend="triton"``: the
    same tensors go to the models of TRITON_MODELS on ``triton_url`` (``host:port``, gRPC); alignment
    (dlib's shape predictor) always runs here. Missing files or models raise ``ModelLoadError``.
    """
    files = files or FaceModelFiles.default()
    runners: dict[str, InferenceBackend]
    if backend == "onnx":
        from footfall.inference.backends.dlib_embedding import DlibFaceEmbeddingBackend
        from footfall.inference.backends.litert import LiteRtBackend
        from footfall.inference.backends.onnx import OnnxRuntimeBackend

        runners = {
            "detector": OnnxRuntimeBackend(files.detector, threads=threads),
            "embedder": DlibFaceEmbeddingBackend(files.embedder),
            "age": OnnxRuntimeBackend(files.age, threads=threads),
            "gender": OnnxRuntimeBackend(files.gender, threads=threads),
            "emotion": LiteRtBackend(files.emotion, threads=threads),
        }
    elif backend == "triton":
        if not triton_url:
            raise ValueError("backend='triton' needs triton_url (host:port of Triton's gRPC endpoint)")
        from footfall.inference.backends.triton import TritonBackend

        runners = {role: TritonBackend(triton_url, name) for role, name in TRITON_MODELS.items()}
    else:
        raise ValueError(f"backend must be 'onnx' or 'triton', not {backend!r}")
    return FaceAnalyzer(
        FaceDetector(runners["detector"], max_side=max_side, confidence=confidence, warmup=warmup),
        FaceAligner(files.landmarks),
        runners["embedder"],
        AttributeModels(
            runners["age"],
            runners["gender"],
            runners["emotion"],
            AgeGenderConvention.from_manifest(files.age.parent / "manifest.json"),
        ),
    )
