"""Triton python-backend model that runs an ONNX file with onnxruntime.

Used where Triton has no onnxruntime backend (the tritonserver bundled in nvidia-pytriton ships the
python backend only): same model name, inputs and outputs as the onnxruntime config, so clients
cannot tell the difference. prepare_repository.py --python-backend installs it as
``<model>/1/model.py`` beside ``<model>/1/model.onnx``. Each request runs on its own (no
concatenation across requests), so results equal an in-process run on the same tensor.
"""

import json
import os

import numpy as np
import onnxruntime as ort
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        version_dir = os.path.join(args["model_repository"], args["model_version"])
        params = config.get("parameters", {})
        threads = int(params.get("intra_op_threads", {}).get("string_value", "0") or 0)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.inter_op_num_threads = 1
        options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(
            os.path.join(version_dir, "model.onnx"), options, providers=["CPUExecutionProvider"]
        )
        self.input_names = [i["name"] for i in config["input"]]
        self.output_names = [o["name"] for o in config["output"]]

    def execute(self, requests):
        responses = []
        for request in requests:
            feed = {
                name: pb_utils.get_input_tensor_by_name(request, name).as_numpy() for name in self.input_names
            }
            try:
                results = self.session.run(self.output_names, feed)
            except Exception as exc:  # noqa: BLE001 - report it on this request, keep serving the others
                responses.append(pb_utils.InferenceResponse(error=pb_utils.TritonError(str(exc))))
                continue
            tensors = [
                pb_utils.Tensor(name, np.ascontiguousarray(value))
                for name, value in zip(self.output_names, results)
            ]
            responses.append(pb_utils.InferenceResponse(output_tensors=tensors))
        return responses
