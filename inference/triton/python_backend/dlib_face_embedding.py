"""Triton python-backend model: dlib's ResNet face embedder (the twin of backends/dlib_embedding.py).

Installed as ``face_embedding/1/model.py`` beside the ``.dat`` named by the ``model_file`` parameter.
Each request runs on its own with the same single dlib call as the in-process backend, so results are
identical. Needs ``dlib-bin`` in the python backend's environment.
"""

import json
import os

import dlib
import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        version_dir = os.path.join(args["model_repository"], args["model_version"])
        model_file = config["parameters"]["model_file"]["string_value"]
        self.model = dlib.face_recognition_model_v1(os.path.join(version_dir, model_file))

    def execute(self, requests):
        responses = []
        for request in requests:
            chips = pb_utils.get_input_tensor_by_name(request, "chips").as_numpy()
            try:
                vectors = self.model.compute_face_descriptor([np.ascontiguousarray(c) for c in chips])
                embedding = np.asarray([np.asarray(v) for v in vectors], dtype=np.float32).reshape(-1, 128)
            except Exception as exc:  # noqa: BLE001 - report it on this request, keep serving the others
                responses.append(pb_utils.InferenceResponse(error=pb_utils.TritonError(str(exc))))
                continue
            responses.append(
                pb_utils.InferenceResponse(output_tensors=[pb_utils.Tensor("embedding", embedding)])
            )
        return responses
