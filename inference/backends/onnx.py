"""In-process onnxruntime backend (the default)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from footfall.inference.errors import InferenceError, ModelLoadError


class OnnxRuntimeBackend:
    """Runs an ONNX file on the CPU (or the given providers).

    A graph with a static batch of 1 is run once per image, so callers can always pass a batch.
    """

    def __init__(
        self,
        model_path: str | Path,
        threads: int | None = None,
        providers: list[str] | None = None,
    ) -> None:
        self.model_path = Path(model_path)
        if not self.model_path.is_file():
            raise ModelLoadError(
                self.model_path, "file does not exist" if not self.model_path.exists() else "not a file"
            )
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.inter_op_num_threads = 1
        if threads is not None:
            options.intra_op_num_threads = threads
        try:
            self.session = ort.InferenceSession(
                str(self.model_path), options, providers=providers or ["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises several private exception types
            raise ModelLoadError(self.model_path, f"onnxruntime cannot load it: {exc}") from exc
        inputs = self.session.get_inputs()
        self.input_names = [i.name for i in inputs]
        self.output_names = [o.name for o in self.session.get_outputs()]
        batch_dims = {i.name: i.shape[0] if i.shape else None for i in inputs}
        self.static_batch = all(dim == 1 for dim in batch_dims.values())

    @property
    def metadata(self) -> dict[str, str]:
        """The model's custom metadata (ultralytics stores class names and image size here)."""
        return dict(self.session.get_modelmeta().custom_metadata_map)

    def infer(self, inputs: dict[str, npt.NDArray[np.float32]]) -> dict[str, npt.NDArray[np.float32]]:
        batch = {len(v) for v in inputs.values()}
        try:
            if self.static_batch and batch != {1}:
                parts = [
                    self.session.run(self.output_names, {k: v[i : i + 1] for k, v in inputs.items()})
                    for i in range(batch.pop())
                ]
                return {
                    name: np.concatenate([p[j] for p in parts]) for j, name in enumerate(self.output_names)
                }
            results = self.session.run(self.output_names, inputs)
        except Exception as exc:
            raise InferenceError(f"onnxruntime failed on {self.model_path}: {exc}") from exc
        return dict(zip(self.output_names, results, strict=True))
