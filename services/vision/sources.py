"""Frame sources: video files, live streams (RTSP/HTTP/...), local cameras, and frames pushed by clients.

Every source yields :class:`Frame` objects (BGR ``uint8`` image, 0-based index, timestamp in
seconds) and is closed with :meth:`FrameSource.close` (or a ``with`` block).

* :class:`VideoFileSource` checks the file when it is opened and raises :class:`SourceError`
  with the reason when it is missing, not a video, or has no decodable frame. Timestamps are
  media time (``index / fps``).
* :class:`LiveSource` (stream URL or camera index) reconnects when the stream drops or cannot be
  opened, waiting ``initial_backoff`` seconds and doubling up to ``max_backoff``; it reports
  ``connecting``/``connected``/``reconnecting``/``failed``/``closed`` through ``on_status``. After
  ``max_attempts`` consecutive failed attempts it reports ``failed`` and raises
  :class:`SourceError`. Timestamps are wall-clock (``time.time()``) at capture.
* :class:`PushedFrameSource` is a bounded queue that clients push frames (arrays or encoded
  JPEG/PNG bytes) into; when the consumer is slower the oldest frames are dropped, so a live
  client never builds up latency. Encoded bytes are checked for their pixel count from the header
  before they are decoded (:mod:`footfall.services.vision.image_limits`).

Which files and URLs a *caller* may stream is decided before a source is opened, by
:mod:`footfall.services.vision.source_policy`; the classes here open what they are given.

:func:`open_source` picks the right class from a string: a number is a camera index, a URL with
a scheme (``rtsp://``, ``http://`` ...) is a stream, anything else is a file path.
"""

from __future__ import annotations

import logging
import math
import os
import queue
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self

import numpy as np

from footfall.services.core.errors import FootfallError
from footfall.services.vision.image_limits import DEFAULT_MAX_PIXELS, check_image

log = logging.getLogger(__name__)

STREAM_SCHEMES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://", "srt://")


class SourceError(RuntimeError):
    """A source cannot deliver frames (missing file, not a video, stream failed for good)."""


