"""What every output decoder returns and promises."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class Candidates:
    """Scored boxes of one image before NMS, in model-input pixels."""

    xyxy: npt.NDArray[np.float32]
    scores: npt.NDArray[np.float32]
    class_ids: npt.NDArray[np.int32]


class Decoder(Protocol):
    def check_output(self, shape: tuple[int, ...], input_size: tuple[int, int]) -> None:
        """Raise ``ValueError`` with the reason if one image's output cannot come from this head."""

    def decode(
        self,
        output: npt.NDArray[np.float32],
        input_size: tuple[int, int],
        class_ids: npt.NDArray[np.int32] | None,
        confidence: float,
        max_candidates: int,
    ) -> Candidates:
        """Boxes whose best score among ``class_ids`` (all classes if None) is above ``confidence``."""


def select_scores(
    scores: npt.NDArray[np.float32],
    class_ids: npt.NDArray[np.int32] | None,
    confidence: float,
    max_candidates: int,
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float32], npt.NDArray[np.int32]]:
    """Rows whose best wanted class beats ``confidence``: (row indices, best score, class id).

    ``scores`` is ``(rows, classes)``. Only the wanted columns are read, so a low threshold on the
    person class stays cheap. At most ``max_candidates`` rows (the best ones) are returned, in row order.
    """
    if class_ids is None:
        wanted = scores
    elif len(class_ids) == 1:
        wanted = scores[:, int(class_ids[0]) : int(class_ids[0]) + 1]
    else:
        wanted = scores[:, class_ids]
    if wanted.shape[1] == 1:
        best = wanted[:, 0]
        rows = np.flatnonzero(best > confidence)
        local = np.zeros(rows.shape, np.intp)
    else:
        local_all = np.argmax(wanted, axis=1)
        best = np.take_along_axis(wanted, local_all[:, None], axis=1)[:, 0]
        rows = np.flatnonzero(best > confidence)
        local = local_all[rows]
    row_scores = best[rows]
    if len(rows) > max_candidates:
        top = np.sort(np.argsort(-row_scores, kind="stable")[:max_candidates])
        rows, row_scores, local = rows[top], row_scores[top], local[top]
    ids = local if class_ids is None else class_ids[local]
    return rows, row_scores.astype(np.float32), np.asarray(ids, dtype=np.int32)
