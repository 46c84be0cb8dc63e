"""Which files and URLs a caller may stream (services/vision/source_policy.py), down to VisionService.start_stream."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from footfall.services.core.config import Settings
from footfall.services.core.errors import InvalidArgument, PermissionDenied, TooLarge
from footfall.services.core.events import EventBus
from footfall.services.vision.service import VisionService
from footfall.services.vision.stream_requests import StreamRequest
from footfall.services.vision.source_policy import NOT_AVAILABLE, SourcePolicy
from tests.security.test_image_limits import png_claiming


@pytest.fixture
def media(tmp_path: Path) -> tuple[Path, SourcePolicy]:
    root = tmp_path / "media"
    (root / "store1").mkdir(parents=True)
    (root / "store1" / "door.mp4").write_bytes(b"not really a video")
    (tmp_path / "secret.mp4").write_bytes(b"outside")
    os.symlink(tmp_path / "secret.mp4", root / "escape.mp4")
    os.symlink(tmp_path, root / "up")
    return root, SourcePolicy.from_settings(Settings(data_dir=tmp_path))  # default root: data_dir/media


def test_files_only_under_the_media_roots(media: tuple[Path, SourcePolicy]) -> None:
    root, policy = media
    inside = root / "store1" / "door.mp4"
    assert policy.media_file(str(inside)) == inside.resolve()
    assert policy.media_file("store1/door.mp4") == inside.resolve()  # relative: under a root
    outside = [str(root.parent / "secret.mp4"), str(root / ".." / "secret.mp4"), "../secret.mp4",
               str(root / "escape.mp4"), str(root / "up" / "secret.mp4"), "/etc/passwd", str(root / "store1")]
    missing = [str(root / "store1" / "nope.mp4"), str(root.parent / "nope.mp4"), "nope.mp4"]
    for path in outside + missing:
        with pytest.raises(InvalidArgument) as err:
            policy.media_file(path)
        assert str(err.value) == NOT_AVAILABLE.format(path=path)  # one message: no existence oracle


async def test_urls(media: tuple[Path, SourcePolicy]) -> None:
    _, policy = media
    assert await policy.stream_url("rtsp://10.0.0.5:554/stream1") == "rtsp://10.0.0.5:554/stream1"
    assert await policy.stream_url("https://8.8.8.8/live.m3u8")
    for url in ("rtsp://127.0.0.1:8554/x", "http://localhost:9000/", "http://169.254.169.254/latest/meta-data/",
                "http://[::1]/", "rtsp://0.0.0.0/", "http://[fe80::1]/"):
        with pytest.raises(PermissionDenied) as err:
            await policy.stream_url(url)
        assert "127.0.0.1" not in str(err.value) and "169.254" not in str(err.value)
    for url in ("ftp://8.8.8.8/x", "file:///etc/passwd", "udp://8.8.8.8:1234", "http://8.8.8.8#@127.0.0.1/",
                "http://a@b@127.0.0.1/", "http://8.8.8.8\\@127.0.0.1/", "rtsp:///nohost", "http://8.8.8.8:99999/",
                "rtsp://no-such-host.invalid/x"):
        with pytest.raises(InvalidArgument):
            await policy.stream_url(url)
    narrowed = SourcePolicy.from_settings(Settings(camera_networks=["192.168.1.0/24"]))
    assert await narrowed.stream_url("rtsp://192.168.1.20/cam")
    assert await narrowed.stream_url("rtsp://8.8.8.8/cam")
    with pytest.raises(PermissionDenied):
        await narrowed.stream_url("rtsp://10.0.0.5/cam")
    only_rtsp = SourcePolicy.from_settings(Settings(stream_url_schemes=["rtsp"]))
    with pytest.raises(InvalidArgument, match="rtsp://"):
        await only_rtsp.stream_url("http://8.8.8.8/x")


async def test_the_service_applies_them(event_bus: EventBus, media: tuple[Path, SourcePolicy]) -> None:
    root, policy = media
    service = VisionService(event_bus, lambda: None, sources=policy, max_image_pixels=1_000_000)
    secret = str(root.parent / "secret.mp4")
    with pytest.raises(InvalidArgument) as outside:
        await service.start_stream("org1", StreamRequest("cam", "path", secret))
    with pytest.raises(InvalidArgument) as missing:
        await service.start_stream("org1", StreamRequest("cam", "path", secret + ".gone"))
    assert str(outside.value) == NOT_AVAILABLE.format(path=secret)
    assert str(missing.value) == NOT_AVAILABLE.format(path=secret + ".gone")
    with pytest.raises(InvalidArgument, match="cannot open"):  # inside the roots the real reason is given
        await service.start_stream("org1", StreamRequest("cam", "path", "store1/door.mp4"))
    with pytest.raises(PermissionDenied):
        await service.start_stream("org1", StreamRequest("cam", "url", "http://169.254.169.254/latest/meta-data/"))
    with pytest.raises(TooLarge, match="16000x16000"):
        await service.process_frame("org1", "cam", png_claiming(16000, 16000))
    with pytest.raises(InvalidArgument, match="not a decodable image"):
        await service.process_frame("org1", "cam", b"GIF89a....")
    default = VisionService(event_bus, lambda: None)  # without a policy: no files at all
    with pytest.raises(InvalidArgument, match="not found under the media folders"):
        await default.start_stream("org1", StreamRequest("cam", "path", str(root / "store1" / "door.mp4")))


def test_url_sources_are_checked_again_before_every_connection() -> None:
    """A camera host that resolves somewhere forbidden after a drop is refused on the reconnect too."""
    from footfall.services.core.errors import PermissionDenied
    from footfall.services.vision.sources import SourceError
    from footfall.services.vision.stream_worker import open_stream_source

    checked: list[str] = []

    def recheck(url: str) -> None:
        checked.append(url)
        raise PermissionDenied("stream url refused: its host is not an allowed address")

    source = open_stream_source("url", "rtsp://camera.example/stream", max_reconnect_attempts=2, recheck=recheck)(None)
    with pytest.raises(SourceError, match="not an allowed address"):
        list(source)
    assert checked == ["rtsp://camera.example/stream"] * 2
