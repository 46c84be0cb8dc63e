"""Pixel counts from image headers, before decoding: real encoded images, and headers that claim 16000x16000."""

from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np
import pytest

from footfall.services.core.errors import InvalidArgument, TooLarge
from footfall.services.vision.image_limits import DEFAULT_MAX_PIXELS, check_image, image_size
from footfall.services.vision.sources import PushedFrameSource, SourceError


def encoded(ext: str, width: int = 37, height: int = 23, params: list[int] | None = None) -> bytes:
    image = np.random.default_rng(1).integers(0, 255, (height, width, 3), dtype=np.uint8)
    ok, buf = cv2.imencode(ext, image, params or [])
    assert ok
    return buf.tobytes()


def png_claiming(width: int, height: int) -> bytes:
    """A valid small PNG whose IHDR (CRC fixed) claims another size: what a decompression bomb looks like."""
    data = bytearray(encoded(".png", 4, 4))
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def jpeg_claiming(width: int, height: int) -> bytes:
    data = bytearray(encoded(".jpg", 8, 8))
    sof = next(i for i in range(2, len(data) - 1) if data[i] == 0xFF and data[i + 1] in (0xC0, 0xC2))
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


@pytest.mark.parametrize("ext,params", [
    (".png", []), (".jpg", []), (".jpg", [cv2.IMWRITE_JPEG_PROGRESSIVE, 1]), (".bmp", []),
    (".webp", [cv2.IMWRITE_WEBP_QUALITY, 80]), (".webp", [cv2.IMWRITE_WEBP_QUALITY, 101]),  # lossy, lossless
])
def test_sizes_of_real_images(ext: str, params: list[int]) -> None:
    data = encoded(ext, 37, 23, params)
    assert image_size(data) == (37, 23)
    assert check_image(data) == (37, 23)


def test_a_16000_square_png_is_too_large_before_decoding() -> None:
    bomb = png_claiming(16000, 16000)
    assert len(bomb) < 200 and image_size(bomb) == (16000, 16000)
    with pytest.raises(TooLarge, match="16000x16000 = 256,000,000 pixels; the limit is 40,000,000"):
        check_image(bomb, DEFAULT_MAX_PIXELS)
    with pytest.raises(TooLarge):
        check_image(jpeg_claiming(16000, 16000))
    assert check_image(png_claiming(4000, 3000)) == (4000, 3000)  # 12 MP: within the default
    with pytest.raises(TooLarge):
        check_image(png_claiming(4000, 3000), max_pixels=1_000_000)


@pytest.mark.parametrize("data", [
    b"GIF89a\x01\x00\x01\x00", b"II*\x00\x08\x00\x00\x00", b"not an image at all", b"",
    b"\xff\xd8\xff\xe0" + b"\x00" * 64,  # JPEG with a broken segment
    b"\x89PNG\r\n\x1a\n\x00\x00",  # truncated PNG
    png_claiming(0, 10),
])
def test_unknown_or_broken_headers_are_refused(data: bytes) -> None:
    with pytest.raises(InvalidArgument):
        check_image(data)


def test_pushed_frames_are_checked_too() -> None:
    source = PushedFrameSource(max_image_pixels=1_000_000)
    assert source.push(encoded(".jpg", 64, 48)) == 0
    with pytest.raises(SourceError, match="pixels"):
        source.push(png_claiming(16000, 16000))
    source.close()
