"""What a camera sees as it happens: its tracks (ListTracks, WatchTracks) and its frames with the overlay.

:class:`LiveView` is part of :class:`~footfall.services.vision.service.VisionService`: every analysed frame's
:class:`~footfall.services.vision.camera_session.TrackUpdate` reaches the watchers of its organisation
(a slow watcher loses its oldest updates, counted in ``dropped``, never blocks the stream).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime

from footfall.services.vision.camera_session import CameraSession, Snapshot, TrackUpdate
from footfall.services.vision.face_engine import FaceEngine
from footfall.services.vision.stream_requests import validate_camera_id


@dataclass(frozen=True)
class TrackList:
    camera_id: str
    session: CameraSession
    snapshot: Snapshot | None


@dataclass(frozen=True)
class EncodedFrame:
    jpeg: bytes
    frame_index: int
    timestamp: datetime
    frame_size: tuple[int, int]


@dataclass(eq=False)
class TrackWatcher:
    org: str
    camera_id: str | None
    queue: asyncio.Queue[TrackUpdate] = field(default_factory=lambda: asyncio.Queue(maxsize=256))
    dropped: int = 0


class LiveView:
    """Tracks and frames of :class:`~footfall.services.vision.service.VisionService`'s cameras, which
    provides the camera lookup (``_session``)."""

    # Set by VisionService.__init__.
    _watchers: set[TrackWatcher]
    faces: FaceEngine | None

    async def list_tracks(self, org: str, camera_id: str) -> TrackList:
        session = self._session(org, camera_id)
        return TrackList(session.camera_id, session, session.snapshot)

    def _on_update(self, update: TrackUpdate) -> None:
        for watcher in self._watchers:
            if watcher.org != update.org or (watcher.camera_id is not None and watcher.camera_id != update.camera_id):
                continue
            if watcher.queue.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    watcher.queue.get_nowait()
                    watcher.dropped += 1
            watcher.queue.put_nowait(update)

    async def watch_tracks(self, org: str, camera_id: str | None = None) -> AsyncIterator[TrackUpdate]:
        """Every analysed frame's tracks (one camera, or every camera of ``org``) until the caller stops."""
        if camera_id:
            self._session(org, camera_id)
        watcher = TrackWatcher(org, validate_camera_id(camera_id) if camera_id else None)
        self._watchers.add(watcher)
        try:
            while True:
                yield await watcher.queue.get()
        finally:
            self._watchers.discard(watcher)

    async def watch_frames(
        self, org: str, camera_id: str, *, max_fps: float = 0.0, quality: int = 80
    ) -> AsyncIterator[EncodedFrame]:
        """The camera's frames with the overlay drawn, as JPEG; ends when its stream has finished."""
        session = self._session(org, camera_id)
        if session.blur_faces and self.faces is not None:
            await self.faces.analyzer()  # blur by detection from the first frame sent
        quality = int(quality) if 1 <= int(quality) <= 100 else 80
        min_gap = 1.0 / max_fps if max_fps and max_fps > 0 else 0.0
        sent_version = 0
        sent_at = -math.inf
        while True:
            snap = session.snapshot
            fresh = snap is not None and snap.image is not None and snap.version != sent_version
            if fresh and snap is not None:
                wait = sent_at + min_gap - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                    continue
                data = await asyncio.to_thread(session.render_jpeg, snap, quality)
                sent_version, sent_at = snap.version, time.monotonic()
                assert snap.image is not None
                yield EncodedFrame(data, snap.frame_index, snap.wall_time,
                                   (int(snap.image.shape[1]), int(snap.image.shape[0])))
                continue
            if session.state.finished:
                return
            async with session.changed:
                if session.snapshot is snap and not session.state.finished:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(session.changed.wait(), 1.0)
