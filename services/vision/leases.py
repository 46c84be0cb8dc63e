"""Which vision worker runs which camera: one lease per camera in JetStream key-value.

* A lease is the key ``<org>.<camera>`` in the bucket ``vision_leases``, whose entries expire ``ttl_s`` after
  their last write (the bucket's max age). Taking it is a ``create`` (fails while anyone holds it); keeping it
  is an ``update`` with the revision the holder last wrote, every ``ttl_s / 4`` or so. An update that fails
  means someone else holds the key now: the holder stops the camera at once. A worker that dies stops
  renewing, the entry expires, and another worker's ``create`` succeeds.
* The lease's value names the holder and its gRPC address, so any worker forwards a call about the camera
  to the one running it (:mod:`footfall.services.vision.routing`).
* Positions (bucket ``vision_positions``, no expiry) say how far a file stream has got, so a run resumed by
  another worker continues where the last one published instead of counting the same people again
  (see :mod:`footfall.services.vision.cluster`).
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.errors import (
    BadRequestError,
    BucketNotFoundError,
    KeyDeletedError,
    KeyNotFoundError,
    KeyWrongLastSequenceError,
)
from nats.js.kv import KeyValue

log = logging.getLogger(__name__)

LEASE_BUCKET = "vision_leases"
POSITION_BUCKET = "vision_positions"


def camera_key(org: str, camera_id: str) -> str:
    """A KV key for a camera (camera ids may hold characters keys may not; base64url has none of those)."""
    encoded = base64.urlsafe_b64encode(camera_id.encode()).decode().rstrip("=")
    return f"{org}.{encoded}"


@dataclass(frozen=True)
class Holder:
    """Who holds a camera's lease: the worker's id and the gRPC address it serves on."""

    worker: str
    address: str
    session_id: str

    def encode(self) -> bytes:
        return json.dumps({"worker": self.worker, "address": self.address, "session_id": self.session_id}).encode()

    @classmethod
    def decode(cls, data: bytes) -> Holder | None:
        try:
            raw = json.loads(data)
            return cls(str(raw["worker"]), str(raw["address"]), str(raw.get("session_id", "")))
        except (ValueError, KeyError, TypeError):
            return None


@dataclass
class Lease:
    """A camera's lease as its holder knows it."""

    org: str
    camera_id: str
    holder: Holder
    revision: int
    renewed_at: float  # time.monotonic() of the last successful write

    @property
    def key(self) -> str:
        return camera_key(self.org, self.camera_id)


@dataclass(frozen=True)
class Position:
    """How far a run of a file stream got: its last published frame (stream index) and the file's frame."""

    run_id: str
    frame_index: int
    file_frame: int

    def encode(self) -> bytes:
        return json.dumps({"run_id": self.run_id, "frame_index": self.frame_index,
                           "file_frame": self.file_frame}).encode()

    @classmethod
    def decode(cls, data: bytes) -> Position | None:
        try:
            raw = json.loads(data)
            return cls(str(raw["run_id"]), int(raw["frame_index"]), int(raw["file_frame"]))
        except (ValueError, KeyError, TypeError):
            return None


async def _bucket(js: JetStreamContext, name: str, ttl_s: float | None) -> KeyValue:
    try:
        return await js.key_value(name)
    except BucketNotFoundError:
        pass
    try:
        return await js.create_key_value(bucket=name, ttl=ttl_s, history=1)
    except BadRequestError:  # another worker created it first (with its own settings)
        return await js.key_value(name)


class CameraLeases:
    """Lease operations of one worker (``worker``, reachable at ``address``)."""

    def __init__(self, js: JetStreamContext, worker: str, address: str | Callable[[], str], *,
                 ttl_s: float = 8.0, bucket: str = LEASE_BUCKET, positions_bucket: str = POSITION_BUCKET) -> None:
        self.js = js
        self.worker = worker
        self._address = address
        self.ttl_s = ttl_s
        self._bucket_name = bucket
        self._positions_name = positions_bucket
        self._kv: KeyValue | None = None
        self._positions: KeyValue | None = None

    @property
    def address(self) -> str:
        """Where this worker's gRPC server listens (known once the server has started)."""
        return self._address() if callable(self._address) else self._address

    async def open(self) -> None:
        self._kv = await _bucket(self.js, self._bucket_name, self.ttl_s)
        self._positions = await _bucket(self.js, self._positions_name, None)

    @property
    def kv(self) -> KeyValue:
        if self._kv is None:
            raise RuntimeError("leases are not open")
        return self._kv

    async def acquire(self, org: str, camera_id: str, session_id: str) -> Lease | None:
        """Take the camera's lease; None while someone holds it."""
        holder = Holder(self.worker, self.address, session_id)
        try:
            revision = await self.kv.create(camera_key(org, camera_id), holder.encode())
        except KeyWrongLastSequenceError:
            return None
        return Lease(org, camera_id, holder, revision, time.monotonic())

    async def renew(self, lease: Lease) -> bool:
        """Write the lease again (resetting its expiry); False when it is no longer ours."""
        try:
            lease.revision = await self.kv.update(lease.key, lease.holder.encode(), last=lease.revision)
        except KeyWrongLastSequenceError:
            return False
        lease.renewed_at = time.monotonic()
        return True

    def valid(self, lease: Lease, margin_s: float = 1.0) -> bool:
        """Whether the lease surely has not expired yet (by this worker's clock, with a margin)."""
        return time.monotonic() - lease.renewed_at < self.ttl_s - margin_s

    async def release(self, lease: Lease) -> None:
        """Give the camera up (only if the lease is still ours)."""
        try:
            await self.kv.delete(lease.key, last=lease.revision)
        except (KeyWrongLastSequenceError, BadRequestError) as exc:
            log.debug("lease %s was not ours any more: %s", lease.key, exc)

    async def holder(self, org: str, camera_id: str) -> Holder | None:
        """Who runs the camera now (None: nobody)."""
        try:
            entry = await self.kv.get(camera_key(org, camera_id))
        except (KeyNotFoundError, KeyDeletedError):
            return None
        return Holder.decode(entry.value) if entry.value else None

    # ---- positions --------------------------------------------------------------------------------

    async def save_position(self, org: str, camera_id: str, position: Position) -> None:
        assert self._positions is not None
        await self._positions.put(camera_key(org, camera_id), position.encode())

    async def position(self, org: str, camera_id: str) -> Position | None:
        assert self._positions is not None
        try:
            entry = await self._positions.get(camera_key(org, camera_id))
        except (KeyNotFoundError, KeyDeletedError):
            return None
        return Position.decode(entry.value) if entry.value else None

    async def forget_position(self, org: str, camera_id: str) -> None:
        assert self._positions is not None
        try:
            await self._positions.delete(camera_key(org, camera_id))
        except (KeyNotFoundError, KeyDeletedError):
            pass
