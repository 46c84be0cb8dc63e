"""Assemble the face models' Triton repository entries (configs in inference/triton/model_repository/).

    python -m footfall.inference.faces.triton_repository --output /models                  # GPU Triton
    python -m footfall.inference.faces.triton_repository --output /tmp/repo --python-backend  # CPU tests

The three ONNX models (face_detector, face_age, face_gender) go through prepare_repository.prepare,
so ``--python-backend`` serves them with the same model.py as NanoDet. face_embedding (dlib) and
face_emotion (TFLite) are python-backend models in every variant: their config, their own model.py
and their weights file are copied as they are.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from footfall.inference.faces.models import FaceModelFiles
from footfall.inference.triton import prepare_repository as prep

PYTHON_BACKEND_DIR = prep.HERE / "python_backend"


def onnx_models(files: FaceModelFiles) -> dict[str, Path]:
    return {"face_detector": files.detector, "face_age": files.age, "face_gender": files.gender}


def python_models(files: FaceModelFiles) -> dict[str, tuple[Path, Path]]:
    """Model name -> (its model.py, its weights file)."""
    return {
        "face_embedding": (PYTHON_BACKEND_DIR / "dlib_face_embedding.py", files.embedder),
        "face_emotion": (PYTHON_BACKEND_DIR / "litert_model.py", files.emotion),
    }


def prepare_face_repository(
    output: Path,
    *,
    python_backend: bool = False,
    max_batch_size: int | None = None,
    threads: int = 0,
    files: FaceModelFiles | None = None,
) -> Path:
    files = files or FaceModelFiles.default()
    prep.prepare(
        output,
        python_backend=python_backend,
        max_batch_size=max_batch_size,
        threads=threads,
        models=onnx_models(files),
    )
    for name, (model_py, weights) in python_models(files).items():
        config = (prep.TEMPLATE / name / "config.pbtxt").read_text()
        if max_batch_size is not None:
            config = prep.set_max_batch_size(config, max_batch_size)
        version_dir = output / name / "1"
        version_dir.mkdir(parents=True, exist_ok=True)
        (output / name / "config.pbtxt").write_text(config)
        shutil.copyfile(model_py, version_dir / "model.py")
        target = version_dir / _weights_name(config, weights)
        if not target.exists() or target.stat().st_size != weights.stat().st_size:
            shutil.copyfile(weights, target)
    return output


def _weights_name(config: str, weights: Path) -> str:
    marker = 'key: "model_file"'
    if marker not in config:
        return weights.name
    tail = config.split(marker, 1)[1]
    return tail.split('string_value: "', 1)[1].split('"', 1)[0]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument(
        "--python-backend", action="store_true", help="serve the ONNX models through model.py"
    )
    parser.add_argument("--max-batch-size", type=int, default=None)
    parser.add_argument("--threads", type=int, default=0, help="onnxruntime threads (python backend)")
    args = parser.parse_args()
    print(
        prepare_face_repository(
            args.output,
            python_backend=args.python_backend,
            max_batch_size=args.max_batch_size,
            threads=args.threads,
        )
    )


if __name__ == "__main__":
    main()
