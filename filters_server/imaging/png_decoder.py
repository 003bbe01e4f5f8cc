"""Decoding a 16-bit grayscale PNG on two CPUs: zlib-ng inflates, libpng un-filters segments.

libpng (through ``cv2.imdecode``) decodes on one thread, inflating and un-filtering row after
row: about 60 ms for a 2400x1708 upload, the largest stage of a cold filter request. Here the
calling thread inflates the IDAT stream with zlib-ng (about 25 ms of that image; it releases the
GIL), and as rows arrive it cuts them into segments that libpng un-filters on the helper thread
of :mod:`filters_server.imaging.halves` while the inflate goes on. The decode then takes about
the inflate's time plus one segment.

A segment starts only at a row whose filter needs no row above it (None or Sub; libpng treats
the row above a file's first row as zeros, which such a row never reads), so each segment is a
small, complete PNG: the same header with its own height, and its filtered rows in stored
(uncompressed) deflate blocks, whose inflate is a copy. libpng un-filters it exactly as it
would inside the whole file, so the pixels are libpng's, bit for bit.

Anything unusual returns None, and the caller decodes the whole file with ``cv2.imdecode`` as
before, which then decodes it or reports what is wrong with it: interlaced files, chunks that
could change what OpenCV returns, a CRC or zlib error, a stream that inflates to the wrong size.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from concurrent.futures import Future

import cv2
import numpy as np

from filters_server.imaging.halves import helper
from filters_server.imaging.png import SIGNATURE, ZLIB_HEADER, chunk, header16
from filters_server.imaging.zlibs import ZlibError, zlib  # zlib-ng inflates these files faster than ISA-L

# OpenCV's own limits (CV_IO_MAX_IMAGE_PIXELS, _WIDTH, _HEIGHT): larger files are its to refuse.
MAX_PIXELS = 1 << 30
MAX_SIDE = 1 << 20
_MAX_DEFLATE_RATIO = 1032  # deflate's largest expansion: 258 bytes from a 2-bit code, roughly
SEGMENT_BYTES = 512 * 1024  # filtered bytes per segment: small enough that the last one is short
_IN_PIECE = 256 * 1024  # compressed bytes inflated per call: how soon a segment can be handed off
_STORED_MAX = 65535  # the most bytes one stored deflate block holds
# Ancillary chunks OpenCV's PNG decoder ignores (tests compare with it); any other chunk, tRNS
# (an alpha channel) above all, sends the file to cv2.imdecode.
_IGNORED_CHUNKS = frozenset((b"tEXt", b"zTXt", b"iTXt", b"tIME", b"pHYs", b"gAMA", b"sBIT", b"cHRM", b"bKGD"))
_CHUNK = struct.Struct(">I4s")  # a chunk's length and type
_CRC = struct.Struct(">I")
_NO_ROW_ABOVE = (0, 1)  # the filter types None and Sub


class _Damaged(Exception):
    """The IDAT stream does not inflate to exactly the rows the header promises."""


def read_png16(data: bytes) -> np.ndarray | None:
    """The pixels of a non-interlaced 16-bit grayscale PNG, as ``cv2.imdecode`` would return them,
    or None when this decoder leaves the file to it."""
    layout = _layout(data)
    if layout is None:
        return None
    width, height, stream = layout
    size = (1 + 2 * width) * height
    if width * height > MAX_PIXELS or max(width, height) > MAX_SIDE or size > _MAX_DEFLATE_RATIO * len(stream):
        return None  # more than OpenCV decodes, or more than the stream could inflate to: nothing to allocate
    raw = np.empty(size, np.uint8)  # the filtered rows, as inflated
    image = np.empty((height, width), np.uint16)
    decoded: list[bool] = []
    handed: list[tuple[Future[bool], int, int]] = []
    with helper() as pool:
        try:
            for start, stop in _segments(stream, raw, width, height):
                if pool is not None and stop < height:
                    handed.append((pool.submit(_decode_segment, raw, image, width, start, stop), start, stop))
                else:  # the last segment (all is inflated by then), or no helper free: this thread
                    decoded.append(_decode_segment(raw, image, width, start, stop))
            # What the helper has not started yet, this thread takes, from the end backwards.
            for future, start, stop in reversed(handed):
                if future.cancel():
                    decoded.append(_decode_segment(raw, image, width, start, stop))
        except _Damaged:
            return None
        finally:
            for future, _start, _stop in handed:  # the helper may not go on writing into them
                if not future.cancelled():
                    decoded.append(future.result())
    return image if all(decoded) else None


def _layout(data: bytes) -> tuple[int, int, memoryview] | None:
    """(width, height, the IDAT stream) of a file this decoder takes, its CRCs checked; else None."""
    if not data.startswith(SIGNATURE):
        return None
    view = memoryview(data)
    pos, end = len(SIGNATURE), len(data)
    width = height = 0
    idat: list[memoryview] = []
    idat_ended = False
    while pos + 12 <= end:
        length, kind = _CHUNK.unpack_from(data, pos)
        if pos + 12 + length > end:
            return None
        body = view[pos + 8 : pos + 8 + length]
        (crc,) = _CRC.unpack_from(data, pos + 8 + length)
        if crc != zlib.crc32(body, zlib.crc32(kind)):
            return None
        if pos == len(SIGNATURE):
            if kind != b"IHDR" or length != 13:
                return None
            width, height, depth, color, compression, filtering, interlace = struct.unpack(">IIBBBBB", body)
            if (depth, color, compression, filtering, interlace) != (16, 0, 0, 0, 0) or not width or not height:
                return None
        elif kind == b"IDAT":
            if idat_ended:  # IDAT chunks must be consecutive; libpng says so
                return None
            idat.append(body)
        elif kind == b"IEND":
            if not idat or pos + 12 != end:
                return None
            return width, height, idat[0] if len(idat) == 1 else memoryview(b"".join(idat))
        elif kind in _IGNORED_CHUNKS:
            idat_ended = bool(idat)
        else:
            return None
        pos += 12 + length
    return None


def _segments(stream: memoryview, raw: np.ndarray, width: int, height: int) -> Iterator[tuple[int, int]]:
    """Inflate ``stream`` into ``raw``, yielding each segment's rows (start, stop) as soon as they
    are all inflated; the last segment ends at ``height``. Raises :class:`_Damaged`."""
    stride = 1 + 2 * width
    rows_per_segment = max(1, SEGMENT_BYTES // stride)
    inflater = zlib.decompressobj()
    filled = 0
    start = 0
    try:
        for at in range(0, len(stream), _IN_PIECE):
            room = len(raw) - filled
            out = inflater.decompress(stream[at : at + _IN_PIECE], room + 1)
            if len(out) > room or inflater.unconsumed_tail:
                raise _Damaged
            raw[filled : filled + len(out)] = np.frombuffer(out, np.uint8)
            filled += len(out)
            ready = filled // stride
            while ready - start > rows_per_segment:
                stop = _next_start(raw, stride, start + rows_per_segment, ready)
                if stop is None:
                    break
                yield start, stop
                start = stop
    except ZlibError:
        raise _Damaged from None
    if not inflater.eof or inflater.unused_data or filled != len(raw):
        raise _Damaged
    yield start, height


def _next_start(raw: np.ndarray, stride: int, first: int, ready: int) -> int | None:
    """The first row from ``first`` on (and before ``ready``) that can begin a segment."""
    filters = raw[first * stride : ready * stride : stride]
    candidates = np.flatnonzero(filters <= _NO_ROW_ABOVE[-1])
    return first + int(candidates[0]) if candidates.size else None


def _decode_segment(raw: np.ndarray, image: np.ndarray, width: int, start: int, stop: int) -> bool:
    """libpng un-filters rows ``start:stop`` of ``raw`` into the same rows of ``image``; False if it
    refuses (an invalid filter type, say): the caller then leaves the whole file to it."""
    stride = 1 + 2 * width
    png = _stored_png(width, stop - start, raw[start * stride : stop * stride])
    pixels = cv2.imdecode(png, cv2.IMREAD_UNCHANGED)
    if pixels is None or pixels.dtype != np.uint16 or pixels.shape != (stop - start, width):
        return False
    image[start:stop] = pixels
    return True


def _stored_png(width: int, rows: int, filtered: np.ndarray) -> np.ndarray:
    """A PNG of ``rows`` rows whose IDAT holds ``filtered`` in stored deflate blocks, as one buffer
    (the rows are copied once, into place)."""
    n = filtered.size
    full, rest = divmod(n, _STORED_MAX)
    blocks = full + (1 if rest else 0)
    zlen = 2 + n + 5 * blocks + 4  # zlib header, blocks with their 5-byte headers, Adler-32
    head = b"".join([SIGNATURE, *chunk(b"IHDR", header16(width, rows))]) + _CHUNK.pack(zlen, b"IDAT")
    png = np.empty(len(head) + zlen + 4 + 12, np.uint8)
    png[: len(head)] = np.frombuffer(head, np.uint8)
    stream = png[len(head) : len(head) + zlen]
    stream[:2] = np.frombuffer(ZLIB_HEADER, np.uint8)
    if full:
        body = stream[2 : 2 + full * (5 + _STORED_MAX)].reshape(full, 5 + _STORED_MAX)
        body[:, :5] = (0, 0xFF, 0xFF, 0, 0)  # not final; LEN 65535 and NLEN, little-endian
        body[:, 5:] = filtered[: full * _STORED_MAX].reshape(full, _STORED_MAX)
    if rest:
        at = 2 + full * (5 + _STORED_MAX)
        stream[at : at + 5] = np.frombuffer(struct.pack("<BHH", 1, rest, rest ^ 0xFFFF), np.uint8)
        stream[at + 5 : at + 5 + rest] = filtered[full * _STORED_MAX :]
    else:
        body[-1, 0] = 1  # the last full block is the final one
    stream[-4:] = np.frombuffer(_CRC.pack(zlib.adler32(filtered)), np.uint8)
    tail = b"".join([_CRC.pack(zlib.crc32(stream, zlib.crc32(b"IDAT"))), *chunk(b"IEND")])
    png[len(head) + zlen :] = np.frombuffer(tail, np.uint8)
    return png
