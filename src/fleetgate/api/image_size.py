"""Reading an image's pixel dimensions from the first bytes of its file (no image library).

Understands PNG (IHDR), GIF (logical screen), JPEG (the first SOFn marker) and WebP (VP8, VP8L and
VP8X chunks). `base64_head` decodes just the start of a base64 string so that a 20 MB image costs
no more than its header. Anything unknown or truncated gives None, never an exception.
"""

from __future__ import annotations

import binascii

HEAD_BYTES = 256 * 1024
"""How much of an image is decoded to find its size (JPEG EXIF blocks can reach 64 KB)."""

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_JPEG_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD9)})


def base64_head(data: str, n_bytes: int = HEAD_BYTES) -> bytes | None:
    """The first (about) `n_bytes` bytes that `data` encodes, or None if it is not base64."""
    n_chars = (n_bytes + 2) // 3 * 4
    head = "".join(data[: n_chars + 64].split())[:n_chars]
    head = head[: len(head) // 4 * 4]
    try:
        return binascii.a2b_base64(head.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError):
        return None


def image_dimensions(head: bytes) -> tuple[int, int] | None:
    """(width, height) of the image whose file starts with `head`, or None when unknown."""
    if head.startswith(_PNG_SIGNATURE):
        return _png(head)
    if head[:6] in (b"GIF87a", b"GIF89a") and len(head) >= 10:
        return _positive(int.from_bytes(head[6:8], "little"), int.from_bytes(head[8:10], "little"))
    if head.startswith(b"\xff\xd8"):
        return _jpeg(head)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return _webp(head)
    return None


def _positive(width: int, height: int) -> tuple[int, int] | None:
    return (width, height) if width > 0 and height > 0 else None


def _png(head: bytes) -> tuple[int, int] | None:
    if len(head) < 24 or head[12:16] != b"IHDR":
        return None
    return _positive(int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big"))


def _jpeg(head: bytes) -> tuple[int, int] | None:
    index = 2
    while index + 4 <= len(head):
        if head[index] != 0xFF:
            return None
        marker = head[index + 1]
        if marker == 0xFF:
            index += 1
            continue
        if marker in _JPEG_STANDALONE:
            index += 2
            continue
        length = int.from_bytes(head[index + 2 : index + 4], "big")
        if marker in _JPEG_SOF_MARKERS:
            if index + 9 > len(head):
                return None
            height = int.from_bytes(head[index + 5 : index + 7], "big")
            width = int.from_bytes(head[index + 7 : index + 9], "big")
            return _positive(width, height)
        if length < 2:
            return None
        index += 2 + length
    return None


def _webp(head: bytes) -> tuple[int, int] | None:
    chunk = head[12:16]
    if chunk == b"VP8 " and len(head) >= 30 and head[23:26] == b"\x9d\x01\x2a":
        width = int.from_bytes(head[26:28], "little") & 0x3FFF
        height = int.from_bytes(head[28:30], "little") & 0x3FFF
        return _positive(width, height)
    if chunk == b"VP8L" and len(head) >= 25 and head[20] == 0x2F:
        bits = int.from_bytes(head[21:25], "little")
        return _positive(1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF))
    if chunk == b"VP8X" and len(head) >= 30:
        width = 1 + int.from_bytes(head[24:27], "little")
        height = 1 + int.from_bytes(head[27:30], "little")
        return _positive(width, height)
    return None
