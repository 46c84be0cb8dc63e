"""The one interface every inference backend implements."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt


@runtime_checkable
class InferenceBackend(Protocol):
    """Runs a model: named input tensors in, named output tensors out (batch on axis 0)."""

    def infer(self, inputs: dict[str, npt.NDArray[np.float32]]) -> dict[str, npt.NDArray[np.float32]]: ...
