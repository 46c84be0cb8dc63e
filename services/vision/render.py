"""Drawing for the live view: people's boxes and track ids, counting lines with their counts, zones.

:func:`render_overlay` draws on a copy of the frame; :func:`encode_jpeg` makes the MJPEG part. Both are
plain CPU work: call them from a thread, never on the event loop.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import cv2
import numpy as np

from footfall.services.vision.lines import LineZone
from footfall.services.vision.track import Track
from footfall.services.vision.zones import PolygonZone

# BGR colours
_OBSERVED = (60, 200, 60)
_PREDICTED = (150, 150, 150)
_LINE = (0, 215, 255)
_ZONE = (255, 160, 40)
_TEXT_BG = (20, 20, 20)
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def _label(image: np.ndarray, text: str, origin: tuple[int, int], color: tuple[int, int, int], scale: float) -> None:
    thickness = max(1, round(scale * 2))
    (w, h), base = cv2.getTextSize(text, _FONT, scale, thickness)
    x = int(min(max(origin[0], 0), max(0, image.shape[1] - w - 2)))
    y = int(min(max(origin[1], h + 2), image.shape[0] - base - 1))
    cv2.rectangle(image, (x, y - h - 2), (x + w + 2, y + base), _TEXT_BG, -1)
    cv2.putText(image, text, (x + 1, y), _FONT, scale, color, thickness, cv2.LINE_AA)


def render_overlay(
    image: np.ndarray,
    tracks: Iterable[Track] = (),
    lines: Sequence[LineZone] = (),
    zones: Sequence[PolygonZone] = (),
    line_counts: Mapping[str, Mapping[str, int]] | None = None,
    zone_occupancy: Mapping[str, int] | None = None,
    track_labels: Mapping[int, str] | None = None,
) -> np.ndarray:
    """A copy of ``image`` (BGR) with zones, lines, boxes and ids drawn on it."""
    out = image.copy()
    height = out.shape[0]
    scale = max(0.4, min(1.2, height / 720.0))
    thick = max(1, round(height / 360.0))
    if zones:
        fill = out.copy()
        for zone in zones:
            pts = np.round(np.asarray(zone.points, dtype=np.float64)).astype(np.int32).reshape(-1, 1, 2)
            cv2.fillPoly(fill, [pts], _ZONE)
        cv2.addWeighted(fill, 0.18, out, 0.82, 0, dst=out)
        for zone in zones:
            pts = np.round(np.asarray(zone.points, dtype=np.float64)).astype(np.int32).reshape(-1, 1, 2)
            cv2.polylines(out, [pts], True, _ZONE, thick, cv2.LINE_AA)
            inside = (zone_occupancy or {}).get(zone.name)
            text = zone.name if inside is None else f"{zone.name}: {inside}"
            x, y = int(pts[:, 0, 0].min()), int(pts[:, 0, 1].min())
            _label(out, text, (x + 2, y + 16), _ZONE, scale)
    for line in lines:
        p1 = (round(line.start[0]), round(line.start[1]))
        p2 = (round(line.end[0]), round(line.end[1]))
        cv2.line(out, p1, p2, _LINE, thick + 1, cv2.LINE_AA)
        counts = (line_counts or {}).get(line.name)
        text = line.name if counts is None else f"{line.name} in {counts.get('in', 0)} out {counts.get('out', 0)}"
        _label(out, text, (min(p1[0], p2[0]) + 4, min(p1[1], p2[1]) + 18), _LINE, scale)
    for track in tracks:
        x1, y1, x2, y2 = (round(v) for v in track.xyxy)
        color = _OBSERVED if track.observed else _PREDICTED
        cv2.rectangle(out, (x1, y1), (x2, y2), color, thick, cv2.LINE_AA)
        label = (track_labels or {}).get(track.track_id, str(track.track_id))
        _label(out, f"#{label} {track.confidence:.2f}", (x1, y1 - 3), color, scale * 0.8)
    return out


def encode_jpeg(image: np.ndarray, quality: int = 80) -> bytes:
    """The image as JPEG bytes (quality 1-100)."""
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(min(100, max(1, quality)))])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return buf.tobytes()
