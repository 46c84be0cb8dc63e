"""Best-crop selection: how sharp, large and frontal a face is.

A track is embedded once, from its best crop, and again only when a clearly better one appears
(:func:`clearly_better`); this score ranks the crops. Each part maps to [0, 1] and the score is their
product, so one bad property (blur, a tiny face, a profile) is enough to rank a crop low.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from footfall.inference.faces.types import Face, FaceQuality

SHARPNESS_SIZE = 96  # the face is resized to this square first, so sharpness does not grow with size
SHARP_ENOUGH = 150.0  # Laplacian variance at which a crop counts as fully sharp
LARGE_ENOUGH = 80.0  # px, shorter box side at which a face counts as large enough (dlib chips are 150)
# Yaw: |nose offset from the eyes' midpoint| / eye distance (0 frontal, ~0.5 a profile). Pitch: the nose's
# depth between the eye line and the mouth line (~0.55 frontal). Within the tolerance a face counts as
# frontal (the shared photos of people facing the camera measure yaw <= 0.3, pitch 0.39-0.68).
YAW_TOLERANCE, YAW_PROFILE = 0.1, 0.5
PITCH_FRONTAL, PITCH_TOLERANCE, PITCH_EXTREME = 0.55, 0.1, 0.45


def face_quality(frame: npt.NDArray[np.uint8], face: Face) -> FaceQuality:
    sharpness = laplacian_variance(frame, face)
    size = min(face.width, face.height)
    frontal = frontal_score(face.landmarks)
    score = min(1.0, sharpness / SHARP_ENOUGH) * min(1.0, size / LARGE_ENOUGH) * frontal
    return FaceQuality(sharpness=sharpness, size=size, frontal=frontal, score=float(score))


def laplacian_variance(frame: npt.NDArray[np.uint8], face: Face) -> float:
    height, width = frame.shape[:2]
    x1, y1, x2, y2 = (round(float(v)) for v in face.box)
    x1, y1, x2, y2 = max(0, x1), max(0, y1), min(width, x2), min(height, y2)
    if x2 - x1 < 2 or y2 - y1 < 2:
        return 0.0
    grey = cv2.cvtColor(frame[y1:y2, x1:x2], cv2.COLOR_BGR2GRAY)
    grey = cv2.resize(grey, (SHARPNESS_SIZE, SHARPNESS_SIZE), interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def frontal_score(landmarks: npt.NDArray[np.float32]) -> float:
    """1 for a frontal face; falls with yaw (nose off the eyes' midline) and pitch (nose near the eye
    or mouth line), measured after undoing roll, which alignment corrects anyway."""
    right_eye, left_eye, nose, right_mouth, left_mouth = np.asarray(landmarks, np.float64)
    eye_axis = left_eye - right_eye
    eye_distance = float(np.hypot(*eye_axis))
    if eye_distance < 1e-6:
        return 0.0
    ux = eye_axis / eye_distance
    uy = np.array([-ux[1], ux[0]])
    eyes = (right_eye + left_eye) / 2
    mouth = (right_mouth + left_mouth) / 2
    yaw = abs(float((nose - eyes) @ ux)) / eye_distance
    mouth_depth = float((mouth - eyes) @ uy)
    if mouth_depth <= 1e-6:
        return 0.0
    pitch = float((nose - eyes) @ uy) / mouth_depth  # ~0.55 frontal; 0 or 1 at strong pitch
    yaw_score = 1.0 - min(1.0, max(0.0, yaw - YAW_TOLERANCE) / (YAW_PROFILE - YAW_TOLERANCE))
    pitch_off = abs(pitch - PITCH_FRONTAL)
    pitch_score = 1.0 - min(1.0, max(0.0, pitch_off - PITCH_TOLERANCE) / (PITCH_EXTREME - PITCH_TOLERANCE))
    return float(yaw_score * pitch_score)


def clearly_better(candidate: FaceQuality, current: FaceQuality | None, margin: float = 0.15) -> bool:
    """Whether a track should be re-embedded from ``candidate``: absolute gain above ``margin``."""
    return current is None or candidate.score >= current.score + margin
