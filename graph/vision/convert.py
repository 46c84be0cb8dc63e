"""Vision's protobuf -> seed 002 shapes ("Video API"), shared by its REST routes and its tracking websocket.

Identity fields (`user_id`, `name`, `loyalty_status`, `identification_confidence`) are filled once the
identity service recognised a known customer on the track; null (0.0) until then.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from footfall.graph.core.convert import iso_offset
from footfall.services.core import errors
from footfall.v1 import common_pb2, vision_pb2

FRAME_REQUIRED = "frame_b64 is required"
_DATA_URL = re.compile(r"^data:[\w/+.-]*;base64,", re.IGNORECASE)


def bbox(box: vision_pb2.BoundingBox) -> list[int]:
    return [round(box.x1), round(box.y1), round(box.x2), round(box.y2)]


def identity_fields(track: vision_pb2.Track | None) -> dict[str, Any]:
    """Seed 002's identity fields of a track: who it is when recognised, nulls otherwise."""
    if track is None or not track.HasField("identity"):
        return {"user_id": None, "name": None, "loyalty_status": None, "identification_confidence": 0.0}
    who = track.identity
    return {"user_id": str(who.customer_id), "name": who.name or None, "loyalty_status": who.loyalty_status or None,
            "identification_confidence": round(who.confidence, 4)}


def tracked_object(track: vision_pb2.Track) -> dict[str, Any]:
    return {
        "object_id": track.track_id, "camera_id": track.camera_id, "bbox": bbox(track.box),
        "confidence": round(track.confidence, 4), "object_type": "person", "last_seen": iso_offset(track.last_seen_at),
        **identity_fields(track),
    }


def tracking_update(update: vision_pb2.WatchTracksResponse) -> dict[str, Any]:
    """One `/ws/tracking` message."""
    return {
        "type": "tracking_update",
        "camera_id": update.camera_id,
        "frame_index": update.frame_index,
        "timestamp": iso_offset(update.timestamp),
        "tracked_objects": [tracked_object(t) for t in update.tracks],
        "crossings": [
            {"line_id": c.line_id, "line_name": c.line_name,
             "direction": "in" if c.direction == common_pb2.CROSSING_DIRECTION_IN else "out",
             "object_id": c.track_id, "timestamp": iso_offset(c.occurred_at)}
            for c in update.crossings
        ],
        "ended_object_ids": list(update.ended_track_ids),
    }


def decode_frame(value: Any) -> bytes:
    """The image of a `frame_b64` (plain or URL-safe base64, optionally a `data:` URL); else InvalidArgument."""
    if not isinstance(value, str) or not value.strip():
        raise errors.InvalidArgument(FRAME_REQUIRED)
    text = re.sub(r"\s+", "", _DATA_URL.sub("", value.strip(), count=1))
    padded = text + "=" * (-len(text) % 4)
    try:
        data = base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        try:
            data = base64.urlsafe_b64decode(padded)
        except (binascii.Error, ValueError):
            raise errors.InvalidArgument(FRAME_REQUIRED) from None
    if not data:
        raise errors.InvalidArgument(FRAME_REQUIRED)
    return data
