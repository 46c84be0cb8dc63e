"""Small geometry helpers shared by tracking, lines and zones.

Coordinates are image pixels of the source frame: x grows to the right, y grows *down*.
Boxes are ``(x1, y1, x2, y2)`` with ``x1 <= x2`` and ``y1 <= y2``.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum

import numpy as np

Point = tuple[float, float]
Box = tuple[float, float, float, float]


class Anchor(str, Enum):
    """Which point of a person's box stands for the person on a line or in a zone.

    ``bottom_center`` (the default everywhere) is the foot point: it lies on the floor, so a line
    or polygon drawn on the floor of the image means the same thing for tall and short people
    and for people near and far from the camera.
    """

    BOTTOM_CENTER = "bottom_center"
    CENTER = "center"
    TOP_CENTER = "top_center"


def anchor_point(box: Sequence[float], anchor: Anchor = Anchor.BOTTOM_CENTER) -> Point:
    """The anchor point of one ``(x1, y1, x2, y2)`` box."""
    x1, y1, x2, y2 = (float(v) for v in box[:4])
    cx = (x1 + x2) / 2.0
    if anchor is Anchor.BOTTOM_CENTER:
        return (cx, y2)
    if anchor is Anchor.TOP_CENTER:
        return (cx, y1)
    return (cx, (y1 + y2) / 2.0)


def points_in_polygon(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Even-odd test of ``points`` (N, 2) against a closed ``polygon`` (M, 2); returns (N,) bool.

    Points exactly on an edge may land on either side; zones use frame hysteresis, so that
    ambiguity never produces flicker events.
    """
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    poly = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
    x = pts[:, 0:1]
    y = pts[:, 1:2]
    xi, yi = poly[:, 0][None, :], poly[:, 1][None, :]
    xj, yj = np.roll(poly[:, 0], 1)[None, :], np.roll(poly[:, 1], 1)[None, :]
    straddles = (yi > y) != (yj > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_cross = (xj - xi) * (y - yi) / (yj - yi) + xi
    hits = straddles & (x < x_cross)
    return (np.count_nonzero(hits, axis=1) % 2) == 1


def signed_distances(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Distance of each of ``points`` (N, 2) to the edge of ``polygon`` (M, 2): positive inside, negative outside."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    poly = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
    a, b = poly, np.roll(poly, -1, axis=0)  # edges a -> b
    ab = b - a
    ap = pts[:, None, :] - a[None, :, :]
    length2 = np.maximum((ab**2).sum(axis=1), 1e-12)
    t = np.clip((ap * ab[None]).sum(axis=2) / length2[None], 0.0, 1.0)
    nearest = a[None] + t[..., None] * ab[None]
    dist = np.sqrt(((pts[:, None, :] - nearest) ** 2).sum(axis=2)).min(axis=1)
    return np.where(points_in_polygon(pts, poly), dist, -dist)


def clip_box(box: np.ndarray, frame_size: tuple[int, int] | None) -> tuple[float, float, float, float]:
    """``box`` as four floats, clipped to a frame of ``frame_size`` (W, H); None leaves it whole."""
    x1, y1, x2, y2 = (float(v) for v in box[:4])
    if frame_size is not None:
        w, h = float(frame_size[0]), float(frame_size[1])
        x1, x2 = min(max(x1, 0.0), w), min(max(x2, 0.0), w)
        y1, y2 = min(max(y1, 0.0), h), min(max(y2, 0.0), h)
    return (x1, y1, x2, y2)


def at_border(
    box: tuple[float, float, float, float], frame_size: tuple[int, int] | None, margin: float
) -> bool:
    """Whether a box lies within ``margin`` (fraction of the frame's width/height) of the border."""
    if frame_size is None:
        return False
    w, h = frame_size
    mx, my = margin * w, margin * h
    return box[0] <= mx or box[1] <= my or box[2] >= w - mx or box[3] >= h - my


CLOSE_WIDTHS = 0.5  # boxes widened by half their width overlap: where tracked identities swap


def any_close(boxes: list[tuple[float, float, float, float]]) -> bool:
    """Whether two boxes, each widened by half its width, overlap."""
    if len(boxes) < 2:
        return False
    b = np.asarray(boxes, dtype=np.float32)
    half = (b[:, 2] - b[:, 0]) * CLOSE_WIDTHS
    x1, x2 = b[:, 0] - half, b[:, 2] + half
    overlap_x = (x1[:, None] < x2[None, :]) & (x1[None, :] < x2[:, None])
    overlap_y = (b[:, 1][:, None] < b[:, 3][None, :]) & (b[:, 1][None, :] < b[:, 3][:, None])
    close = overlap_x & overlap_y
    np.fill_diagonal(close, False)
    return bool(close.any())


def boxes_close(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    """Whether two boxes, each widened by half its width, overlap (as in :func:`any_close`)."""
    ha, hb = (a[2] - a[0]) * CLOSE_WIDTHS, (b[2] - b[0]) * CLOSE_WIDTHS
    return a[0] - ha < b[2] + hb and b[0] - hb < a[2] + ha and a[1] < b[3] and b[1] < a[3]
