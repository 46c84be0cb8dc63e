"""The dashboard's shapes (seed 002): camera states and websocket messages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from footfall.graph.accounts.convert import iso
from footfall.v1 import occupancy_pb2, vision_pb2

_STREAM_STATUS = {
    vision_pb2.STREAM_STATUS_CONNECTING: "connecting",
    vision_pb2.STREAM_STATUS_CONNECTED: "online",
    vision_pb2.STREAM_STATUS_RECONNECTING: "reconnecting",
    vision_pb2.STREAM_STATUS_FAILED: "error",
    vision_pb2.STREAM_STATUS_STOPPED: "offline",
}


def camera_state(camera: occupancy_pb2.Camera | None, stream: vision_pb2.Stream | None) -> dict[str, Any]:
    """One camera as the dashboard shows it: configured in occupancy, read (or not) by vision.

    `status`: the stream's state when vision reads the camera (`online`, `connecting`, `reconnecting`,
    `error`, `offline`), else `offline` for an active camera nobody reads and `inactive` for a retired one.
    """
    if stream is not None:
        status = _STREAM_STATUS.get(stream.status, "offline")
        last_seen = iso(stream.last_frame_at)
    else:
        status = "offline" if camera is None or camera.is_active else "inactive"
        last_seen = None
    key = camera.camera_id if camera is not None else stream.camera_id  # type: ignore[union-attr]
    return {
        "id": key,
        "name": camera.camera_name if camera is not None else key,
        "status": status,
        "last_seen": last_seen,
        "location": camera.location if camera is not None else "",
    }


def camera_states(
    cameras: list[occupancy_pb2.Camera], streams: list[vision_pb2.Stream]
) -> list[dict[str, Any]]:
    by_key = {s.camera_id: s for s in streams}
    states = [camera_state(c, by_key.pop(c.camera_id, None)) for c in cameras]
    # Streams of cameras never registered in occupancy (pushed frames, ad-hoc sources) are cameras too.
    states.extend(camera_state(None, s) for s in by_key.values())
    return states


def message(kind: str, data: Any) -> dict[str, Any]:
    """A websocket message: `{type, data, timestamp}`."""
    return {"type": kind, "data": data, "timestamp": datetime.now(UTC).isoformat()}


def occupancy_data(live: occupancy_pb2.LiveOccupancy, camera_key: str) -> dict[str, Any]:
    return {
        "camera_id": camera_key,
        "current_occupancy": live.current_occupancy,
        "total_entries": live.total_entries,
        "total_exits": live.total_exits,
        "last_updated": iso(live.last_updated),
    }


def alert_data(alert: occupancy_pb2.Alert, camera_key: str) -> dict[str, Any]:
    return {
        "id": alert.id,
        "camera_id": camera_key,
        "alert_type": occupancy_pb2.AlertType.Name(alert.alert_type).removeprefix("ALERT_TYPE_").lower(),
        "current_occupancy": alert.current_occupancy,
        "message": alert.message,
        "is_resolved": alert.is_resolved,
        "timestamp": iso(alert.timestamp),
    }
