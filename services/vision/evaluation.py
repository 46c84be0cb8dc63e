"""Accuracy measurement against ground truth: MOT metrics and line-crossing matching.

Used by the accuracy tests and the benchmark. ``motmetrics`` (a dev dependency) is imported
lazily so that the service never needs it.

Frames here are MOT frame numbers (1-based), as in ground-truth files.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from footfall.services.vision.lines import CrossingDirection, LineCounter, LineZone


@dataclass(frozen=True, slots=True)
class CrossingRecord:
    """A crossing reduced to what can be compared: MOT frame, track id, direction."""

    frame: int
    track_id: int
    direction: CrossingDirection


@dataclass(frozen=True, slots=True)
class CrossingMatch:
    """Result of matching predicted crossings to true ones within a frame tolerance."""

    matched: tuple[tuple[CrossingRecord, CrossingRecord], ...]
    false: tuple[CrossingRecord, ...]
    missed: tuple[CrossingRecord, ...]

    def summary(self) -> dict[str, int]:
        return {"matched": len(self.matched), "false": len(self.false), "missed": len(self.missed)}


@dataclass(frozen=True, slots=True)
class MotScores:
    """The usual CLEAR-MOT and identity scores (fractions, not percentages)."""

    mota: float
    idf1: float
    motp_iou: float
    precision: float
    recall: float
    id_switches: int
    false_positives: int
    misses: int
    gt_boxes: int

    def as_dict(self) -> dict[str, float | int]:
        return {
            "mota": round(self.mota, 4),
            "idf1": round(self.idf1, 4),
            "motp_iou": round(self.motp_iou, 4),
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "id_switches": self.id_switches,
            "false_positives": self.false_positives,
            "misses": self.misses,
            "gt_boxes": self.gt_boxes,
        }


def crossings_from_mot(
    rows: np.ndarray, line: LineZone, frame_size: tuple[int, int] | None = None
) -> list[CrossingRecord]:
    """Every crossing of ``line`` by the tracks of a MOT array (``frame, id, x, y, w, h, ...``).

    This derives the truth from ground-truth boxes: each track's anchor path is followed frame
    by frame with no hysteresis (annotated paths are already smooth), counting every crossing
    within the segment in both directions, whatever the line's configured direction. With
    ``frame_size`` (width, height) boxes are first clipped to the frame, as a detector's are:
    annotations of people at the image border often extend a little beyond it.
    """
    zone = LineZone(
        name=line.name,
        start=line.start,
        end=line.end,
        anchor=line.anchor,
        hysteresis_px=0.0,
    )
    counter = LineCounter(zone)
    out: list[CrossingRecord] = []
    order = np.lexsort((rows[:, 1], rows[:, 0]))
    for frame, tid, x, y, w, h in rows[order, :6]:
        x1, y1, x2, y2 = x, y, x + w, y + h
        if frame_size is not None:
            x1, x2 = min(max(x1, 0.0), frame_size[0]), min(max(x2, 0.0), frame_size[0])
            y1, y2 = min(max(y1, 0.0), frame_size[1]), min(max(y2, 0.0), frame_size[1])
        event = counter.observe(int(tid), (x1, y1, x2, y2), int(frame), float(frame))
        if event is not None:
            out.append(CrossingRecord(int(frame), int(tid), event.direction))
    return out


def match_crossings(
    truth: Sequence[CrossingRecord], predicted: Sequence[CrossingRecord], tolerance: int = 10
) -> CrossingMatch:
    """Pairs predicted with true crossings of the same direction at most ``tolerance`` frames apart.

    The pairing is a minimum-cost assignment (cost = frame difference), so one early or late
    event cannot steal the partner of another. Track ids are not compared: tracker ids are
    arbitrary.
    """
    from scipy.optimize import linear_sum_assignment

    big = 1e6
    cost = np.full((len(truth), len(predicted)), big)
    for i, t in enumerate(truth):
        for j, p in enumerate(predicted):
            gap = abs(t.frame - p.frame)
            if t.direction == p.direction and gap <= tolerance:
                cost[i, j] = gap
    matched: list[tuple[CrossingRecord, CrossingRecord]] = []
    used_t: set[int] = set()
    used_p: set[int] = set()
    if cost.size:
        for i, j in zip(*linear_sum_assignment(cost)):
            if cost[i, j] < big:
                matched.append((truth[i], predicted[j]))
                used_t.add(int(i))
                used_p.add(int(j))
    return CrossingMatch(
        matched=tuple(matched),
        false=tuple(p for j, p in enumerate(predicted) if j not in used_p),
        missed=tuple(t for i, t in enumerate(truth) if i not in used_t),
    )


def read_crossings_csv(path: str) -> list[CrossingRecord]:
    """Read a ``frame,track_id,direction`` csv whose direction is ``L2R``/``R2L`` or ``in``/``out``.

    ``L2R`` (left to right) is ``in`` for a vertical line drawn top to bottom, see
    :mod:`footfall.services.vision.lines`.
    """
    mapping: dict[str, CrossingDirection] = {"L2R": "in", "R2L": "out", "in": "in", "out": "out"}
    out: list[CrossingRecord] = []
    with open(path, encoding="utf-8") as fh:
        for line in fh.read().splitlines()[1:]:
            if line.strip():
                frame, tid, direction = line.split(",")[:3]
                out.append(CrossingRecord(int(frame), int(tid), mapping[direction.strip()]))
    return out


def tracking_area(gt: np.ndarray, margin: float = 0.0) -> np.ndarray:
    """The region where ground truth labels people: convex hull of all GT foot points.

    Some ground truths (PETS 2009's "cropped" annotations among them) only label people inside
    a tracking area. The standard evaluation then ignores tracker boxes outside it that match
    no ground truth, instead of counting them as false positives (:func:`mot_scores` ``area``).
    ``margin`` (pixels) grows the hull outwards from its centroid.
    """
    import cv2

    feet = np.stack([gt[:, 2] + gt[:, 4] / 2.0, gt[:, 3] + gt[:, 5]], axis=1).astype(np.float32)
    hull = cv2.convexHull(feet).reshape(-1, 2).astype(np.float64)
    if margin:
        centre = hull.mean(axis=0)
        vec = hull - centre
        norm = np.linalg.norm(vec, axis=1, keepdims=True)
        hull = centre + vec * (1.0 + margin / np.maximum(norm, 1e-9))
    return hull


def mot_scores(
    gt: np.ndarray, hyp: np.ndarray, iou_threshold: float = 0.5, area: np.ndarray | None = None
) -> MotScores:
    """CLEAR-MOT/identity scores of tracker output ``hyp`` against ground truth ``gt``.

    Both are MOT arrays (``frame, id, x, y, w, h, ...``). Boxes match when IoU >= ``iou_threshold``
    (py-motmetrics' ``iou`` distance with ``distth = 1 - iou_threshold``), every GT frame is
    evaluated, including frames where the tracker reports nothing. With ``area`` (a polygon,
    see :func:`tracking_area`), tracker boxes whose foot point lies outside it and that overlap
    no GT box enough to match are ignored, as MOTChallenge does for unlabelled regions.
    """
    import motmetrics as mm

    from footfall.services.vision.geometry import points_in_polygon

    acc = mm.MOTAccumulator(auto_id=False)
    frames = np.union1d(np.unique(gt[:, 0]), np.unique(hyp[:, 0]) if len(hyp) else [])
    for frame in frames.astype(int):
        g = gt[gt[:, 0] == frame]
        h = hyp[hyp[:, 0] == frame] if len(hyp) else hyp
        dist = _iou_distance(g[:, 2:6], h[:, 2:6], max_distance=1.0 - iou_threshold)
        if area is not None and len(h):
            feet = np.stack([h[:, 2] + h[:, 4] / 2.0, h[:, 3] + h[:, 5]], axis=1)
            matchable = ~np.all(np.isnan(dist), axis=0) if len(g) else np.zeros(len(h), bool)
            keep = matchable | points_in_polygon(feet, area)
            h, dist = h[keep], dist[:, keep]
        acc.update(g[:, 1].astype(int).tolist(), h[:, 1].astype(int).tolist(), dist, frameid=int(frame))
    mh = mm.metrics.create()
    names = [
        "mota",
        "idf1",
        "motp",
        "precision",
        "recall",
        "num_switches",
        "num_false_positives",
        "num_misses",
        "num_objects",
    ]
    r = mh.compute(acc, metrics=names, name="run").iloc[0]
    return MotScores(
        mota=float(r["mota"]),
        idf1=float(r["idf1"]),
        motp_iou=1.0 - float(r["motp"]),
        precision=float(r["precision"]),
        recall=float(r["recall"]),
        id_switches=int(r["num_switches"]),
        false_positives=int(r["num_false_positives"]),
        misses=int(r["num_misses"]),
        gt_boxes=int(r["num_objects"]),
    )


def _iou_distance(gt_xywh: np.ndarray, hyp_xywh: np.ndarray, max_distance: float) -> np.ndarray:
    """``1 - IoU`` between ``xywh`` boxes, NaN where above ``max_distance`` (no match).

    Same as ``motmetrics.distances.iou_matrix``, which calls ``np.asfarray`` (gone in NumPy 2).
    """
    if len(gt_xywh) == 0 or len(hyp_xywh) == 0:
        return np.empty((len(gt_xywh), len(hyp_xywh)))
    g = np.asarray(gt_xywh, dtype=np.float64)[:, None, :]
    h = np.asarray(hyp_xywh, dtype=np.float64)[None, :, :]
    ix = np.clip(
        np.minimum(g[..., 0] + g[..., 2], h[..., 0] + h[..., 2]) - np.maximum(g[..., 0], h[..., 0]), 0, None
    )
    iy = np.clip(
        np.minimum(g[..., 1] + g[..., 3], h[..., 1] + h[..., 3]) - np.maximum(g[..., 1], h[..., 1]), 0, None
    )
    inter = ix * iy
    union = g[..., 2] * g[..., 3] + h[..., 2] * h[..., 3] - inter
    dist = 1.0 - inter / np.maximum(union, 1e-12)
    dist[dist > max_distance] = np.nan
    return dist


def records_from_events(events: Iterable[object], frame_offset: int = 1) -> list[CrossingRecord]:
    """Turn :class:`~footfall.services.vision.lines.LineCrossing` events (0-based frames) into records."""
    return [
        CrossingRecord(int(e.frame_index) + frame_offset, int(e.track_id), e.direction)  # type: ignore[attr-defined]
        for e in events
    ]
