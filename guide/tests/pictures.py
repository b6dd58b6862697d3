"""Smaller PNG files for the guide's pictures, without an image library.

A browser screenshot is a true-colour PNG. The pages are flat colours and text, so a palette of
256 colours holds nearly all of a picture: the 256 commonest colours are kept as they are and the
few others (edges of letters and of chart lines) take the nearest of them. A palette picture is a
third of the bytes before compression, and compresses better.
"""

from __future__ import annotations

import struct
import zlib
from collections import Counter
from pathlib import Path

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunks(data: bytes):
    at = len(SIGNATURE)
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        yield data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        at += 12 + length


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def read_rgb(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and rows of RGB bytes of an 8-bit RGB or RGBA PNG (alpha dropped)."""
    header, idat = None, bytearray()
    for kind, body in _chunks(data):
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
    width, height, depth, colour, _c, _f, interlace = header
    if depth != 8 or colour not in (2, 6) or interlace:
        raise ValueError("only 8-bit RGB or RGBA pictures, not interlaced")
    step = 3 if colour == 2 else 4
    stride = width * step
    raw = zlib.decompress(bytes(idat))
    rows, previous, at = [], bytearray(stride), 0
    for _y in range(height):
        kind, line = raw[at], bytearray(raw[at + 1 : at + 1 + stride])
        at += 1 + stride
        if kind == 1:
            for x in range(step, stride):
                line[x] = (line[x] + line[x - step]) & 255
        elif kind == 2:
            line = bytearray((v + p) & 255 for v, p in zip(line, previous, strict=True))
        elif kind == 3:
            for x in range(stride):
                left = line[x - step] if x >= step else 0
                line[x] = (line[x] + ((left + previous[x]) >> 1)) & 255
        elif kind == 4:
            for x in range(stride):
                left, corner = (line[x - step], previous[x - step]) if x >= step else (0, 0)
                line[x] = (line[x] + _paeth(left, previous[x], corner)) & 255
        previous = line
        rows.append(bytes(line) if step == 3 else bytes(b for i, b in enumerate(line) if i % 4 != 3))
    return width, height, rows


def _nearest(colour: bytes, palette: list[bytes]) -> int:
    r, g, b = colour
    return min(
        range(len(palette)),
        key=lambda i: 2 * (palette[i][0] - r) ** 2 + 4 * (palette[i][1] - g) ** 2 + 3 * (palette[i][2] - b) ** 2,
    )


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def to_palette(path: Path) -> None:
    """Rewrite the PNG at `path` with a palette of at most 256 colours."""
    width, height, rows = read_rgb(path.read_bytes())
    counts = Counter(row[x : x + 3] for row in rows for x in range(0, len(row), 3))
    palette = [colour for colour, _n in counts.most_common(256)]
    index = {colour: i for i, colour in enumerate(palette)}
    for colour in counts:
        if colour not in index:
            index[colour] = _nearest(colour, palette)
    lines = bytearray()
    for row in rows:
        lines.append(0)
        lines += bytes(index[row[x : x + 3]] for x in range(0, len(row), 3))
    header = struct.pack(">IIBBBBB", width, height, 8, 3, 0, 0, 0)
    path.write_bytes(
        SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"PLTE", b"".join(palette))
        + _chunk(b"IDAT", zlib.compress(bytes(lines), 9))
        + _chunk(b"IEND", b"")
    )
