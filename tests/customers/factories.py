"""Vision events for one scripted visit, as the consumer decodes them."""

from __future__ import annotations

import uuid

from footfall.services.customers.service import VisionEvent


def visit_events(
    camera: str, track: str, start: float, end: float, stays: list[tuple[str, float, float]] = (),  # type: ignore[assignment]
    *, lost_s: float = 2.0, x0: float = 100.0,
) -> list[VisionEvent]:
    """zone_entered/zone_exited per stay and a track_ended (path one point per second) for one track."""
    out: list[VisionEvent] = []
    for zone, a, b in stays:
        out.append(VisionEvent(str(uuid.uuid4()), "zone_entered", camera, track, a, zone=zone))
        out.append(VisionEvent(str(uuid.uuid4()), "zone_exited", camera, track, b, zone=zone, dwell_s=b - a))
    n = max(2, int(end - start) + 1)
    path = tuple((start + (end - start) * i / (n - 1), x0 + i, 100.0) for i in range(n))
    out.append(VisionEvent(str(uuid.uuid4()), "track_ended", camera, track, end + lost_s, first_seen=start,
                           last_seen=end, path=path))
    return out


def tick(camera: str, at: float) -> VisionEvent:
    """A one-frame track (noise, dropped) that moves the camera's stream clock to ``at``."""
    return VisionEvent(str(uuid.uuid4()), "track_ended", camera, f"tick-{uuid.uuid4().hex[:6]}", at,
                       first_seen=at, last_seen=at, path=((at, 5.0, 5.0),))
