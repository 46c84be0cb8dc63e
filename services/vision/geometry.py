"""Small geometry helpers shared by lines and zones.

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
