"""MOT Challenge text format: the interchange format of tracker outputs and ground truth.

One row per box: ``frame,id,x,y,w,h,conf,-1,-1,-1`` with 1-based frame numbers and the box's
top-left corner, width and height in pixels. Internally frames are 0-based, so the writer adds
one.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Self, TextIO

import numpy as np

from footfall.services.vision.track import Track

MOT_COLUMNS = ("frame", "id", "x", "y", "w", "h", "conf")


class MotWriter:
    """Writes tracks in MOT format to a path or an open text stream.

    Use as a context manager, or call :meth:`close`. Only the tracks passed in are written, so
    the caller decides whether coasting (predicted, unobserved) boxes belong in the output.
    """

    def __init__(self, target: str | os.PathLike[str] | TextIO) -> None:
        if isinstance(target, (str, os.PathLike)):
            path = Path(target)
            if path.parent and not path.parent.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
            self._stream: TextIO = open(path, "w", encoding="utf-8", newline="\n")  # noqa: SIM115
            self._owns = True
        else:
            self._stream = target
            self._owns = False
        self.rows = 0

    def write(self, frame_index: int, tracks: Iterable[Track]) -> None:
        """Write the tracks of one 0-based frame."""
        for t in tracks:
            self.write_box(frame_index, t.track_id, t.xyxy, t.confidence)

    def write_box(
        self, frame_index: int, track_id: int, xyxy: tuple[float, float, float, float], confidence: float
    ) -> None:
        """Write one box of one 0-based frame."""
        x1, y1, x2, y2 = (float(v) for v in xyxy)
        self._stream.write(
            f"{frame_index + 1},{track_id},{x1:.2f},{y1:.2f},{x2 - x1:.2f},{y2 - y1:.2f},"
            f"{float(confidence):.4f},-1,-1,-1\n"
        )
        self.rows += 1

    def close(self) -> None:
        if self._owns:
            self._stream.close()
        else:
            self._stream.flush()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def read_mot(source: str | os.PathLike[str] | TextIO) -> np.ndarray:
    """Read a MOT file into an (N, 7) float array: ``frame, id, x, y, w, h, conf`` (frames 1-based).

    Extra columns are ignored; an empty file gives an empty (0, 7) array.
    """
    text = source.read() if isinstance(source, io.TextIOBase) else Path(source).read_text(encoding="utf-8")  # type: ignore[arg-type]
    rows = [line.split(",")[:7] for line in text.splitlines() if line.strip()]
    if not rows:
        return np.zeros((0, 7), dtype=np.float64)
    return np.array(rows, dtype=np.float64)
