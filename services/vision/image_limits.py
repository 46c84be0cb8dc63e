"""Image dimensions from the header, so a client's image is refused before it is decoded.

A 770 KB PNG can claim 16000x16000 pixels and cost 0.8 GB once decoded; the header says so in its first
bytes. :func:`check_image` reads width and height from the header of the formats the vision service
accepts (PNG, JPEG, WebP, BMP) without decoding, and refuses other formats outright, so a format whose
header we do not read can never reach the decoder.
"""

from __future__ import annotations

import struct

from footfall.services.core.errors import InvalidArgument, TooLarge

DEFAULT_MAX_PIXELS = 40_000_000
UNSUPPORTED = "image format not supported: send JPEG, PNG, WebP or BMP bytes"
MALFORMED = "image header is malformed: send JPEG, PNG, WebP or BMP bytes"

_PNG = b"\x89PNG\r\n\x1a\n"
# JPEG start-of-frame markers (baseline, extended, progressive, lossless, hierarchical, arithmetic);
# 0xC4 (DHT), 0xC8 (JPG) and 0xCC (DAC) share the range but are not frames.
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})


class HeaderError(ValueError):
    pass


def image_size(data: bytes | bytearray | memoryview) -> tuple[int, int]:
    """(width, height) from the header; HeaderError when the format is unknown or the header malformed."""
    head = bytes(data[:32])
    if head.startswith(_PNG):
        return _png(data)
    if head.startswith(b"\xff\xd8"):
        return _jpeg(data)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return _webp(data)
    if head[:2] == b"BM":
        return _bmp(data)
    raise HeaderError(UNSUPPORTED)


def check_image(data: bytes | bytearray | memoryview, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[int, int]:
    """(width, height) when the image may be decoded: InvalidArgument for an unknown or broken header,
    TooLarge when it has more than ``max_pixels`` pixels."""
    try:
        width, height = image_size(data)
    except HeaderError as err:
        raise InvalidArgument(str(err)) from None
    if width <= 0 or height <= 0:
        raise InvalidArgument(MALFORMED)
    if max_pixels > 0 and width * height > max_pixels:
        raise TooLarge(
            f"image is {width}x{height} = {width * height:,} pixels; the limit is {max_pixels:,} pixels"
        )
    return width, height


def _unpack(fmt: str, data: bytes | bytearray | memoryview, offset: int) -> tuple[int, ...]:
    try:
        return struct.unpack_from(fmt, data, offset)
    except struct.error:
        raise HeaderError(MALFORMED) from None


def _png(data: bytes | bytearray | memoryview) -> tuple[int, int]:
    # Signature, then the first chunk must be IHDR: length 13, type, width, height (big-endian).
    length, kind, width, height = _unpack(">I4sII", data, 8)
    if length != 13 or kind != b"IHDR":
        raise HeaderError(MALFORMED)
    return width, height


def _jpeg(data: bytes | bytearray | memoryview) -> tuple[int, int]:
    # Walk the marker segments until the first start-of-frame: its height and width are what libjpeg allocates.
    pos, end = 2, len(data)
    while pos < end:
        if data[pos] != 0xFF:
            raise HeaderError(MALFORMED)
        while pos < end and data[pos] == 0xFF:  # fill bytes
            pos += 1
        if pos >= end:
            break
        marker = data[pos]
        pos += 1
        if marker in _STANDALONE:
            continue
        if marker in (0xD9, 0xDA):  # end of image, or scan data before any frame header
            break
        (length,) = _unpack(">H", data, pos)
        if length < 2:
            raise HeaderError(MALFORMED)
        if marker in _SOF:
            _precision, height, width = _unpack(">BHH", data, pos + 2)
            return width, height
        pos += length
    raise HeaderError(MALFORMED)


def _webp(data: bytes | bytearray | memoryview) -> tuple[int, int]:
    kind = bytes(data[12:16])
    if kind == b"VP8 ":
        # Frame tag (3 bytes), start code 9d 01 2a, then 14-bit width and height.
        if bytes(data[23:26]) != b"\x9d\x01\x2a":
            raise HeaderError(MALFORMED)
        width, height = _unpack("<HH", data, 26)
        return width & 0x3FFF, height & 0x3FFF
    if kind == b"VP8L":
        (signature, bits) = _unpack("<BI", data, 20)
        if signature != 0x2F:
            raise HeaderError(MALFORMED)
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if kind == b"VP8X":
        w0, w1, w2, h0, h1, h2 = _unpack("<6B", data, 24)
        return (w0 | w1 << 8 | w2 << 16) + 1, (h0 | h1 << 8 | h2 << 16) + 1
    raise HeaderError(MALFORMED)


def _bmp(data: bytes | bytearray | memoryview) -> tuple[int, int]:
    (header_size,) = _unpack("<I", data, 14)
    if header_size == 12:  # BITMAPCOREHEADER: 16-bit unsigned sizes
        width, height = _unpack("<HH", data, 18)
        return width, height
    if header_size < 40:
        raise HeaderError(MALFORMED)
    width, height = _unpack("<ii", data, 18)
    return width, abs(height)  # a negative height is a top-down bitmap
