"""A camera's counting lines: each with the occupancy line id it stands for, in the frame's pixels."""

from __future__ import annotations

from dataclasses import dataclass, replace

from footfall.services.vision.lines import LineZone


@dataclass(frozen=True)
class CameraLine:
    """A counting line and the occupancy line id it stands for (0 when it has none)."""

    zone: LineZone
    line_id: int = 0

    def scaled(self, sx: float, sy: float) -> CameraLine:
        if sx == 1.0 and sy == 1.0:
            return self
        start = (self.zone.start[0] * sx, self.zone.start[1] * sy)
        end = (self.zone.end[0] * sx, self.zone.end[1] * sy)
        return replace(self, zone=replace(self.zone, start=start, end=end))


@dataclass(frozen=True)
class LineSet:
    """Lines with the frame size their coordinates refer to (None: the frame's own pixels)."""

    lines: tuple[CameraLine, ...] = ()
    reference_size: tuple[int, int] | None = None

    def for_frame(self, size: tuple[int, int]) -> tuple[CameraLine, ...]:
        if self.reference_size is None or self.reference_size == size:
            return self.lines
        sx = size[0] / self.reference_size[0]
        sy = size[1] / self.reference_size[1]
        return tuple(line.scaled(sx, sy) for line in self.lines)
