"""In-process dlib ResNet face embedder behind the InferenceBackend interface.

dlib's network (``dlib_face_recognition_resnet_model_v1.dat``) has no ONNX export here, so this backend
runs it with dlib itself: ``{"chips": (B, 150, 150, 3) uint8 RGB}`` -> ``{"embedding": (B, 128) float32}``.
The Triton twin (``triton/python_backend/dlib_face_embedding.py``) makes the same single call.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from footfall.inference.errors import InferenceError, ModelLoadError

CHIP_SIZE = 150
EMBEDDING_DIM = 128


class DlibFaceEmbeddingBackend:
    input_names = ("chips",)
    output_names = ("embedding",)

    def __init__(self, model_path: str | Path) -> None:
        self.model_path = Path(model_path)
        if not self.model_path.is_file():
            raise ModelLoadError(self.model_path, "file does not exist")
        try:
            import dlib

            self._model = dlib.face_recognition_model_v1(str(self.model_path))
        except Exception as exc:  # dlib raises RuntimeError subclasses of its own
            raise ModelLoadError(self.model_path, f"dlib cannot load it: {exc}") from exc

    def infer(self, inputs: dict[str, npt.NDArray[np.uint8]]) -> dict[str, npt.NDArray[np.float32]]:
        chips = inputs.get("chips")
        if chips is None or chips.dtype != np.uint8 or chips.shape[1:] != (CHIP_SIZE, CHIP_SIZE, 3):
            raise InferenceError(f"dlib embedder takes chips (B, {CHIP_SIZE}, {CHIP_SIZE}, 3) uint8")
        if len(chips) == 0:
            return {"embedding": np.zeros((0, EMBEDDING_DIM), np.float32)}
        try:
            vectors = self._model.compute_face_descriptor([np.ascontiguousarray(c) for c in chips])
        except Exception as exc:
            raise InferenceError(f"dlib embedder failed: {exc}") from exc
        return {"embedding": np.asarray([np.asarray(v) for v in vectors], dtype=np.float32)}
