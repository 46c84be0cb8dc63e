"""Reading a frame source in its own thread, handing frames to the event loop.

Files are read frame by frame with back-pressure (every frame is analysed unless a frame-rate limit skips
it); live sources keep only the newest frame, so a slow analysis never builds up latency
(:attr:`~footfall.services.vision.stream_worker.StreamOptions.every_frame` says which, explicitly).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import threading

from footfall.services.vision.sources import Frame, FrameSource, LiveSource


class FrameReader:
    """Iterates a source in a daemon thread; :meth:`get` hands frames to the event loop.

    ``latest_only`` (live sources): keep only the newest frame, counting the ones replaced in
    :attr:`dropped`. Otherwise (files) the thread waits while ``maxsize`` frames are queued.
    """

    def __init__(self, source: FrameSource, *, latest_only: bool, maxsize: int = 2, name: str = "frames") -> None:
        self.source = source
        self.latest_only = latest_only
        self.maxsize = 1 if latest_only else max(1, maxsize)
        self.dropped = 0
        self.error: BaseException | None = None
        self._buf: collections.deque[Frame] = collections.deque()
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._done = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = asyncio.Event()
        self._thread = threading.Thread(target=self._run, name=f"reader:{name}", daemon=True)

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._thread.start()

    def _wake(self) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._ready.set)

    def _run(self) -> None:
        iterator = iter(self.source)
        try:
            for frame in iterator:
                with self._cond:
                    if self._stop.is_set():
                        break
                    if self.latest_only:
                        if self._buf:
                            self._buf.clear()
                            self.dropped += 1
                    else:
                        while len(self._buf) >= self.maxsize and not self._stop.is_set():
                            self._cond.wait(0.2)
                        if self._stop.is_set():
                            break
                    self._buf.append(frame)
                self._wake()
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            self.error = exc
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    close()
            with contextlib.suppress(Exception):
                self.source.close()
            with self._cond:
                self._done = True
            self._wake()

    async def get(self) -> Frame | None:
        """The next frame; None at the end of the source or once stopped. Raises the source's error."""
        while True:
            self._ready.clear()
            if self._stop.is_set():
                return None
            with self._cond:
                if self._buf:
                    frame = self._buf.popleft()
                    self._cond.notify_all()
                    return frame
                if self._done:
                    if self.error is not None:
                        raise self.error
                    return None
            await self._ready.wait()

    def stop(self) -> None:
        """Ask the thread to finish (live sources are closed at once; files after the current frame)."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if isinstance(self.source, LiveSource):
            self.source.close()
        self._ready.set()

    async def join(self, timeout: float = 2.0) -> None:
        if self._thread.is_alive():
            await asyncio.to_thread(self._thread.join, timeout)
