"""Open-set matching of dlib embeddings: Euclidean distance and the threshold calibrated on data.

dlib's descriptors are not unit vectors (norms ~1.3-1.6); the model was trained so that two faces of
one person are closer than 0.6 in Euclidean distance (99.38 % on LFW). On the shared face photos
(inference/MODELS.md, "Faces") every same-person pair is <= 0.523 apart and every different-person
pair >= 0.668; MATCH_THRESHOLD is the middle of that gap (0.596), rounded: dlib's own 0.6. A vector store must use Euclidean distance on the raw
vectors (Qdrant ``Distance.EUCLID``) for this threshold to hold.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

EMBEDDING_METRIC = "euclidean"
MATCH_THRESHOLD = 0.6


def distances(query: npt.NDArray[np.float32], gallery: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Euclidean distance of one ``(128,)`` vector to each row of ``(N, 128)``."""
    if len(gallery) == 0:
        return np.zeros((0,), np.float32)
    return np.linalg.norm(np.asarray(gallery, np.float32) - np.asarray(query, np.float32), axis=1)


@dataclass(frozen=True)
class Match:
    label: Hashable | None  # None: unknown
    distance: float  # to the nearest enrolled vector (inf when nothing is enrolled)


def identify(
    query: npt.NDArray[np.float32],
    gallery: npt.NDArray[np.float32],
    labels: Sequence[Hashable],
    threshold: float = MATCH_THRESHOLD,
) -> Match:
    """The nearest enrolled label when it is closer than ``threshold``, else unknown."""
    d = distances(query, gallery)
    if len(d) == 0:
        return Match(None, float("inf"))
    best = int(np.argmin(d))
    return Match(labels[best] if d[best] < threshold else None, float(d[best]))
