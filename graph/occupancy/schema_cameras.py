"""The public camera id of the GraphQL API: the camera's key (`GATE_A`), never its database number.

Every field, mutation and subscription that names a camera takes the same `ID` as `Camera.id`: the key
unique in the organisation. It is the name vision, customers, crossings and NATS subjects already use and
the one a device is configured with; the database number is an occupancy detail that only its REST routes
(seed 001) show. The occupancy service is asked by number, so the gateway keeps, per organisation, the
key <-> number pairs its replies have shown: a pair never changes (a camera's key cannot be edited), so the
hot path (`liveOccupancy(cameraId: "GATE_A")`) costs no extra call. An unknown key or number refreshes the
organisation's list once, under the caller's own credential; pairs are kept for `TTL_S` at most, and a
camera the service no longer knows is dropped and looked up again.
"""

from __future__ import annotations

import time
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from footfall.graph.core.client import Identity
from footfall.graph.occupancy.client import OccupancyClient
from footfall.services.core.errors import InvalidArgument, NotFound
from footfall.v1 import occupancy_pb2

R = TypeVar("R")

TTL_S = 300.0
MAX_ORGS = 4096
MAX_KEY_LENGTH = 200


@dataclass
class _OrgCameras:
    by_key: dict[str, int] = field(default_factory=dict)
    by_number: dict[int, str] = field(default_factory=dict)
    since: float = field(default_factory=time.monotonic)

    def add(self, camera: occupancy_pb2.Camera) -> None:
        self.by_key[camera.camera_id] = camera.id
        self.by_number[camera.id] = camera.camera_id


class CameraDirectory:
    """Key <-> number of the cameras of each organisation, filled from the occupancy service's replies."""

    def __init__(self, client: OccupancyClient) -> None:
        self.client = client
        self._orgs: OrderedDict[str, _OrgCameras] = OrderedDict()

    def _org(self, org: str) -> _OrgCameras:
        found = self._orgs.get(org)
        if found is None or time.monotonic() - found.since > TTL_S:
            found = self._orgs[org] = _OrgCameras()
        self._orgs.move_to_end(org)
        while len(self._orgs) > MAX_ORGS:
            self._orgs.popitem(last=False)
        return found

    def learn(self, org: str, *cameras: occupancy_pb2.Camera) -> None:
        known = self._org(org)
        for camera in cameras:
            known.add(camera)

    def forget(self, org: str) -> None:
        self._orgs.pop(org, None)

    async def _refresh(self, caller: Identity) -> _OrgCameras:
        cameras = await self.client.list_cameras(caller, include_inactive=True)
        self.forget(caller.org)
        known = self._org(caller.org)
        for camera in cameras:
            known.add(camera)
        return known

    async def number(self, caller: Identity, key: str) -> int:
        """The database number of the camera `key` (NOT_FOUND when the organisation has none)."""
        key = check_key(key)
        found = self._org(caller.org).by_key.get(key)
        if found is None:
            found = (await self._refresh(caller)).by_key.get(key)
        if found is None:
            raise NotFound(f"Camera {key} not found")
        return found

    def known_number(self, org: str, key: str) -> int | None:
        """The number of the camera `key` when this directory already holds it (no call), else None."""
        found = self._orgs.get(org)
        if found is None or time.monotonic() - found.since > TTL_S:
            return None
        return found.by_key.get(key)

    async def key(self, caller: Identity, number: int) -> str:
        """The key of the camera numbered `number`; the number itself (as text) if it has vanished."""
        found = self._org(caller.org).by_number.get(number)
        if found is None:
            found = (await self._refresh(caller)).by_number.get(number)
        return found if found is not None else str(number)

    async def call(self, caller: Identity, key: str, fn: Callable[[int], Awaitable[R]]) -> R:
        """`fn(number)` for the camera `key`, looked up afresh if the service no longer knows the number."""
        cached = key in self._org(caller.org).by_key
        try:
            return await fn(await self.number(caller, key))
        except NotFound:
            if not cached:
                raise
            self.forget(caller.org)
            return await fn(await self.number(caller, key))


def check_key(key: object) -> str:
    text = str(key)
    if not text.strip() or len(text) > MAX_KEY_LENGTH or "\x00" in text:
        raise InvalidArgument("cameraId must be a camera's id (its key, e.g. GATE_A)")
    return text


_DIRECTORIES: weakref.WeakKeyDictionary[OccupancyClient, CameraDirectory] = weakref.WeakKeyDictionary()


def directory(client: OccupancyClient) -> CameraDirectory:
    """The directory of the gateway's (one, shared) occupancy client."""
    found = _DIRECTORIES.get(client)
    if found is None:
        found = _DIRECTORIES[client] = CameraDirectory(client)
    return found
