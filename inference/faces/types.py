"""What the face pipeline returns: plain dataclasses of numpy arrays and numbers."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

# RetinaFace's landmark order (the subject's right eye is on the image's left in a frontal photo).
LANDMARK_NAMES = ("right_eye", "left_eye", "nose", "right_mouth", "left_mouth")
EMOTIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


@dataclass(frozen=True, eq=False)
class Face:
    """A detected face in source-frame pixels."""

    box: npt.NDArray[np.float32]  # (4,) x1, y1, x2, y2
    score: float  # detector confidence in [0, 1]
    landmarks: npt.NDArray[np.float32]  # (5, 2) x, y in LANDMARK_NAMES order

    @property
    def width(self) -> float:
        return float(self.box[2] - self.box[0])

    @property
    def height(self) -> float:
        return float(self.box[3] - self.box[1])


@dataclass(frozen=True, eq=False)
class AlignedFace:
    """The crops every downstream model takes, cut once from the frame around one face.

    ``chip`` is dlib's aligned 150x150 RGB face chip (5-point shape predictor, padding 0.25: what the
    ResNet embedder was trained on); ``age_chip`` (64x64) and ``gender_chip`` (32x32) are dlib chips
    with padding 0.2 (what the age/gender networks were trained on); ``emotion_crop`` is the 64x64
    grey square around the detector box (fer's convention). ``shape`` holds dlib's 5 points (outer
    and inner corner of each eye, base of the nose) in frame pixels.
    """

    chip: npt.NDArray[np.uint8]
    age_chip: npt.NDArray[np.uint8]
    gender_chip: npt.NDArray[np.uint8]
    emotion_crop: npt.NDArray[np.uint8]
    shape: npt.NDArray[np.float32]


@dataclass(frozen=True)
class FaceAttributes:
    """What the attribute models say; confidences are the model's top probability in [0, 1]."""

    age: int  # years, the expectation over the age model's 81 classes, rounded
    age_confidence: float  # probability of the most likely age class (low: ages are spread out)
    gender: str  # "female" or "male"
    gender_confidence: float
    emotion: str  # one of EMOTIONS
    emotion_confidence: float
    emotions: dict[str, float] = field(default_factory=dict)  # every class's probability


@dataclass(frozen=True)
class FaceQuality:
    """How useful a crop is for recognition; ``score`` in [0, 1] ranks crops of one track."""

    sharpness: float  # variance of the Laplacian of the grey face resized to 96x96
    size: float  # the face box's shorter side, in pixels
    frontal: float  # 1 = frontal, 0 = profile or strongly tilted up/down (from the 5 landmarks)
    score: float


@dataclass(frozen=True, eq=False)
class FaceAnalysis:
    """Everything about one face from :meth:`FaceAnalyzer.analyze`."""

    face: Face
    quality: FaceQuality
    aligned: AlignedFace
    embedding: npt.NDArray[np.float32] | None  # (128,), see EMBEDDING_METRIC
    attributes: FaceAttributes | None
