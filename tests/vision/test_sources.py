"""Frame sources: files (valid, malformed), pushed frames, and live reconnection with back-off."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from footfall.services.vision.sources import (
    LiveSource,
    PushedFrameSource,
    SourceError,
    SourceStatus,
    VideoFileSource,
    open_source,
)
from tests.vision.helpers import require_data


@pytest.fixture(scope="module")
def small_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 12-frame 64x48 MJPG video written with OpenCV."""
    path = tmp_path_factory.mktemp("video") / "small.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 5.0, (64, 48))
    assert writer.isOpened()
    for i in range(12):
        frame = np.full((48, 64, 3), i * 20, np.uint8)
        writer.write(frame)
    writer.release()
    return path


def test_video_file_frames_and_timestamps(small_video: Path) -> None:
    source = VideoFileSource(small_video)
    assert source.fps == pytest.approx(5.0)
    assert source.frame_size == (64, 48)
    frames = list(source)
    assert [f.index for f in frames] == list(range(12))
    assert frames[5].timestamp == pytest.approx(1.0)
    assert frames[0].image.shape == (48, 64, 3) and frames[0].image.dtype == np.uint8


def test_video_file_iterates_once(small_video: Path) -> None:
    source = VideoFileSource(small_video)
    list(source)
    with pytest.raises(SourceError):
        list(source)


def test_missing_file_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="not found"):
        VideoFileSource(tmp_path / "nope.mp4")


def test_empty_file_is_a_source_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(SourceError, match="empty"):
        VideoFileSource(empty)