class SourceStatus(str, Enum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    FAILED = "failed"
    CLOSED = "closed"


StatusCallback = Callable[[SourceStatus, str | None], None]


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded frame: BGR ``uint8`` image (H, W, 3), 0-based index, timestamp in seconds."""

    image: np.ndarray
    index: int
    timestamp: float

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return (int(self.image.shape[1]), int(self.image.shape[0]))


class FrameSource(ABC):
    """Iterable of :class:`Frame`; close it when done."""

    fps: float | None = None

    @abstractmethod
    def __iter__(self) -> Iterator[Frame]: ...

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class Capture(Protocol):
    """The part of ``cv2.VideoCapture`` the sources use (lets tests inject fakes)."""

    def isOpened(self) -> bool: ...
    def read(self) -> tuple[bool, Any]: ...
    def get(self, prop_id: int) -> float: ...
    def release(self) -> None: ...


def _cv2() -> Any:
    import cv2

    return cv2


class VideoFileSource(FrameSource):
    """Frames of a video file, decoded in order; validates the file on construction.

    ``start_frame``: begin there (a stream resumed by another worker); indices and timestamps stay the file's.
    """

    def __init__(self, path: str | os.PathLike[str], *, default_fps: float = 25.0, start_frame: int = 0) -> None:
        cv2 = _cv2()
        self.path = Path(path)
        if not self.path.is_file():
            raise SourceError(f"video file not found: {self.path}")
        if self.path.stat().st_size == 0:
            raise SourceError(f"video file is empty: {self.path}")
        cap = cv2.VideoCapture(str(self.path), cv2.CAP_FFMPEG)
        if not cap.isOpened():
            cap.release()
            raise SourceError(f"cannot open {self.path}: not a video file or an unsupported format")
        ok, first = cap.read()
        if not ok or first is None or first.size == 0:
            cap.release()
            raise SourceError(f"cannot decode any frame of {self.path}: the file is corrupt or truncated")
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = fps if math.isfinite(fps) and 0.5 < fps < 1000 else default_fps
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self.frame_count: int | None = count if count > 0 else None
        self.frame_size = (int(first.shape[1]), int(first.shape[0]))
        self.start_frame = 0
        # Decoded, not seeked: seeking lands on key frames in many formats, and the index must be exact.
        while self.start_frame < start_frame:
            ok, image = cap.read()
            if not ok or image is None:
                break
            first = image
            self.start_frame += 1
        self._cap: Capture | None = cap
        self._first: np.ndarray | None = first
        self._used = False

    def __iter__(self) -> Iterator[Frame]:
        if self._used:
            raise SourceError("a VideoFileSource can be iterated once; open the file again")
        self._used = True
        cap, first, self._first = self._cap, self._first, None
        if cap is None or first is None:
            return
        fps = self.fps or 25.0
        yield Frame(first, self.start_frame, self.start_frame / fps)
        index = self.start_frame + 1
        try:
            while self._cap is not None:
                ok, image = cap.read()
                if not ok or image is None:
                    break
                yield Frame(image, index, index / fps)
                index += 1
        finally:
            self.close()

    def close(self) -> None:
        cap, self._cap = self._cap, None
        if cap is not None:
            cap.release()


def _open_live(target: str | int, timeout_s: float) -> Capture:
    cv2 = _cv2()
    ms = int(timeout_s * 1000)
    params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms]
    if isinstance(target, int):
        return cv2.VideoCapture(target)
    return cv2.VideoCapture(target, cv2.CAP_FFMPEG, params)


class LiveSource(FrameSource):
    """A camera or stream that may drop: reconnects with exponential back-off and reports status.

    Args:
        target: Stream URL (``rtsp://``, ``http://`` ...) or local camera index.
        on_status: Called as ``on_status(status, detail)`` on every status change.
        initial_backoff / max_backoff: First wait after a failure and its cap, in seconds; each
            consecutive failure doubles the wait. A connection that delivers frames resets it.
        max_attempts: Consecutive failed connection attempts before giving up (``None``: never).
        timeout_s: Open and read timeout handed to the FFmpeg backend.
        opener: Opens a capture for ``target`` (tests inject fakes); default OpenCV.
        clock: Timestamp source for frames (default ``time.time``).
    """

    def __init__(
        self,
        target: str | int,
        *,
        on_status: StatusCallback | None = None,
        initial_backoff: float = 0.5,
        max_backoff: float = 30.0,
        max_attempts: int | None = None,
        timeout_s: float = 10.0,
        opener: Callable[[str | int, float], Capture] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if initial_backoff <= 0 or max_backoff < initial_backoff:
            raise ValueError("need 0 < initial_backoff <= max_backoff")
        if max_attempts is not None and max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        self.target = target
        self._on_status = on_status
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.max_attempts = max_attempts
        self.timeout_s = timeout_s
        self._opener = opener or _open_live
        self._clock = clock
        self._closed = threading.Event()
        self.status: SourceStatus | None = None
        self.reconnects = 0

    def _set_status(self, status: SourceStatus, detail: str | None = None) -> None:
        if status is self.status and detail is None:
            return
        self.status = status
        log.info("source %s: %s%s", self.target, status.value, f" ({detail})" if detail else "")
        if self._on_status is not None:
            try:
                self._on_status(status, detail)
            except Exception:  # a broken callback must not kill the capture loop
                log.exception("status callback failed")

    def backoff_delay(self, failures: int) -> float:
        """Seconds to wait after ``failures`` consecutive failures (1, 2, ...)."""
        return min(self.max_backoff, self.initial_backoff * (2.0 ** max(0, failures - 1)))

    def __iter__(self) -> Iterator[Frame]:
        failures = 0
        index = 0
        self._set_status(SourceStatus.CONNECTING)
        while not self._closed.is_set():
            cap: Capture | None = None
            try:
                cap = self._opener(self.target, self.timeout_s)
                if not cap.isOpened():
                    raise OSError("cannot open stream")
                got_frame = False
                while not self._closed.is_set():
                    ok, image = cap.read()
                    if not ok or image is None:
                        break
                    if not got_frame:
                        got_frame = True
                        failures = 0
                        self._set_status(SourceStatus.CONNECTED)
                    yield Frame(image, index, float(self._clock()))
                    index += 1
                reason = "stream ended or dropped" if got_frame else "no frames"
            except Exception as exc:  # noqa: BLE001  (cv2.error, OSError...: retried like a drop)
                reason = str(exc) or type(exc).__name__
            finally:
                if cap is not None:
                    cap.release()
            if self._closed.is_set():
                break
            failures += 1
            if self.max_attempts is not None and failures >= self.max_attempts:
                self._set_status(SourceStatus.FAILED, f"{reason}; gave up after {failures} attempts")
                raise SourceError(f"stream {self.target!r} failed: {reason} ({failures} attempts)")
            delay = self.backoff_delay(failures)
            self.reconnects += 1
            self._set_status(SourceStatus.RECONNECTING, f"{reason}; retry in {delay:.1f}s")
            if self._closed.wait(delay):
                break
        self._set_status(SourceStatus.CLOSED)

    def close(self) -> None:
        """Stop the source; an iteration in progress ends after its current read."""
        self._closed.set()


def open_live_capture(target: str | int, timeout_s: float) -> Capture:
    """Open a live stream or camera the way `LiveSource` does by default (for openers that check first)."""
    return _open_live(target, timeout_s)


_END = object()


class PushedFrameSource(FrameSource):
    """Frames pushed by a client (e.g. over a websocket or gRPC stream) into a bounded queue.

    :meth:`push` never blocks: when ``maxsize`` frames are waiting, the oldest is dropped and
    counted in :attr:`dropped`. Iteration blocks for the next frame and ends after :meth:`close`
    once the queue is drained.
    """

    def __init__(
        self, maxsize: int = 8, *, clock: Callable[[], float] = time.time, max_image_pixels: int = DEFAULT_MAX_PIXELS
    ) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be >= 1")
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=maxsize + 1)  # +1 keeps room for the end marker
        self._maxsize = maxsize
        self._lock = threading.Lock()
        self._closed = False
        self._clock = clock
        self._next_index = 0
        self.max_image_pixels = max_image_pixels
        self.dropped = 0

    def push(self, image: np.ndarray | bytes, timestamp: float | None = None) -> int:
        """Queue one frame (BGR array, or encoded image bytes); returns its index.

        Raises:
            SourceError: The source is closed, or the bytes are not a decodable image (or have more
                than ``max_image_pixels`` pixels), or the array is not an (H, W, 3) ``uint8`` image.
        """
        frame_image = _as_bgr(image, self.max_image_pixels)
        with self._lock:
            if self._closed:
                raise SourceError("pushed-frame source is closed")
            index = self._next_index
            self._next_index += 1
            ts = float(self._clock()) if timestamp is None else float(timestamp)
            while self._queue.qsize() >= self._maxsize:
                try:
                    self._queue.get_nowait()
                    self.dropped += 1
                except queue.Empty:
                    break
            self._queue.put_nowait(Frame(frame_image, index, ts))
        return index

    def __iter__(self) -> Iterator[Frame]:
        while True:
            item = self._queue.get()
            if item is _END:
                return
            yield item

    def close(self) -> None:
        """No more frames: iteration ends once the frames already queued are consumed."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put_nowait(_END)


def _as_bgr(image: np.ndarray | bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    if isinstance(image, (bytes, bytearray, memoryview)):
        try:
            check_image(image, max_pixels)
        except FootfallError as err:
            raise SourceError(str(err)) from None
        cv2 = _cv2()
        decoded = cv2.imdecode(np.frombuffer(image, dtype=np.uint8), cv2.IMREAD_COLOR)
        if decoded is None:
            raise SourceError("pushed bytes are not a decodable image")
        return decoded
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise SourceError("pushed frames must be (H, W, 3) uint8 BGR arrays or encoded image bytes")
    return image


def open_source(spec: str | int, **live_options: Any) -> FrameSource:
    """Open a source from a CLI/config string: camera index, stream URL or video file path.

    ``live_options`` go to :class:`LiveSource` (ignored for files).
    """
    if isinstance(spec, int) or (isinstance(spec, str) and spec.strip().isdigit()):
        return LiveSource(int(spec), **live_options)
    if spec.lower().startswith(STREAM_SCHEMES):
        return LiveSource(spec, **live_options)
    return VideoFileSource(spec)
