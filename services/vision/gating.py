"""Motion gating: detect only where the frame changed or where people are being tracked.

In a fixed camera most pixels are still background from one frame to the next. Per camera, a
:class:`MotionGate` compares a small grey thumbnail of each frame with the previous one, and
:meth:`MotionGate.region` returns the part of the frame worth detecting in: the bounding box of
the changed cells together with the boxes of the people tracked at the last analysed frame,
padded by ``margin``. The detector then runs on that crop only, at the scale it gives the whole
frame (``PersonDetector.detect_region``), so its cost falls with the crop's area while a person
inside the crop is found as in a full-frame pass. When nothing moved and nobody is tracked,
no detection runs at all.

What gating could miss is a person who stands still without ever having been detected (they
cause no change and have no track): every ``refresh_seconds`` a whole frame is detected, so they
are picked up within that time. A camera that moves or flickers simply changes everywhere and
gets full frames.

Thread-safe: the engine may detect two frames of one camera at once (``DetectorSettings.workers``);
frames may then be compared out of order, which still marks what moves between nearby frames.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass

import cv2
import numpy as np

from footfall.services.vision.geometry import Box

#: A crop ``x1, y1, x2, y2`` in frame pixels.
Region = tuple[int, int, int, int]


@dataclass(frozen=True, slots=True)
class GateConfig:
    """Motion gating of one camera; the defaults suit fixed cameras at 5-25 fps.

    Attributes:
        enabled: Off: every frame is detected whole.
        thumb_width: Width of the grey thumbnail compared between frames (cost grows with it).
        cell: Side of the thumbnail cells, in thumbnail pixels; a cell is moving when more than
            ``cell_fraction`` of its pixels changed by more than ``threshold`` grey levels (so
            sensor noise on single pixels is not motion).
        margin: Padding around the moving cells and the tracked boxes, as a fraction of the
            frame's larger side (room for a person walking on between two frames).
        refresh_seconds: Detect a whole frame at least this often.
        watch_seconds: The tracked boxes of every frame analysed within this long before the
            newest one stay in the region (the engine detects a frame while earlier ones are
            still being tracked, so the newest tracks may be a frame or two old, or just newer).
        full_fraction: When the region covers more than this fraction of the frame, detect the
            whole frame (the crop would save little).
    """

    enabled: bool = True
    thumb_width: int = 160
    cell: int = 4
    threshold: int = 18
    cell_fraction: float = 0.2
    margin: float = 0.06
    refresh_seconds: float = 1.0
    watch_seconds: float = 0.3
    full_fraction: float = 0.75

    def __post_init__(self) -> None:
        if self.thumb_width < 16 or self.cell < 1 or not 0 < self.threshold < 256:
            raise ValueError("gate thumb_width must be >= 16, cell >= 1 and threshold within 1..255")
        if not 0 <= self.cell_fraction < 1 or min(self.margin, self.refresh_seconds, self.watch_seconds) < 0:
            raise ValueError("gate cell_fraction must be within [0, 1); margin, refresh and watch seconds >= 0")
        if not 0 < self.full_fraction <= 1:
            raise ValueError("gate full_fraction must be within (0, 1]")


@dataclass(frozen=True, slots=True)
class GateDecision:
    """Where to detect in one frame: the whole frame (``regions is None``), some crops, or nowhere (``()``)."""

    regions: tuple[Region, ...] | None

    @property
    def full(self) -> bool:
        return self.regions is None

    @property
    def skip(self) -> bool:
        return self.regions == ()

    def area(self, frame_size: tuple[int, int]) -> float:
        """Fraction of the frame's pixels the detector is asked to look at."""
        if self.regions is None:
            return 1.0
        return sum((x2 - x1) * (y2 - y1) for x1, y1, x2, y2 in self.regions) / float(frame_size[0] * frame_size[1])


FULL = GateDecision(None)
SKIP = GateDecision(())


