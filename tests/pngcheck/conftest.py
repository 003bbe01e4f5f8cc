"""PNG builders for the validator's tests.

Valid files come from OpenCV (libpng) where it can make them; everything libpng would refuse
to write (Adam7 16-bit, every corrupt variant) is built by hand from chunks, so each test can
say exactly which byte is wrong.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable, Sequence

import cv2
import numpy as np

from filters_server.core.pngcheck import PngInfo, PngValidator

SIGNATURE = b"\x89PNG\r\n\x1a\n"

# Adam7 passes: (x0, y0, dx, dy), PNG spec section 8.2.
ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))


def chunk(ctype: bytes, data: bytes = b"", *, crc: int | None = None) -> bytes:
    """One chunk with a correct CRC unless ``crc`` is given."""
    if crc is None:
        crc = zlib.crc32(ctype + data)
    return struct.pack(">I", len(data)) + ctype + data + struct.pack(">I", crc)


def ihdr_data(
    width: int,
    height: int,
    bit_depth: int = 16,
    color_type: int = 0,
    interlace: int = 0,
    compression: int = 0,
    filter_method: int = 0,
) -> bytes:
    return struct.pack(">IIBBBBB", width, height, bit_depth, color_type, compression, filter_method, interlace)


def ihdr(width: int, height: int, bit_depth: int = 16, color_type: int = 0, interlace: int = 0, **kw: int) -> bytes:
    return chunk(b"IHDR", ihdr_data(width, height, bit_depth, color_type, interlace, **kw))


def gray16(height: int, width: int, seed: int = 0) -> np.ndarray:
    """Noisy 16-bit pixels: compress poorly, like real sensor data."""
    return np.random.default_rng(seed).integers(0, 65536, (height, width), dtype=np.uint16)


def scanlines(pixels: np.ndarray, filter_type: int = 0) -> bytes:
    """Rows of a 16-bit grayscale image as PNG scanlines (filter byte + big-endian samples)."""
    rows = pixels.astype(">u2")
    return b"".join(bytes([filter_type]) + row.tobytes() for row in rows)


def adam7_scanlines(pixels: np.ndarray) -> bytes:
    """The seven Adam7 pass images, one after the other, each as scanlines; empty passes omitted."""
    return b"".join(scanlines(pixels[y0::dy, x0::dx]) for x0, y0, dx, dy in ADAM7 if pixels[y0::dy, x0::dx].size)


def idat_chunks(stream: bytes, size: int = 8192) -> bytes:
    """A zlib stream split into consecutive IDAT chunks of ``size`` bytes (libpng's default)."""
    return b"".join(chunk(b"IDAT", stream[i : i + size]) for i in range(0, len(stream), size)) or chunk(b"IDAT")


def png(
    width: int,
    height: int,
    raw: bytes | None = None,
    *,
    bit_depth: int = 16,
    color_type: int = 0,
    interlace: int = 0,
    stream: bytes | None = None,
    before_idat: Sequence[bytes] = (),
    after_idat: Sequence[bytes] = (),
    idat_size: int = 8192,
) -> bytes:
    """A hand-built PNG. ``raw`` is the inflated scanline data (default: zero rows of the right
    size), ``stream`` overrides the compressed IDAT data, the ``*_idat`` lists insert chunks."""
    if stream is None:
        if raw is None:
            raw = bytes(height * (1 + width * 2))
        stream = zlib.compress(raw)
    return (
        SIGNATURE
        + ihdr(width, height, bit_depth, color_type, interlace)
        + b"".join(before_idat)
        + idat_chunks(stream, idat_size)
        + b"".join(after_idat)
        + chunk(b"IEND")
    )


def gray16_png(height: int, width: int, seed: int = 0) -> bytes:
    """A real 16-bit grayscale PNG written by libpng through OpenCV."""
    ok, encoded = cv2.imencode(".png", gray16(height, width, seed))
    assert ok
    return encoded.tobytes()


def adam7_png(pixels: np.ndarray) -> bytes:
    height, width = pixels.shape
    return png(width, height, adam7_scanlines(pixels), interlace=1)


def split_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, data) of each chunk of a well-formed PNG."""
    assert data.startswith(SIGNATURE)
    out, pos = [], len(SIGNATURE)
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        out.append((data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return out


def join_chunks(chunks: Iterable[tuple[bytes, bytes]]) -> bytes:
    return SIGNATURE + b"".join(chunk(ctype, data) for ctype, data in chunks)


def zeros_bomb(inflated_size: int) -> bytes:
    """A valid zlib stream of ``inflated_size`` zero bytes (a multiple of 1 MiB), built in
    milliseconds: after a full flush deflate forgets its history, so every further MiB of
    zeros compresses to the same block and can simply be repeated."""
    mib = 1 << 20
    assert inflated_size % mib == 0 and inflated_size >= 2 * mib
    compressor = zlib.compressobj(9)
    first = compressor.compress(bytes(mib)) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(bytes(mib)) + compressor.flush(zlib.Z_FULL_FLUSH)
    end = compressor.flush()[:-4]  # final empty block; the Adler-32 follows
    # Adler-32 of n zero bytes: a stays 1, b grows by 1 per byte.
    adler = ((inflated_size % 65521) << 16) | 1
    return first + block * (inflated_size // mib - 1) + end + struct.pack(">I", adler)


def validate(data: bytes, pieces: Iterable[int] | int | None = None, **kwargs: int) -> PngInfo:
    """Feed ``data`` in one piece, in pieces of a fixed size, or in the given piece sizes
    (the remainder goes last), then finish."""
    validator = PngValidator(**kwargs)
    for piece in chop(data, pieces):
        validator.feed(piece)
    return validator.finish()


def chop(data: bytes, pieces: Iterable[int] | int | None = None) -> list[bytes]:
    if pieces is None:
        return [data]
    if isinstance(pieces, int):
        return [data[i : i + pieces] for i in range(0, len(data), pieces)]
    out, pos = [], 0
    for size in pieces:
        out.append(data[pos : pos + size])
        pos += size
    out.append(data[pos:])
    return out
