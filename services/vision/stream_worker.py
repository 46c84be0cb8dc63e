"""The task that drives a camera session from its source.

A :class:`StreamWorker` reads frames through a :class:`~footfall.services.vision.frame_reader.FrameReader`
and feeds its :class:`~footfall.services.vision.camera_session.CameraSession`: pacing, frame-rate limit,
looping files, reconnect status, and the end of the stream.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from footfall.services.core.errors import Unavailable
from footfall.services.core.logging import bind_log_context
from footfall.services.core.metrics import FRAMES_DROPPED
from footfall.services.vision.camera_session import CameraSession, StreamState
from footfall.services.vision.engine import Analysis
from footfall.services.vision.frame_reader import FrameReader
from footfall.services.vision.sources import (
    Frame,
    FrameSource,
    LiveSource,
    SourceError,
    SourceStatus,
    VideoFileSource,
    open_live_capture,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StreamOptions:
    """How a worker reads its source.

    ``every_frame``: True reads every frame with back-pressure (the reader waits for the analysis, nothing is
    dropped: what a file needs for results identical to ``footfall process``); False keeps only the newest frame
    (a live camera: a slow analysis never builds up latency). None: True for files, False for live sources.
    ``time_origin``: seconds added to every frame's timestamp (a file's media time starts there).
    """

    max_fps: float = 0.0
    loop: bool = False
    realtime: bool = False
    max_frames: int = 0
    max_reconnect_attempts: int = 0
    every_frame: bool | None = None
    time_origin: float = 0.0


# Consecutive frames whose analysis fails before a stream is failed.
MAX_ERRORS_IN_A_ROW = 10

_SOURCE_STATES = {
    SourceStatus.CONNECTING: StreamState.CONNECTING,
    SourceStatus.CONNECTED: StreamState.CONNECTED,
    SourceStatus.RECONNECTING: StreamState.RECONNECTING,
    SourceStatus.FAILED: StreamState.FAILED,
}


class StreamWorker:
    """The task that reads a camera's source and feeds its session until stopped or the source ends."""

    def __init__(
        self,
        session: CameraSession,
        open_source: Callable[[Callable[[SourceStatus, str | None], None] | None], FrameSource],
        options: StreamOptions,
        first_source: FrameSource | None = None,
    ) -> None:
        self.session = session
        self._open_source = open_source
        self.options = options
        self._first_source = first_source
        self._task: asyncio.Task[None] | None = None
        self._reader: FrameReader | None = None
        self._stop_reason = ""
        self._stopping = asyncio.Event()
        self._errors_in_a_row = 0
        self._status_tasks: set[asyncio.Task[None]] = set()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"vision-stream:{self.session.key}")

    async def stop(self, reason: str = "stopped on request", timeout: float = 10.0) -> None:
        """Stop after the frame in analysis (its events are published); cancel after ``timeout``."""
        self._stop_reason = reason
        self._stopping.set()
        if self._reader is not None:
            self._reader.stop()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        except (asyncio.CancelledError, Exception) as exc:  # noqa: BLE001 - the task logged its own failure
            log.debug("stream %s ended with %r", self.session.key, exc)

    async def wait(self) -> None:
        if self._task is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.shield(self._task)

    # Called from the reader thread by LiveSource.
    def _status_callback(self, loop: asyncio.AbstractEventLoop) -> Callable[[SourceStatus, str | None], None]:
        def on_status(status: SourceStatus, detail: str | None) -> None:
            state = _SOURCE_STATES.get(status)
            if state is None:
                return

            async def update() -> None:
                # A source's news that arrives once a stop was asked for is moot: it must not overwrite the
                # STOPPED state the stop reports (the check and set_state's assignment run without a pause).
                if not self._stopping.is_set():
                    await self.session.set_state(state, detail or "")

            def apply() -> None:
                if status is SourceStatus.RECONNECTING:
                    self.session.reconnects += 1
                task = asyncio.ensure_future(update())
                self._status_tasks.add(task)
                task.add_done_callback(self._status_tasks.discard)

            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(apply)

        return on_status

    async def _run(self) -> None:
        session, opts = self.session, self.options
        bind_log_context(org=session.org, camera=session.camera_id)  # this task's log records name the camera
        loop = asyncio.get_running_loop()
        index_offset = 0
        time_offset = opts.time_origin
        last_index = -1
        last_ts: float | None = None
        last_analysed_ts: float | None = None
        pace_origin: tuple[float, float] | None = None  # (monotonic, stream ts) for realtime pacing
        min_gap = 1.0 / opts.max_fps if opts.max_fps > 0 else 0.0
        submitted = 0
        # Frames in the engine at once: one more than it detects concurrently (the oldest is tracked and applied
        # meanwhile), so one file or camera keeps every worker busy. A frame's result is applied when the next two
        # frames have arrived: a live camera's results come two frame intervals after capture (0.2 s at 10 fps);
        # with one frame fewer in flight they came one interval sooner, but 12 PETS cameras at 10 fps fell from
        # 10.0 to 8.7 fps each on the 2-core machine (bench/live_capacity.py).
        depth = max(1, getattr(session.engine, "workers", 1)) + 1
        in_flight: collections.deque[tuple[Frame, asyncio.Future[Analysis]]] = collections.deque()
        final_state, final_detail = StreamState.STOPPED, ""
        source = self._first_source
        try:
            while True:
                if source is None:
                    source = await asyncio.to_thread(self._open_source, self._status_callback(loop))
                is_live = isinstance(source, LiveSource)
                every_frame = (not is_live) if opts.every_frame is None else opts.every_frame
                fps = source.fps or 0.0
                self._reader = reader = FrameReader(
                    source, latest_only=not every_frame, maxsize=depth + 1, name=session.key
                )
                if self._stopping.is_set():
                    reader.stop()
                reader.start()
                source = None
                dropped_seen = 0
                while True:
                    try:
                        frame = await reader.get()
                    except SourceError as exc:
                        await self._drain(in_flight)
                        final_state, final_detail = StreamState.FAILED, str(exc)
                        return
                    if frame is None or self._stopping.is_set():
                        break
                    if reader.dropped > dropped_seen:
                        session.frames_skipped += reader.dropped - dropped_seen
                        FRAMES_DROPPED.labels(session.org, session.camera_id).inc(reader.dropped - dropped_seen)
                        dropped_seen = reader.dropped
                    index = frame.index + index_offset
                    ts = frame.timestamp + time_offset
                    if last_ts is not None and ts <= last_ts:
                        ts = last_ts + (1.0 / fps if fps else 1e-3)
                    last_index, last_ts = index, ts
                    if min_gap and last_analysed_ts is not None and ts - last_analysed_ts < min_gap - 1e-6:
                        session.frames_skipped += 1
                        continue
                    if opts.realtime and not is_live:
                        if pace_origin is None:
                            pace_origin = (time.monotonic(), ts)
                        delay = pace_origin[0] + (ts - pace_origin[1]) - time.monotonic()
                        if delay < -0.5:  # fell behind (slow analysis): re-anchor instead of bursting
                            pace_origin, delay = (time.monotonic(), ts), 0.0
                        if delay > 0:
                            with contextlib.suppress(TimeoutError):
                                await asyncio.wait_for(self._stopping.wait(), delay)
                            if self._stopping.is_set():
                                break
                    if session.state is not StreamState.CONNECTED:
                        await session.set_state(StreamState.CONNECTED, "")
                    shifted = Frame(frame.image, index, ts)
                    in_flight.append((shifted, await session.submit(shifted, streaming=True)))
                    last_analysed_ts = ts
                    submitted += 1
                    while len(in_flight) >= depth:
                        await self._complete_oldest(in_flight)
                    if opts.max_frames and submitted >= opts.max_frames:
                        await self._drain(in_flight)
                        final_detail = f"analysed {submitted} frames (max_frames)"
                        return
                await self._drain(in_flight)
                await reader.join()
                if self._stopping.is_set():
                    final_detail = self._stop_reason
                    return
                if is_live:
                    # A LiveSource ends only when closed (stop) or after reporting failure.
                    final_detail = self._stop_reason or "source closed"
                    return
                if not opts.loop:
                    final_detail = "end of video file"
                    return
                # Looping file: people do not teleport from the last frame to the first.
                await session.end_tracks()
                index_offset = last_index + 1
                time_offset = (last_ts or 0.0) + (1.0 / fps if fps else 0.1)
                pace_origin = None
        except asyncio.CancelledError:
            final_state, final_detail = StreamState.STOPPED, self._stop_reason or "stopped"
            raise
        except (SourceError, Unavailable) as exc:
            final_state, final_detail = StreamState.FAILED, str(exc)
        except Exception as exc:
            log.exception("stream %s failed", session.key)
            final_state, final_detail = StreamState.FAILED, f"analysis failed: {exc}"
        finally:
            for _, pending in in_flight:
                pending.cancel()
            await self._finish(final_state, final_detail)

    async def _complete_oldest(self, in_flight: collections.deque[tuple[Frame, asyncio.Future[Analysis]]]) -> None:
        """Apply the oldest frame in flight. One bad frame (a corrupt decode, a detector hiccup) skips that frame;
        a run of MAX_ERRORS_IN_A_ROW fails the stream with the reason."""
        frame, pending = in_flight.popleft()
        try:
            await self.session.complete(frame, pending)
            self._errors_in_a_row = 0
        except (Unavailable, asyncio.CancelledError):
            raise
        except Exception as exc:
            self._errors_in_a_row += 1
            if self._errors_in_a_row >= MAX_ERRORS_IN_A_ROW:
                raise
            log.warning("stream %s: frame %d skipped: %s", self.session.key, frame.index, exc)
            self.session.frames_skipped += 1

    async def _drain(self, in_flight: collections.deque[tuple[Frame, asyncio.Future[Analysis]]]) -> None:
        while in_flight:
            await self._complete_oldest(in_flight)

    async def _finish(self, state: StreamState, detail: str) -> None:
        session = self.session
        if self._reader is not None:
            self._reader.stop()
            await self._reader.join(1.0)
        for task in list(self._status_tasks):
            with contextlib.suppress(Exception):
                await task
        try:
            await session.close()
        except Exception:
            log.exception("closing stream %s failed", session.key)
        if session.state is StreamState.FAILED and state is StreamState.STOPPED and not self._stop_reason:
            state, detail = StreamState.FAILED, session.detail
        await session.set_state(state, detail)
        # A local run (no publisher: `footfall process`) reports through its own output instead.
        log.log(logging.INFO if session.publisher is not None else logging.DEBUG,
                "stream %s/%s %s%s", session.org, session.camera_id, state.value, f": {detail}" if detail else "")


def open_stream_source(
    kind: str, target: str | int, *, max_reconnect_attempts: int = 0,
    recheck: Callable[[str], None] | None = None,
) -> Callable[[Callable[[SourceStatus, str | None], None] | None], FrameSource]:
    """A function that opens the source (in a thread) with a status callback for live sources.

    `recheck(url)` runs before every connection attempt of a URL source and raises when the target is no
    longer allowed: a camera host name that resolves elsewhere after a reconnect is refused again.
    """

    def connect(url: str | int, timeout_s: float):  # type: ignore[no-untyped-def]
        if recheck is not None and isinstance(url, str):
            recheck(url)
        return open_live_capture(url, timeout_s)

    def opener(on_status: Callable[[SourceStatus, str | None], None] | None) -> FrameSource:
        if kind == "path":
            return VideoFileSource(str(target))
        return LiveSource(
            int(target) if kind == "device" else str(target), on_status=on_status,
            max_attempts=max_reconnect_attempts or None, opener=connect,
        )

    return opener