class MotionGate:
    """Decides, frame by frame, which part of one camera's frames the detector needs to see."""

    def __init__(self, config: GateConfig | None = None) -> None:
        self.config = config or GateConfig()
        self._lock = threading.Lock()
        self._previous: np.ndarray | None = None
        self._last_full: float | None = None
        self._tracked: tuple[tuple[float, tuple[Box, ...]], ...] = ()  # (timestamp, boxes), oldest first

    def set_tracked(self, boxes: Iterable[Box], timestamp: float) -> None:
        """The boxes of the people tracked at an analysed frame (they stay in the region)."""
        keep = self.config.watch_seconds
        with self._lock:
            recent = [(t, b) for t, b in self._tracked if timestamp - keep <= t < timestamp]
            self._tracked = (*recent, (timestamp, tuple(boxes)))

    def reset(self) -> None:
        """Forget the previous frame and the tracks (a new stream or a wrapped file)."""
        with self._lock:
            self._previous, self._last_full, self._tracked = None, None, ()

    def decide(self, image: np.ndarray, timestamp: float) -> GateDecision:
        """Which part of ``image`` (BGR, taken at ``timestamp`` seconds) to detect in."""
        cfg = self.config
        if not cfg.enabled:
            return FULL
        height, width = image.shape[:2]
        thumb = self._thumbnail(image)
        with self._lock:
            previous, self._previous = self._previous, thumb
            due = self._last_full is None or not (0 <= timestamp - self._last_full < cfg.refresh_seconds)
            if previous is None or previous.shape != thumb.shape or due:
                self._last_full = timestamp
                return FULL
            tracked = [box for _, boxes in self._tracked for box in boxes]
        pad = cfg.margin * max(width, height)
        boxes = [_pad(b, pad, width, height) for b in tracked]
        boxes += [_pad(b, pad, width, height) for b in self._moving_boxes(thumb, previous, width, height)]
        regions = _merge(_islands([b for b in boxes if b[2] > b[0] and b[3] > b[1]], width, height))
        if not regions:
            return SKIP
        if sum((x2 - x1) * (y2 - y1) for x1, y1, x2, y2 in regions) > cfg.full_fraction * width * height:
            return FULL
        return GateDecision(tuple(regions))

    def _thumbnail(self, image: np.ndarray) -> np.ndarray:
        height, width = image.shape[:2]
        tw = min(width, self.config.thumb_width)
        th = max(1, round(height * tw / width))
        small = cv2.resize(image, (tw, th), interpolation=cv2.INTER_AREA)
        return cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)

    def _moving_boxes(
        self, thumb: np.ndarray, previous: np.ndarray, width: int, height: int
    ) -> list[Box]:
        """Boxes (frame pixels) around each group of touching thumbnail cells that changed."""
        cfg = self.config
        changed = cv2.absdiff(thumb, previous) > cfg.threshold
        c = cfg.cell
        rows, cols = changed.shape[0] // c, changed.shape[1] // c
        if rows == 0 or cols == 0:
            return []
        cells = changed[: rows * c, : cols * c].reshape(rows, c, cols, c).mean(axis=(1, 3)) > cfg.cell_fraction
        if not cells.any():
            return []
        count, _, stats, _ = cv2.connectedComponentsWithStats(cells.astype(np.uint8), connectivity=8)
        sx, sy = width / thumb.shape[1] * c, height / thumb.shape[0] * c
        return [
            (float(x * sx), float(y * sy), float((x + w) * sx), float((y + h) * sy))
            for x, y, w, h, _ in stats[1:count].tolist()
        ]


def _pad(box: Box, pad: float, width: int, height: int) -> Region:
    x1, y1, x2, y2 = box
    return (
        max(0, int(x1 - pad)),
        max(0, int(y1 - pad)),
        min(width, int(np.ceil(x2 + pad))),
        min(height, int(np.ceil(y2 + pad))),
    )


_ISLAND_CELL = 16  # pixels


def _islands(boxes: list[Region], width: int, height: int) -> list[Region]:
    """Bounding boxes of the groups of overlapping ``boxes`` (drawn on a coarse grid: cheap for many boxes)."""
    if len(boxes) <= 1:
        return boxes
    c = _ISLAND_CELL
    grid = np.zeros((-(-height // c), -(-width // c)), np.uint8)
    for x1, y1, x2, y2 in boxes:
        grid[y1 // c : -(-y2 // c), x1 // c : -(-x2 // c)] = 1
    count, _, stats, _ = cv2.connectedComponentsWithStats(grid, connectivity=4)
    out = []
    for gx, gy, gw, gh, _ in stats[1:count].tolist():
        # The island's extent in pixels: the union of its boxes, not of its cells.
        inside = [b for b in boxes if gx <= b[0] // c < gx + gw and gy <= b[1] // c < gy + gh]
        out.append((min(b[0] for b in inside), min(b[1] for b in inside),
                    max(b[2] for b in inside), max(b[3] for b in inside)))
    return out


def _merge(boxes: Iterable[Region]) -> list[Region]:
    """Merge boxes that overlap, or whose union costs little more than both apart, until none do.

    Fewer, larger crops: each detector call has a fixed cost, and a person on the seam of two
    crops would be cut in both.
    """
    merged = list(boxes)
    changed = True
    while changed:
        changed = False
        for i in range(len(merged)):
            for j in range(i + 1, len(merged)):
                a, b = merged[i], merged[j]
                union = (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))
                if _area(union) <= 1.25 * (_area(a) + _area(b)) or _overlap(a, b):
                    merged[i] = union
                    del merged[j]
                    changed = True
                    break
            if changed:
                break
    return merged


def _area(box: Region) -> int:
    return max(0, box[2] - box[0]) * max(0, box[3] - box[1])


def _overlap(a: Region, b: Region) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