def test_garbage_file_is_a_source_error(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.avi"
    garbage.write_bytes(np.random.default_rng(0).integers(0, 256, 50_000, dtype=np.uint8).tobytes())
    with pytest.raises(SourceError, match="cannot"):
        VideoFileSource(garbage)


def test_text_file_named_like_a_video_is_a_source_error(tmp_path: Path) -> None:
    fake = tmp_path / "notes.mp4"
    fake.write_text("this is not a video\n" * 100)
    with pytest.raises(SourceError):
        VideoFileSource(fake)


def test_truncated_video_is_a_source_error(tmp_path: Path, small_video: Path) -> None:
    head = tmp_path / "head.avi"
    head.write_bytes(small_video.read_bytes()[:200])  # the header only, no frame data
    with pytest.raises(SourceError):
        VideoFileSource(head)


def test_open_source_dispatch(small_video: Path) -> None:
    assert isinstance(open_source(str(small_video)), VideoFileSource)
    assert isinstance(open_source("rtsp://camera.local/stream"), LiveSource)
    assert isinstance(open_source("HTTP://camera.local/video.mjpg"), LiveSource)
    assert isinstance(open_source("0"), LiveSource)
    assert open_source(2).target == 2  # type: ignore[attr-defined]


def test_pushed_frames_arrays_and_encoded_bytes() -> None:
    source = PushedFrameSource(maxsize=4)
    image = np.zeros((10, 12, 3), np.uint8)
    ok, jpeg = cv2.imencode(".jpg", np.full((20, 30, 3), 128, np.uint8))
    assert ok
    source.push(image, timestamp=1.0)
    source.push(jpeg.tobytes(), timestamp=2.0)
    source.close()
    frames = list(source)
    assert [(f.index, f.timestamp, f.size) for f in frames] == [(0, 1.0, (12, 10)), (1, 2.0, (30, 20))]


def test_pushed_frames_drop_oldest_when_full() -> None:
    source = PushedFrameSource(maxsize=2)
    for i in range(5):
        source.push(np.zeros((4, 4, 3), np.uint8), timestamp=float(i))
    source.close()
    assert [f.index for f in source] == [3, 4]
    assert source.dropped == 3


def test_pushed_frames_reject_bad_input_and_closed_source() -> None:
    source = PushedFrameSource()
    with pytest.raises(SourceError, match="format not supported"):
        source.push(b"not an image")
    with pytest.raises(SourceError, match="uint8"):
        source.push(np.zeros((4, 4), np.float32))  # type: ignore[arg-type]
    source.close()
    with pytest.raises(SourceError, match="closed"):
        source.push(np.zeros((4, 4, 3), np.uint8))


def test_pushed_frames_consumer_in_another_thread() -> None:
    source = PushedFrameSource(maxsize=16)
    got: list[int] = []
    consumer = threading.Thread(target=lambda: got.extend(f.index for f in source))
    consumer.start()
    for _ in range(10):
        source.push(np.zeros((4, 4, 3), np.uint8))
    source.close()
    consumer.join(timeout=5)
    assert got == list(range(10))


class FakeCapture:
    """Delivers ``frames`` frames, then reports a drop; ``opened=False`` fails to open."""

    def __init__(self, frames: int, opened: bool = True) -> None:
        self.left = frames
        self.opened = opened

    def isOpened(self) -> bool:
        return self.opened

    def read(self) -> tuple[bool, Any]:
        if self.left <= 0:
            return False, None
        self.left -= 1
        return True, np.zeros((4, 4, 3), np.uint8)

    def get(self, prop_id: int) -> float:
        return 0.0

    def release(self) -> None:
        pass


def scripted_opener(script: list[FakeCapture | Exception]) -> Any:
    calls = iter(script)

    def opener(target: str | int, timeout: float) -> FakeCapture:
        item = next(calls)
        if isinstance(item, Exception):
            raise item
        return item

    return opener


def test_live_source_reconnects_with_exponential_backoff_and_reports_status() -> None:
    statuses: list[tuple[SourceStatus, str | None]] = []
    waits: list[float] = []
    script = [
        FakeCapture(0, opened=False),
        OSError("connection refused"),
        FakeCapture(3),
        FakeCapture(2),
        FakeCapture(0, opened=False),
        OSError("refused"),
        OSError("refused"),
    ]
    source = LiveSource(
        "rtsp://cam/1",
        on_status=lambda s, d: statuses.append((s, d)),
        initial_backoff=0.01,
        max_backoff=0.03,
        max_attempts=4,
        opener=scripted_opener(script),
    )
    original_wait = source._closed.wait
    source._closed.wait = lambda t: (waits.append(t), original_wait(0))[1]  # type: ignore[method-assign]
    frames = []
    with pytest.raises(SourceError, match="failed"):
        for frame in source:
            frames.append(frame.index)
    assert frames == [0, 1, 2, 3, 4]  # indices continue across reconnections
    kinds = [s for s, _ in statuses]
    assert kinds[0] is SourceStatus.CONNECTING
    assert kinds.count(SourceStatus.CONNECTED) == 2
    assert kinds[-1] is SourceStatus.FAILED
    assert kinds.count(SourceStatus.RECONNECTING) == 6
    # Doubling from 0.01 capped at 0.03; a connection that delivered frames resets the back-off.
    assert waits == pytest.approx([0.01, 0.02, 0.01, 0.01, 0.02, 0.03])
    assert source.backoff_delay(10) == pytest.approx(0.03)


def test_live_source_close_stops_iteration() -> None:
    source = LiveSource(0, initial_backoff=0.01, opener=lambda t, s: FakeCapture(10**9))
    seen = 0
    for _ in source:
        seen += 1
        if seen == 5:
            source.close()
    assert seen == 5
    assert source.status is SourceStatus.CLOSED


@pytest.fixture()
def http_video() -> Iterator[str]:
    root = require_data("video/pets2009_s2l1_480x360.avi") / "video"
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a, **k: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/pets2009_s2l1_480x360.avi"
    server.shutdown()
    server.server_close()


@pytest.mark.data
def test_live_http_stream_reads_frames_then_fails_when_the_server_is_gone(http_video: str) -> None:
    statuses: list[SourceStatus] = []
    source = LiveSource(
        http_video,
        on_status=lambda s, d: statuses.append(s),
        initial_backoff=0.01,
        max_attempts=2,
        timeout_s=2.0,
    )
    count = 0
    for frame in source:
        count += 1
        assert frame.size == (480, 360)
        if count == 20:
            source.close()
    assert count == 20
    assert statuses[:2] == [SourceStatus.CONNECTING, SourceStatus.CONNECTED]

    dead = LiveSource(
        "http://127.0.0.1:9/none.avi",
        on_status=lambda s, d: statuses.append(s),
        initial_backoff=0.01,
        max_attempts=2,
        timeout_s=1.0,
    )
    with pytest.raises(SourceError):
        list(dead)
    assert statuses[-1] is SourceStatus.FAILED
