"""PNG files taken apart and put together by hand, for the writer's and the decoder's tests:
independent of the code under test, so they can judge it."""

from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, body) of every chunk, after checking each CRC."""
    assert data[:8] == SIGNATURE
    out, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + body), f"bad CRC on {kind!r}"
        out.append((kind, body))
        pos += 12 + length
    return out


def png_file(parts: list[tuple[bytes, bytes]]) -> bytes:
    """A PNG of these (type, body) chunks, each given its length and CRC."""
    framed = [SIGNATURE]
    for kind, body in parts:
        framed.append(struct.pack(">I4s", len(body), kind) + body + struct.pack(">I", zlib.crc32(kind + body)))
    return b"".join(framed)


def idat_stream(data: bytes) -> bytes:
    """The IDAT chunks' data joined: the file's zlib stream."""
    return b"".join(body for kind, body in chunks(data) if kind == b"IDAT")


def libpng(data: bytes) -> np.ndarray | None:
    """What libpng (through OpenCV) decodes ``data`` to, None if it refuses."""
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
