"""Tiny, valid images built in pure Python.

* ``solid_jpeg`` writes a baseline (SOF0) JFIF file of one colour, 4:4:4 YCbCr, with minimal
  Huffman tables: every block is a DC value followed by an end-of-block code.
* ``solid_webp`` writes a lossless (VP8L) WebP of one colour: each of the five prefix codes is a
  "simple" code with a single symbol, so the pixel data needs no bits at all.
* ``solid_thumbhash`` computes the ThumbHash of a one-colour image (all AC terms are zero).

All three are deterministic and cached per (size, colour).
"""

from __future__ import annotations

import base64
import functools
import math
import struct

__all__ = ["PALETTE", "solid_jpeg", "solid_thumbhash", "solid_webp"]

# Sixteen clearly different colours; an asset's colour is picked from its id.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (220, 60, 50),
    (240, 140, 40),
    (235, 200, 50),
    (120, 190, 60),
    (40, 160, 90),
    (40, 170, 170),
    (50, 130, 210),
    (70, 80, 200),
    (130, 70, 190),
    (200, 70, 160),
    (150, 100, 60),
    (90, 90, 90),
    (180, 180, 175),
    (30, 60, 90),
    (110, 30, 40),
    (60, 110, 40),
)


class _BitWriter:
    """MSB-first bit writer with JPEG 0xFF byte stuffing."""

    def __init__(self) -> None:
        self.out = bytearray()
        self.acc = 0
        self.nbits = 0

    def write(self, value: int, length: int) -> None:
        for i in range(length - 1, -1, -1):
            self.acc = (self.acc << 1) | ((value >> i) & 1)
            self.nbits += 1
            if self.nbits == 8:
                self.out.append(self.acc)
                if self.acc == 0xFF:
                    self.out.append(0x00)
                self.acc = 0
                self.nbits = 0

    def flush(self) -> bytes:
        if self.nbits:
            pad = 8 - self.nbits
            self.write((1 << pad) - 1, pad)
        return bytes(self.out)


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def _clamp8(x: float) -> int:
    return max(0, min(255, int(math.floor(x + 0.5))))


@functools.lru_cache(maxsize=256)
def solid_jpeg(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    r, g, b = rgb
    ycc = (
        _clamp8(0.299 * r + 0.587 * g + 0.114 * b),
        _clamp8(-0.168736 * r - 0.331264 * g + 0.5 * b + 128),
        _clamp8(0.5 * r - 0.418688 * g - 0.081312 * b + 128),
    )
    parts = [b"\xff\xd8"]
    parts.append(_segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"))
    # One quantisation table of all ones: the DC coefficient is stored as is.
    parts.append(_segment(0xDB, b"\x00" + b"\x01" * 64))
    sof = struct.pack(">BHHB", 8, height, width, 3)
    for cid in (1, 2, 3):
        sof += struct.pack(">BBB", cid, 0x11, 0)
    parts.append(_segment(0xC0, sof))
    # DC table 0: the twelve size categories 0..11, each with a 4-bit code equal to its value.
    dc_bits = bytes([0, 0, 0, 12] + [0] * 12)
    parts.append(_segment(0xC4, b"\x00" + dc_bits + bytes(range(12))))
    # AC table 0: a single symbol, end-of-block (0x00), with the 1-bit code "0".
    ac_bits = bytes([1] + [0] * 15)
    parts.append(_segment(0xC4, b"\x10" + ac_bits + b"\x00"))
    parts.append(_segment(0xDA, bytes([3, 1, 0x00, 2, 0x00, 3, 0x00, 0, 63, 0])))

    bw = _BitWriter()
    blocks = ((width + 7) // 8) * ((height + 7) // 8)
    previous = [0, 0, 0]
    for _ in range(blocks):
        for c in range(3):
            dc = 8 * (ycc[c] - 128)
            diff = dc - previous[c]
            previous[c] = dc
            size = abs(diff).bit_length()
            bw.write(size, 4)
            if size:
                bw.write(diff if diff > 0 else diff + (1 << size) - 1, size)
            bw.write(0, 1)  # end of block
    parts.append(bw.flush())
    parts.append(b"\xff\xd9")
    return b"".join(parts)


class _LsbWriter:
    """LSB-first bit writer, as used by VP8L."""

    def __init__(self) -> None:
        self.value = 0
        self.nbits = 0

    def write(self, value: int, length: int) -> None:
        self.value |= (value & ((1 << length) - 1)) << self.nbits
        self.nbits += length

    def getvalue(self) -> bytes:
        return self.value.to_bytes((self.nbits + 7) // 8, "little")


@functools.lru_cache(maxsize=256)
def solid_webp(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    r, g, b = rgb
    w = _LsbWriter()
    w.write(0x2F, 8)  # VP8L signature
    w.write(width - 1, 14)
    w.write(height - 1, 14)
    w.write(0, 1)  # alpha is not used
    w.write(0, 3)  # version 0
    w.write(0, 1)  # no transform
    w.write(0, 1)  # no colour cache
    w.write(0, 1)  # no meta prefix codes
    # Five prefix codes: green, red, blue, alpha, distance. Each: simple, one 8-bit symbol.
    for symbol in (g, r, b, 255, 0):
        w.write(1, 1)  # simple code
        w.write(0, 1)  # one symbol
        w.write(1, 1)  # the symbol takes 8 bits
        w.write(symbol, 8)
    data = w.getvalue()
    chunk = b"VP8L" + struct.pack("<I", len(data)) + data
    if len(data) % 2:
        chunk += b"\x00"
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


def _js_round(x: float) -> int:
    return int(math.floor(x + 0.5))


@functools.lru_cache(maxsize=256)
def solid_thumbhash(rgb: tuple[int, int, int], landscape: bool = True) -> str:
    """Base64 ThumbHash of a one-colour, opaque 4:3 (or 3:4) image."""
    r, g, b = (c / 255 for c in rgb)
    l_dc = (r + g + b) / 3
    p_dc = (r + g) / 2 - b
    q_dc = r - g
    # 4:3 image: the long side gets 7 luminance terms, the short side round(7 * 3 / 4) = 5.
    lx, ly = (7, 5) if landscape else (5, 7)
    header24 = _js_round(63 * l_dc) | (_js_round(31.5 + 31.5 * p_dc) << 6) | (_js_round(31.5 + 31.5 * q_dc) << 12)
    header16 = (ly if landscape else lx) | (int(landscape) << 15)
    nx, ny = max(3, lx), max(3, ly)
    l_terms = sum(1 for cy in range(ny) for cx in range(nx) if cx * ny < nx * (ny - cy)) - 1
    ac_count = l_terms + 5 + 5  # p and q use 3x3 -> 5 AC terms each
    data = bytes([header24 & 255, (header24 >> 8) & 255, header24 >> 16, header16 & 255, header16 >> 8]) + bytes(
        (ac_count + 1) // 2
    )
    return base64.b64encode(data).decode("ascii")
