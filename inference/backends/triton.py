"""Triton Inference Server backend over gRPC (tritonclient)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from footfall.inference.errors import InferenceError, ModelLoadError


class TritonBackend:
    """Sends batches to a model served by Triton; checks at construction that it is there and ready.

    Batches larger than the model's ``max_batch_size`` are split into several requests.
    """

    def __init__(self, url: str, model_name: str, model_version: str = "", timeout_s: float = 30.0) -> None:
        self.url = url
        self.model_name = model_name
        self.model_version = model_version
        self.timeout_s = timeout_s
        where = f"triton://{url}/{model_name}" + (f"/{model_version}" if model_version else "")
        try:
            import tritonclient.grpc as grpcclient
            from tritonclient.utils import InferenceServerException, np_to_triton_dtype
        except ImportError as exc:  # pragma: no cover - tritonclient is a main dependency
            raise ModelLoadError(where, f"tritonclient[grpc] is not installed: {exc}") from exc
        self._grpc = grpcclient
        self._to_triton_dtype = np_to_triton_dtype
        self._server_error = InferenceServerException
        try:
            self.client = grpcclient.InferenceServerClient(url=url)
            if not self.client.is_model_ready(model_name, model_version, client_timeout=timeout_s):
                raise ModelLoadError(where, "the server does not have this model ready")
            meta: dict[str, Any] = self.client.get_model_metadata(
                model_name, model_version, as_json=True, client_timeout=timeout_s
            )
            config: dict[str, Any] = self.client.get_model_config(
                model_name, model_version, as_json=True, client_timeout=timeout_s
            )["config"]
        except InferenceServerException as exc:
            raise ModelLoadError(where, f"Triton at {url} did not answer: {exc}") from exc
        self.input_names = [i["name"] for i in meta["inputs"]]
        self.output_names = [o["name"] for o in meta["outputs"]]
        self.max_batch_size = int(config.get("max_batch_size", 0))

    def infer(self, inputs: dict[str, npt.NDArray[np.float32]]) -> dict[str, npt.NDArray[np.float32]]:
        unknown = set(inputs) - set(self.input_names)
        if unknown:
            raise InferenceError(
                f"{self.model_name} on Triton has inputs {self.input_names}, not {sorted(unknown)}"
            )
        total = len(next(iter(inputs.values())))
        # max_batch_size 0: the model has no batch dimension of Triton's; send the tensor as it is.
        step = self.max_batch_size if self.max_batch_size > 0 else max(total, 1)
        parts = [
            self._infer_once({k: v[i : i + step] for k, v in inputs.items()}) for i in range(0, total, step)
        ]
        if len(parts) == 1:
            return parts[0]
        return {name: np.concatenate([p[name] for p in parts]) for name in self.output_names}

    def _infer_once(self, inputs: dict[str, npt.NDArray[np.float32]]) -> dict[str, npt.NDArray[np.float32]]:
        requests = []
        for name, array in inputs.items():
            array = np.ascontiguousarray(array)
            tensor = self._grpc.InferInput(name, list(array.shape), self._to_triton_dtype(array.dtype))
            tensor.set_data_from_numpy(array)
            requests.append(tensor)
        wanted = [self._grpc.InferRequestedOutput(name) for name in self.output_names]
        try:
            result = self.client.infer(
                self.model_name,
                requests,
                model_version=self.model_version,
                outputs=wanted,
                client_timeout=self.timeout_s,
            )
        except self._server_error as exc:
            raise InferenceError(f"Triton {self.url}/{self.model_name} failed: {exc}") from exc
        return {name: result.as_numpy(name) for name in self.output_names}

    def close(self) -> None:
        self.client.close()
