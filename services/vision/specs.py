"""Parsers for line specs (``--line``) and zone files (``--zones``).

Line spec: ``NAME:X1,Y1,X2,Y2[:DIRECTION]``, e.g. ``door:240,0,240,360`` or
``exit-gate:0,300,480,300:exit``. Coordinates are pixels of the source frame; DIRECTION is
``entry``, ``exit`` or ``bidirectional`` (default). See :mod:`footfall.services.vision.lines` for which
way is ``in``.

Zones file: a JSON list of ``{"name": str, "points": [[x, y], ...]}`` (at least 3 points), with
optional ``enter_frames``/``exit_frames``/``margin`` (hysteresis) and ``anchor``. An object
``{"zones": [...]}`` is accepted too.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from footfall.services.vision.geometry import Anchor
from footfall.services.vision.lines import LineDirection, LineZone
from footfall.services.vision.zones import PolygonZone


class SpecError(ValueError):
    """A line spec or zones file is malformed; the message says what and where."""


def parse_line_spec(spec: str, **line_options: Any) -> LineZone:
    """Parse ``NAME:X1,Y1,X2,Y2[:DIRECTION]`` into a :class:`LineZone`.

    ``line_options`` (e.g. ``hysteresis_px``) are passed to :class:`LineZone`.
    """
    parts = spec.strip().split(":")
    if len(parts) not in (2, 3):
        raise SpecError(f"line {spec!r}: expected NAME:X1,Y1,X2,Y2[:DIRECTION]")
    name = parts[0].strip()
    if not name:
        raise SpecError(f"line {spec!r}: the name is empty")
    coords = [c.strip() for c in parts[1].split(",")]
    if len(coords) != 4:
        raise SpecError(f"line {spec!r}: expected 4 comma-separated numbers X1,Y1,X2,Y2, got {len(coords)}")
    try:
        x1, y1, x2, y2 = (float(c) for c in coords)
    except ValueError:
        raise SpecError(f"line {spec!r}: coordinates must be numbers") from None
    if not all(math.isfinite(v) for v in (x1, y1, x2, y2)):
        raise SpecError(f"line {spec!r}: coordinates must be finite")
    direction = LineDirection.BIDIRECTIONAL
    if len(parts) == 3:
        word = parts[2].strip().lower()
        try:
            direction = LineDirection(word)
        except ValueError:
            choices = ", ".join(d.value for d in LineDirection)
            raise SpecError(f"line {spec!r}: direction {word!r} is not one of {choices}") from None
    try:
        return LineZone(name=name, start=(x1, y1), end=(x2, y2), direction=direction, **line_options)
    except ValueError as exc:
        raise SpecError(f"line {spec!r}: {exc}") from None


def parse_zones(data: Any, source: str = "zones") -> list[PolygonZone]:
    """Build zones from already-decoded JSON (see the module docstring for the shape)."""
    if isinstance(data, dict) and "zones" in data:
        data = data["zones"]
    if not isinstance(data, list):
        raise SpecError(f"{source}: expected a JSON list of zones")
    zones: list[PolygonZone] = []
    for i, item in enumerate(data):
        where = f"{source}: zone #{i + 1}"
        if not isinstance(item, dict):
            raise SpecError(f"{where}: expected an object with 'name' and 'points'")
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            raise SpecError(f"{where}: 'name' must be a non-empty string")
        where = f"{source}: zone {name!r}"
        points = item.get("points")
        if not isinstance(points, list) or len(points) < 3:
            raise SpecError(f"{where}: 'points' must be a list of at least 3 [x, y] pairs")
        pts: list[tuple[float, float]] = []
        for p in points:
            if not (
                isinstance(p, (list, tuple))
                and len(p) == 2
                and all(
                    isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in p
                )
            ):
                raise SpecError(f"{where}: point {p!r} is not an [x, y] pair of numbers")
            pts.append((float(p[0]), float(p[1])))
        options: dict[str, Any] = {}
        for key in ("enter_frames", "exit_frames"):
            if key in item:
                if not isinstance(item[key], int) or item[key] < 1:
                    raise SpecError(f"{where}: {key!r} must be an integer >= 1")
                options[key] = item[key]
        if "margin" in item:
            margin = item["margin"]
            if not isinstance(margin, (int, float)) or isinstance(margin, bool) or not 0 <= margin < 10:
                raise SpecError(f"{where}: 'margin' must be a number within [0, 10) (a fraction of a person's height)")
            options["margin"] = float(margin)
        if "anchor" in item:
            try:
                options["anchor"] = Anchor(item["anchor"])
            except ValueError:
                raise SpecError(f"{where}: unknown anchor {item['anchor']!r}") from None
        zones.append(PolygonZone(name=name.strip(), points=tuple(pts), **options))
    names = [z.name for z in zones]
    if len(names) != len(set(names)):
        raise SpecError(f"{source}: zone names must be unique")
    return zones


def load_zones_file(path: str | os.PathLike[str]) -> list[PolygonZone]:
    """Read a zones JSON file; raises :class:`SpecError` with the reason when it is invalid."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"cannot read zones file {p}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError(f"{p}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    return parse_zones(data, str(p))
