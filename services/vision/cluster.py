"""Streams as configuration, shared out between vision workers.

Every ``footfall serve vision`` process (and ``footfall up``) runs one :class:`VisionCluster` beside its
:class:`~footfall.services.vision.service.VisionService`:

* **Stored.** StartStream stores the stream (:mod:`~footfall.services.vision.stream_store`) and StopStream
  deletes it, so a stream outlives its process: every worker looks for stored streams that nobody runs
  (at boot and every ``poll_s``) and starts them. A stream that ended by itself (a file without ``loop``,
  ``max_frames``) or failed for good keeps its row with that state and is not started again.
* **One owner.** A worker runs a camera only while it holds the camera's lease
  (:mod:`~footfall.services.vision.leases`), renewed every ``ttl_s / 3``. A worker that dies stops renewing;
  within ``ttl_s + poll_s`` another worker holds the lease and runs the stream (a new *generation*: its
  session id is ``<session>-<generation>``, so its track ids never collide with the last run's). A worker
  that cannot renew (NATS unreachable, or someone else holds the key) stops publishing at once and stops the
  stream.
* **No double counting on takeover.** Live sources resume live: the people who crossed while nobody ran the
  camera are missed, none is counted twice. File streams resume from their stored position: before a
  frame's events are published, the run records that frame in the position; the next run starts at the
  frame after it. A frame's events are therefore published by at most one run, and a run never re-analyses
  a frame whose events were published. (The alternative, replaying the file from the start with the same
  event ids and relying on the consumers' dedup, needs a detector that gives bit-identical boxes whatever
  the batch it runs in; ours does not promise that.) Publishing the same run's event again — a JetStream
  retry — carries the same deterministic id (session, track, line, frame) and consumers drop it.
* **Line edits.** Occupancy announces ``camera_config_changed`` on core NATS after a line or camera change;
  the worker running the camera re-reads its lines and swaps them in between two frames.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import uuid
from dataclasses import dataclass, field
from typing import Any

from footfall.services.core.errors import AlreadyExists, InvalidArgument, NotFound
from footfall.services.core.events import EventBus
from footfall.services.vision.camera_lines import LineSet
from footfall.services.vision.camera_session import CameraSession, StreamState
from footfall.services.vision.leases import CameraLeases, Holder, Lease, Position
from footfall.services.vision.service import VisionService
from footfall.services.vision.stream_definitions import same_definition, stored_stream, stream_request
from footfall.services.vision.stream_requests import StreamRequest
from footfall.services.vision.stream_store import UNOWNED, StoredStream, StreamStore

log = logging.getLogger(__name__)

CONFIG_CHANGED = "camera_config_changed"
WAITING = "waiting for a vision worker to take the stream over"
_TERMINAL = {StreamState.STOPPED.value, StreamState.FAILED.value}


# --------------------------------------------------------------------------------------------------
# The cluster


@dataclass
class _Owned:
    """A camera this worker runs: its lease and the stored run."""

    lease: Lease
    stored: StoredStream
    written: tuple[str, str] = ("", "")  # the (state, detail) last written to the store
    leaving: bool = False  # stopping on purpose (StopStream, lease lost, shutdown): not an end of stream
    frames: int | None = field(default=None)  # frames per file of a file stream (None: unknown)


class VisionCluster:
    """Runs the stored streams this worker holds the leases of; see the module docstring."""

    def __init__(self, service: VisionService, store: StreamStore, leases: CameraLeases, *,
                 bus: EventBus | None = None, poll_s: float = 1.0, orgs: frozenset[str] | None = None) -> None:
        self.service = service
        self.orgs = orgs  # serve only these organisations' stored streams (None: every organisation)
        self.store = store
        self.leases = leases
        self.bus = bus
        self.poll_s = poll_s
        self.renew_s = max(0.2, leases.ttl_s / 3)
        self._owned: dict[tuple[str, str], _Owned] = {}
        self._task: asyncio.Task[None] | None = None
        self._subscription: Any = None
        self._lock = asyncio.Lock()  # one change of ownership at a time
        service.cluster = self

    @property
    def worker(self) -> str:
        return self.leases.worker

    async def start(self) -> None:
        await self.leases.open()
        if self.bus is not None:
            subject = "live." + self.bus.subject("*", "occupancy", CONFIG_CHANGED)
            self._subscription = await self.bus.nc.subscribe(subject, cb=self._on_config_changed)
        self._task = asyncio.create_task(self._run(), name="vision-cluster")

    async def stop(self) -> None:
        """Hand every camera back (another worker takes them over at once); call before the service stops."""
        await self._quiet()
        async with self._lock:
            for key in list(self._owned):
                if self.service.camera_session(*key) is not None:
                    await self._give_up(key, "vision worker stopping", UNOWNED)
                    continue
                # Ended by itself (end of file, max_frames, failed for good) since the last round: record it as
                # ended, or the next start would resume a finished stream and count frames again.
                # (camera_session() is None for a finished session: get_stream() still has its state.)
                state, detail = await self._ended_state(key)
                await self._give_up(key, detail, state)

    async def _ended_state(self, key: tuple[str, str]) -> tuple[str, str]:
        """(state, detail) of a camera's stream that ended by itself here."""
        with contextlib.suppress(NotFound):
            session = await self.service.get_stream(*key)
            return session.state.value, session.detail
        return StreamState.STOPPED.value, ""

    async def abandon(self) -> None:
        """Stop as a crashed worker would: nothing more is published, no lease is released (the other
        workers take the cameras once the leases expire). For tests of takeover."""
        await self._quiet()
        for owned in self._owned.values():
            owned.leaving = True
        self._owned.clear()

    async def _quiet(self) -> None:
        """No more rounds, no more line edits (idempotent)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()

    # ---- requests -----------------------------------------------------------------------------------

    async def start_stream(self, org: str, request: StreamRequest, *, trusted: bool = False) -> CameraSession:
        if not request.session_id:
            request = StreamRequest(**{**request.__dict__, "session_id": uuid.uuid4().hex[:12]})
        async with self._lock:
            key = (org, request.camera_id)
            owned = self._owned.get(key)
            if owned is not None and self.service.camera_session(*key) is None:  # ended; not yet noted
                await self._give_up(key, "", StreamState.STOPPED.value)
                owned = None
            if owned is not None:
                session = self.service.camera_session(*key)
                same = stored_stream(org, request, trusted=trusted, owner=self.worker)
                if session is not None and trusted and same_definition(owned.stored, same):
                    return session  # the platform's own feed, already running (restored at boot)
                raise AlreadyExists(f"camera {request.camera_id} is already streaming from "
                                    f"{owned.stored.target}; stop it first")
            lease = await self.leases.acquire(org, request.camera_id, request.session_id)
            if lease is None:
                holder = await self.leases.holder(org, request.camera_id)
                where = f" on vision worker {holder.worker}" if holder is not None else ""
                raise AlreadyExists(f"camera {request.camera_id} is already streaming{where}; stop it first")
            stored = stored_stream(org, request, trusted=trusted, owner=self.worker)
            try:
                await self.leases.forget_position(org, request.camera_id)
                session = await self.service.run_stream(org, request, trusted=trusted)
            except BaseException:
                await self.leases.release(lease)
                raise
            self._adopt(key, lease, stored, session)  # no await since run_stream: before its first frame
            try:
                await self.store.save(stored)
            except BaseException:
                self._owned.pop(key, None)
                await self.service.halt_stream(org, request.camera_id, "could not store the stream")
                await self.leases.release(lease)
                raise
            return session

    async def stop_stream(self, org: str, camera_id: str) -> CameraSession:
        async with self._lock:
            stored = await self.store.get(org, camera_id)
            await self.store.delete(org, camera_id)  # first: nobody starts it again
            owned = self._owned.pop((org, camera_id), None)
            try:  # still ours while it stops: its open tracks' ends are published
                session = await self.service.halt_stream(org, camera_id)
            except NotFound:
                if stored is None:
                    raise
                session = self.placeholder(stored, StreamState.STOPPED, "stopped on request")
            if owned is not None:
                await self.leases.release(owned.lease)
            await self.leases.forget_position(org, camera_id)
            return session

    async def describe(self, org: str, camera_id: str) -> tuple[CameraSession, str]:
        """The camera's stream as this worker knows it and who runs it (NotFound when neither runs nor is
        stored). A stored stream no worker runs shows as reconnecting, waiting for a worker."""
        with contextlib.suppress(NotFound):
            session = await self.service.get_stream(org, camera_id)
            owned = self._owned.get((org, camera_id))
            return session, self.worker if owned is not None or not session.state.finished else ""
        stored = await self.store.get(org, camera_id)
        if stored is None:
            raise NotFound(f"camera {camera_id} not found: it has no stream and no pushed frames")
        return self._stored_view(stored)

    def _stored_view(self, stored: StoredStream) -> tuple[CameraSession, str]:
        if stored.state in _TERMINAL:
            return self.placeholder(stored, StreamState(stored.state), stored.detail), ""
        return self.placeholder(stored, StreamState.RECONNECTING, WAITING), ""

    async def streams(self, org: str) -> list[tuple[str, CameraSession | None, StoredStream | None]]:
        """Every camera of ``org`` this worker runs or the store holds: (camera, local session, stored)."""
        local = {s.camera_id: s for s in self.service.org_sessions(org)}
        stored: dict[str, StoredStream] = {}
        after = ""
        while True:
            page = await self.store.list_org(org, after=after, limit=500)
            stored.update((s.camera_id, s) for s in page)
            if len(page) < 500:
                break
            after = page[-1].camera_id
        return [(c, local.get(c), stored.get(c)) for c in sorted(set(local) | set(stored))]

    async def remote_holder(self, org: str, camera_id: str) -> Holder | None:
        """The other worker running the camera (None: it runs here, or nowhere)."""
        if (org, camera_id) in self._owned or self.service.camera_session(org, camera_id) is not None:
            return None
        holder = await self.leases.holder(org, camera_id)
        if holder is None or holder.worker == self.worker:
            return None
        return holder

    def placeholder(self, stored: StoredStream, state: StreamState, detail: str) -> CameraSession:
        """A session object that only describes a stored stream (nothing runs it here)."""
        try:
            request = stream_request(stored)
            lines, zones = LineSet(request.lines), request.zones
        except (InvalidArgument, KeyError, TypeError, ValueError):
            lines, zones = LineSet(), ()
        session = CameraSession(
            org=stored.org, camera_id=stored.camera_id, session_id=stored.run_id, source=stored.target,
            kind=stored.kind, lines=lines, zones=zones, engine=self.service.engine, publisher=None,  # type: ignore[arg-type]
            on_update=lambda update: None,
        )
        session.state, session.detail = state, detail
        return session

    # ---- ownership ----------------------------------------------------------------------------------

    def _adopt(self, key: tuple[str, str], lease: Lease, stored: StoredStream, session: CameraSession) -> None:
        owned = _Owned(lease, stored, frames=self.service.source_frames.get(key))
        self._owned[key] = owned
        session.before_publish = lambda frame_index: self._checkpoint(owned, frame_index)
        log.info("vision worker %s runs %s/%s (run %s)", self.worker, stored.org, stored.camera_id, stored.run_id)

    async def _checkpoint(self, owned: _Owned, frame_index: int) -> bool:
        """Before a frame's events are published: still ours? Then record the position (file streams)."""
        lease = owned.lease
        if owned.leaving or not self.leases.valid(lease):
            log.warning("%s/%s: lease not renewed in time; events of frame %d withheld", lease.org,
                        lease.camera_id, frame_index)
            return False
        if owned.stored.kind == "path":
            frames = owned.frames
            file_frame = frame_index % frames if frames and owned.stored.options.get("loop") else frame_index
            try:
                await self.leases.save_position(lease.org, lease.camera_id,
                                                Position(owned.stored.run_id, frame_index, file_frame))
            except Exception as exc:  # noqa: BLE001 - without the position a takeover could count twice
                log.warning("%s/%s: position not saved (%s); events of frame %d withheld", lease.org,
                            lease.camera_id, exc, frame_index)
                return False
        return True

    async def _give_up(self, key: tuple[str, str], reason: str, state: str) -> None:
        """Stop running a camera here; the stored stream stays, marked ``state``."""
        owned = self._owned.pop(key, None)
        if owned is None:
            return
        with contextlib.suppress(NotFound):
            await self.service.halt_stream(*key, reason)
        with contextlib.suppress(Exception):
            await self.store.set_state(*key, owned.stored.session_id, state, reason if state != UNOWNED else "", "")
        with contextlib.suppress(Exception):
            await self.leases.release(owned.lease)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        renewed = -math.inf
        while True:
            try:
                if loop.time() - renewed >= self.renew_s:
                    renewed = loop.time()
                    await self._renew()
                await self._sync_states()
                await self._claim()
            except asyncio.CancelledError:
                raise
            except Exception:  # PostgreSQL or NATS briefly away: next round
                log.exception("vision cluster round failed")
            await asyncio.sleep(min(self.poll_s, self.renew_s))

    async def _renew(self) -> None:
        for key, owned in list(self._owned.items()):
            try:
                ok = await self.leases.renew(owned.lease)
            except Exception as exc:  # noqa: BLE001 - unreachable: valid() runs out and publishing stops
                log.warning("renewing the lease of %s/%s failed: %s", *key, exc)
                ok = self.leases.valid(owned.lease)
            if not ok:
                log.warning("vision worker %s lost camera %s/%s to another worker", self.worker, *key)
                async with self._lock:
                    if self._owned.get(key) is owned:
                        self._owned.pop(key)
                        owned.leaving = True
                        with contextlib.suppress(NotFound):
                            await self.service.halt_stream(*key, "lease lost: another vision worker runs it")

    async def _sync_states(self) -> None:
        for key, owned in list(self._owned.items()):
            session = self.service.camera_session(*key)
            if session is None:  # ended by itself (end of file, max_frames, failed for good)
                state, detail = await self._ended_state(key)
                async with self._lock:
                    if self._owned.get(key) is not owned:
                        continue
                    self._owned.pop(key)
                    await self.store.set_state(*key, owned.stored.session_id, state, detail, self.worker)
                    await self.leases.release(owned.lease)
                continue
            now = (session.state.value, session.detail)
            if now != owned.written:
                await self.store.set_state(*key, owned.stored.session_id, *now, self.worker)
                owned.written = now

    async def _claim(self) -> None:
        for stored in await self.store.list_all():
            key = (stored.org, stored.camera_id)
            if key in self._owned or stored.state in _TERMINAL or (self.orgs is not None and stored.org not in self.orgs):
                continue
            if self.service.camera_session(*key) is not None:
                continue  # pushed frames or a run being set up here
            async with self._lock:
                if key in self._owned:
                    continue
                lease = await self.leases.acquire(stored.org, stored.camera_id, stored.session_id)
                if lease is None:
                    continue
                await self._resume(key, lease, stored)

    async def _resume(self, key: tuple[str, str], lease: Lease, stored: StoredStream) -> None:
        claimed = await self.store.claim_run(stored.org, stored.camera_id, self.worker, stored.session_id)
        if claimed is None:  # stopped or replaced meanwhile
            await self.leases.release(lease)
            return
        start_frame = 0
        if claimed.kind == "path":
            position = await self.leases.position(*key)
            if position is not None and position.run_id.startswith(claimed.session_id):
                start_frame = position.file_frame + 1
        try:
            request = stream_request(claimed)
            session = await self.service.run_stream(claimed.org, request, trusted=claimed.trusted,
                                                    start_frame=start_frame)
        except Exception as exc:  # noqa: BLE001 - e.g. the file left the media roots: failed, with the reason
            reason = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            log.warning("stored stream %s/%s not resumed: %s", *key, reason)
            await self.store.set_state(*key, claimed.session_id, StreamState.FAILED.value, reason, self.worker)
            await self.leases.release(lease)
            return
        lease.holder = Holder(self.worker, self.leases.address, claimed.session_id)
        self._adopt(key, lease, claimed, session)
        log.info("resumed %s/%s as run %s from frame %d", *key, claimed.run_id, start_frame)

    # ---- line edits ---------------------------------------------------------------------------------

    async def _on_config_changed(self, msg: Any) -> None:
        from footfall.v1 import events_pb2

        try:
            payload = events_pb2.CameraConfigChanged.FromString(msg.data)
            org = msg.subject.split(".")[-3]
        except Exception:  # noqa: BLE001
            log.warning("dropping an undecodable camera_config_changed on %s", msg.subject)
            return
        try:
            if await self.service.refresh_lines(org, payload.camera_id):
                log.info("camera %s/%s: lines re-read after an occupancy change", org, payload.camera_id)
        except Exception:  # the stream keeps its lines; the next change or restart re-reads them
            log.exception("re-reading the lines of %s/%s failed", org, payload.camera_id)
