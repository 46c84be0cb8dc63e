#!/usr/bin/env bash
# Create the virtualenv that holds tritonserver for the Triton tests (pytest -m triton).
#
# nvidia-pytriton 0.7 bundles tritonserver 2.51 with the python backend only, pins numpy<2, and its
# python-backend stub needs numpy 1.x: it gets its own venv so the project's venv keeps numpy 2.
# onnxruntime is installed there for the python-backend model (model.py), at the project's version;
# dlib-bin and ai-edge-litert for the face embedder and emotion python-backend models (inference/faces).
#
#   inference/triton/setup_test_server.sh            # -> <repo>/.venv-triton
#   FOOTFALL_TRITON_VENV=/opt/triton-venv inference/triton/setup_test_server.sh
#
# The stub must match this venv's Python minor version (3.8-3.13 are bundled); PYTHON picks it.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
venv="${FOOTFALL_TRITON_VENV:-$repo/.venv-triton}"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet \
  "nvidia-pytriton==0.7.0" \
  "numpy>=1.26,<2" \
  "onnxruntime==1.30.0" \
  "dlib-bin==20.0.1" \
  "ai-edge-litert==2.3.0"
"$venv/bin/python" - <<'PY'
import pathlib, pytriton
binary = pathlib.Path(pytriton.__file__).parent / "tritonserver" / "bin" / "tritonserver"
assert binary.exists(), binary
print(f"tritonserver ready: {binary}")
PY
