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

# The web app's browser tests (tests/webapp) drive Debian's chromium through Playwright (no browser download).
if ! command -v chromium >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium
fi

# The RTSP tests (tests/vision_service/test_rtsp.py) stream from a real gst-rtsp-server run by the system python3.
if ! /usr/bin/python3 tests/tools/rtsp_server.py --check >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good \
    gstreamer1.0-plugins-bad
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
