"""What callers ask of the vision service, validated: streams, camera ids, counting lines and zones.

Plain data (the servicer converts it from protobuf); a malformed value raises InvalidArgument with the reason.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from footfall.services.core.errors import InvalidArgument
from footfall.services.vision.camera_lines import CameraLine
from footfall.services.vision.lines import LineDirection, LineZone
from footfall.services.vision.zones import PolygonZone

_MAX_CAMERA_ID = 128

SourceKind = Literal["url", "path", "device"]


@dataclass(frozen=True)
class StreamRequest:
    camera_id: str
    kind: SourceKind
    target: str | int
    lines: tuple[CameraLine, ...] = ()
    zones: tuple[PolygonZone, ...] = ()
    max_fps: float = 0.0
    loop: bool = False
    realtime: bool = False
    max_frames: int = 0
    max_reconnect_attempts: int = 0
    session_id: str = ""
    face_crops: bool | None = None  # None: the service's default (FaceEngine.enabled)
    blur_faces: bool = False


def validate_camera_id(camera_id: str) -> str:
    camera_id = (camera_id or "").strip()
    if not camera_id:
        raise InvalidArgument("camera_id is required")
    if len(camera_id) > _MAX_CAMERA_ID or any(ord(c) < 32 for c in camera_id):
        raise InvalidArgument(f"camera_id must be 1-{_MAX_CAMERA_ID} printable characters")
    return camera_id


def finite_number(value: float, what: str) -> float:
    if not math.isfinite(value):
        raise InvalidArgument(f"{what} must be a finite number")
    return float(value)


def make_line(
    name: str, start: tuple[float, float], end: tuple[float, float], direction: LineDirection | str = "bidirectional",
    *, line_id: int = 0, hysteresis_px: float | None = None,
) -> CameraLine:
    """A validated counting line (InvalidArgument with the reason when malformed)."""
    name = (name or "").strip()
    if not name:
        raise InvalidArgument("every line needs a name")
    coords = [finite_number(v, f"line {name!r} coordinates") for v in (*start, *end)]
    try:
        zone = LineZone(name=name, start=(coords[0], coords[1]), end=(coords[2], coords[3]),
                        direction=LineDirection(direction), hysteresis_px=hysteresis_px)
    except ValueError as exc:
        raise InvalidArgument(f"line {name!r}: {exc}") from None
    return CameraLine(zone, int(line_id))


def make_zone(name: str, points: Sequence[tuple[float, float]]) -> PolygonZone:
    name = (name or "").strip()
    if not name:
        raise InvalidArgument("every zone needs a name")
    pts = tuple((finite_number(x, f"zone {name!r} points"), finite_number(y, f"zone {name!r} points")) for x, y in points)
    try:
        return PolygonZone(name=name, points=pts)
    except ValueError as exc:
        raise InvalidArgument(f"zone {name!r}: {exc}") from None


def unique_names(items: Sequence[Any], what: str, name: Callable[[Any], str]) -> None:
    names = [name(i) for i in items]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InvalidArgument(f"{what} names must be unique within a camera: {', '.join(dupes)}")
