"""Stored stream definitions <-> the requests that run them (what :mod:`footfall.services.vision.cluster` stores).

Lines and zones are kept as plain JSON in ``vision_streams``; they are validated again (``make_line``,
``make_zone``) whenever a run is built from them, so a row edited by hand cannot start a malformed stream.
"""

from __future__ import annotations

from typing import Any

from footfall.services.vision.lines import LineDirection
from footfall.services.vision.camera_lines import CameraLine
from footfall.services.vision.camera_session import StreamState
from footfall.services.vision.stream_requests import StreamRequest, make_line, make_zone
from footfall.services.vision.stream_store import StoredStream


def line_json(line: CameraLine) -> dict[str, Any]:
    z = line.zone
    return {"name": z.name, "line_id": line.line_id, "start": list(z.start), "end": list(z.end),
            "direction": z.direction.value, "hysteresis_px": z.hysteresis_px}


def stored_stream(org: str, request: StreamRequest, *, trusted: bool, owner: str) -> StoredStream:
    options = {"max_fps": request.max_fps, "loop": request.loop, "realtime": request.realtime,
               "max_frames": request.max_frames, "max_reconnect_attempts": request.max_reconnect_attempts,
               "face_crops": request.face_crops, "blur_faces": request.blur_faces}
    return StoredStream(
        org=org, camera_id=request.camera_id, kind=request.kind, target=str(request.target),
        session_id=request.session_id, trusted=trusted, lines=[line_json(x) for x in request.lines],
        zones=[{"name": z.name, "points": [list(p) for p in z.points]} for z in request.zones],
        options=options, state=StreamState.CONNECTING.value, owner=owner,
    )


def stream_request(stored: StoredStream) -> StreamRequest:
    """The request that runs a stored stream's current generation."""
    o = stored.options
    lines = tuple(
        make_line(x["name"], tuple(x["start"]), tuple(x["end"]), LineDirection(x.get("direction", "bidirectional")),
                  line_id=int(x.get("line_id", 0)), hysteresis_px=x.get("hysteresis_px"))
        for x in stored.lines
    )
    zones = tuple(make_zone(z["name"], [tuple(p) for p in z["points"]]) for z in stored.zones)
    target: str | int = int(stored.target) if stored.kind == "device" else stored.target
    return StreamRequest(
        camera_id=stored.camera_id, kind=stored.kind, target=target, lines=lines, zones=zones,  # type: ignore[arg-type]
        max_fps=float(o.get("max_fps", 0.0)), loop=bool(o.get("loop", False)), realtime=bool(o.get("realtime", False)),
        max_frames=int(o.get("max_frames", 0)), max_reconnect_attempts=int(o.get("max_reconnect_attempts", 0)),
        session_id=stored.run_id, face_crops=o.get("face_crops"), blur_faces=bool(o.get("blur_faces", False)),
    )


def same_definition(a: StoredStream, b: StoredStream) -> bool:
    """Whether two stored streams read the same source the same way (sessions and state aside)."""
    return (a.kind, a.target, a.lines, a.zones, a.options) == (b.kind, b.target, b.lines, b.zones, b.options)
