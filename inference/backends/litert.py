"""In-process TensorFlow Lite models (ai-edge-litert) behind the InferenceBackend interface.

Used for fer's emotion classifier, whose graph has a static batch of 1: a batch runs row by row, so
callers can always pass ``(B, ...)``. The Triton twin (``triton/python_backend/litert_model.py``) does
the same.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from footfall.inference.errors import InferenceError, ModelLoadError


class LiteRtBackend:
    def __init__(self, model_path: str | Path, threads: int | None = None) -> None:
        self.model_path = Path(model_path)
        if not self.model_path.is_file():
            raise ModelLoadError(self.model_path, "file does not exist")
        try:
            from ai_edge_litert.interpreter import Interpreter

            self._interpreter: Any = Interpreter(model_path=str(self.model_path), num_threads=threads or 1)
            self._interpreter.allocate_tensors()
        except Exception as exc:
            raise ModelLoadError(self.model_path, f"LiteRT cannot load it: {exc}") from exc
        self._inputs = self._interpreter.get_input_details()
        self._outputs = self._interpreter.get_output_details()
        self.input_names = [d["name"] for d in self._inputs]
        self.output_names = [d["name"] for d in self._outputs]

    def infer(self, inputs: dict[str, npt.NDArray[np.float32]]) -> dict[str, npt.NDArray[np.float32]]:
        missing = set(self.input_names) - set(inputs)
        if missing:
            raise InferenceError(f"{self.model_path.name} needs inputs {sorted(missing)}")
        total = len(inputs[self.input_names[0]])
        rows: dict[str, list[npt.NDArray[np.float32]]] = {name: [] for name in self.output_names}
        try:
            for i in range(total):
                for detail in self._inputs:
                    row = np.ascontiguousarray(inputs[detail["name"]][i : i + 1], dtype=detail["dtype"])
                    self._interpreter.set_tensor(detail["index"], row)
                self._interpreter.invoke()
                for detail in self._outputs:
                    rows[detail["name"]].append(self._interpreter.get_tensor(detail["index"]).copy())
        except Exception as exc:
            raise InferenceError(f"LiteRT failed on {self.model_path.name}: {exc}") from exc
        return {
            name: np.concatenate(parts) if parts else np.zeros((0, *d["shape"][1:]), np.float32)
            for (name, parts), d in zip(rows.items(), self._outputs, strict=True)
        }
