#!/usr/bin/env bash
# Install everything from the project's own files and run every check and test.
# This is the README's test command; .ci/run calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[dev]'

# The Triton test server (tritonserver bundled in nvidia-pytriton) lives in its own environment.
if [ -f inference/triton/setup_test_server.sh ]; then
  bash inference/triton/setup_test_server.sh
fi

echo "== contracts: buf lint, buf format, generated code"
npx --yes @bufbuild/buf@1.75.0 lint
npx --yes @bufbuild/buf@1.75.0 format --exit-code -d
.venv/bin/python proto/generate.py --check

echo "== tests"
if [ "${CI:-}" = "true" ]; then
  export FOOTFALL_NO_SKIPS=1  # CI always has ../shared/data: a skipped test is a failure there
fi
.venv/bin/python -m pytest -p no:cacheprovider -rs "$@"
