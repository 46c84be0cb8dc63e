"""Triton python-backend model: a TensorFlow Lite file run with LiteRT (the twin of backends/litert.py).

Installed as ``<model>/1/model.py`` beside the ``.tflite`` named by the ``model_file`` parameter; input
and output names come from the config. The graph has a static batch of 1, so rows run one by one, as
in-process. Needs ``ai-edge-litert`` in the python backend's environment.
"""

import json
import os

import numpy as np
import triton_python_backend_utils as pb_utils
from ai_edge_litert.interpreter import Interpreter


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        version_dir = os.path.join(args["model_repository"], args["model_version"])
        model_file = config["parameters"]["model_file"]["string_value"]
        self.interpreter = Interpreter(model_path=os.path.join(version_dir, model_file), num_threads=1)
        self.interpreter.allocate_tensors()
        self.inputs = {d["name"]: d for d in self.interpreter.get_input_details()}
        self.outputs = {d["name"]: d for d in self.interpreter.get_output_details()}
        self.input_names = [i["name"] for i in config["input"]]
        self.output_names = [o["name"] for o in config["output"]]

    def execute(self, requests):
        responses = []
        for request in requests:
            feed = {n: pb_utils.get_input_tensor_by_name(request, n).as_numpy() for n in self.input_names}
            try:
                rows = {n: [] for n in self.output_names}
                for i in range(len(feed[self.input_names[0]])):
                    for name, value in feed.items():
                        detail = self.inputs[name]
                        row = np.ascontiguousarray(value[i : i + 1], dtype=detail["dtype"])
                        self.interpreter.set_tensor(detail["index"], row)
                    self.interpreter.invoke()
                    for name in self.output_names:
                        rows[name].append(self.interpreter.get_tensor(self.outputs[name]["index"]).copy())
                tensors = [
                    pb_utils.Tensor(n, np.concatenate(rows[n]).astype(np.float32)) for n in self.output_names
                ]
            except Exception as exc:  # noqa: BLE001 - report it on this request, keep serving the others
                responses.append(pb_utils.InferenceResponse(error=pb_utils.TritonError(str(exc))))
                continue
            responses.append(pb_utils.InferenceResponse(output_tensors=tensors))
        return responses
