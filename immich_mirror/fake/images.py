"""Small generated thumbnails for the fake: a lossless WebP of one colour per asset.

Immich answers ``GET /assets/{id}/thumbnail?size=thumbnail`` with ``image/webp`` (recorded). Without an
imaging library, the simplest valid WebP is a VP8L (lossless) bitstream whose five prefix codes each
have a single symbol: every pixel then costs zero bits, and the whole image is a few dozen bytes. The
colour comes from the asset id, so a page of thumbnails tells assets apart.
"""

from __future__ import annotations

import hashlib
import struct

# The recorded thumbnail is 120x90 (size=thumbnail keeps the aspect ratio within 250 px in Immich).
THUMB_LONG_SIDE = 120


class _Bits:
    """A little-endian bit writer, as VP8L reads its stream (least significant bit first)."""

    def __init__(self) -> None:
        self.value = 0
        self.length = 0

    def put(self, value: int, bits: int) -> None:
        self.value |= (value & ((1 << bits) - 1)) << self.length
        self.length += bits

    def bytes(self) -> bytes:
        return self.value.to_bytes((self.length + 7) // 8, "little")


def solid_webp(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A ``width`` x ``height`` lossless WebP of one opaque colour."""
    if not (1 <= width <= 16384 and 1 <= height <= 16384):
        raise ValueError("WebP sides are 1..16384 pixels")
    bits = _Bits()
    bits.put(width - 1, 14)
    bits.put(height - 1, 14)
    bits.put(0, 1)  # alpha_is_used: no
    bits.put(0, 3)  # version 0
    bits.put(0, 1)  # no transform
    bits.put(0, 1)  # no colour cache
    bits.put(0, 1)  # no meta prefix codes: one group for the whole image
    red, green, blue = rgb
    for symbol in (green, red, blue, 255, 0):  # green, red, blue, alpha, distance
        bits.put(1, 1)  # simple code
        bits.put(0, 1)  # one symbol
        bits.put(1, 1)  # the symbol takes 8 bits
        bits.put(symbol, 8)
    payload = b"\x2f" + bits.bytes()
    if len(payload) % 2:
        payload += b"\x00"  # RIFF chunks are padded to an even size (the chunk size excludes the pad)
        chunk = b"VP8L" + struct.pack("<I", len(payload) - 1) + payload
    else:
        chunk = b"VP8L" + struct.pack("<I", len(payload)) + payload
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


def asset_colour(asset_id: str) -> tuple[int, int, int]:
    digest = hashlib.sha256(asset_id.encode()).digest()
    # Mid-range channels: neither black nor white, so a missing image and a loaded one look different.
    return 60 + digest[0] % 160, 60 + digest[1] % 160, 60 + digest[2] % 160


def thumbnail_size(width: int | None, height: int | None) -> tuple[int, int]:
    w, h = width or 4, height or 3
    if w >= h:
        return THUMB_LONG_SIDE, max(1, round(THUMB_LONG_SIDE * h / w))
    return max(1, round(THUMB_LONG_SIDE * w / h)), THUMB_LONG_SIDE


def asset_thumbnail(asset_id: str, width: int | None, height: int | None) -> bytes:
    w, h = thumbnail_size(width, height)
    return solid_webp(w, h, asset_colour(asset_id))
