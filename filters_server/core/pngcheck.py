"""Streaming validator for uploaded media: it must be a 16-bit grayscale PNG.

The upload handler feeds the bytes as they arrive while the same bytes stream to storage, so
the validator never holds a whole chunk, let alone the file: chunk CRCs are computed
incrementally, IDAT data is inflated in bounded pieces and the output is discarded after its
scanline filter bytes were checked. Memory is bounded by a few hundred KiB whatever the file
size, a decompression bomb is cut off as soon as it inflates one byte past the size the IHDR
promises, and every defect is reported from the first ``feed()`` that can see it.

Pure stdlib (zlib, struct) so it can run in a worker thread: zlib releases the GIL while it
inflates, which is where nearly all the time goes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Protocol, cast

from filters_server.core.errors import DomainError
from filters_server.imaging.png import SIGNATURE as PNG_SIGNATURE
from filters_server.imaging.zlibs import ZlibError, zlib

# ISA-L inflates libpng-written IDAT streams about 1.3x faster than zlib-ng (docs/benchmarks.md);
# same streaming API (max_length, unconsumed_tail, eof). CRCs stay with zlib-ng.
try:
    from isal import isal_zlib as inflater
except ImportError:  # pragma: no cover - zlib-ng is the fallback
    inflater = zlib  # type: ignore[misc]  # the same decompressobj API as isal_zlib

InflateError = cast("type[Exception]", inflater.error)


class Decompressor(Protocol):
    """What the inflater's decompress objects offer (isal's and zlib-ng's alike)."""

    eof: bool
    unconsumed_tail: bytes
    unused_data: bytes

    def decompress(self, data: bytes | memoryview, max_length: int = 0, /) -> bytes: ...


__all__ = [
    "ImageTooLarge",
    "InvalidPng",
    "PngInfo",
    "PngRejected",
    "PngValidator",
    "UnsupportedImage",
]


class PngRejected(DomainError, ValueError):
    """The bytes are not an acceptable image; ``kind`` says why (the API maps each kind to an answer)."""

    kind: str = "corrupt"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidPng(PngRejected):
    """Corrupt, truncated or unrecognisable data."""

    kind = "corrupt"


class UnsupportedImage(PngRejected):
    """A recognisable image, but not a 16-bit grayscale PNG."""

    kind = "unsupported"


class ImageTooLarge(PngRejected):
    """The IHDR announces more pixels than the server accepts."""

    kind = "too_large"


@dataclass(frozen=True)
class PngInfo:
    width: int
    height: int
    bit_depth: int
    color_type: int
    interlaced: bool


# Bounded work per zlib call: at most _IN_PIECE compressed bytes go in (so the
# ``unconsumed_tail`` copy zlib makes when output is capped stays small and the total work
# stays linear) and at most _OUT_PIECE inflated bytes come out (bounds memory).
_IN_PIECE = 64 * 1024
_OUT_PIECE = 256 * 1024
_CRC_SLICE = 5 * 1024  # the most zlib's crc32 checksums before it releases the GIL
_HEADER = struct.Struct(">I4s")  # a chunk's length and type
_CRC = struct.Struct(">I")
_IDAT_CRC = zlib.crc32(b"IDAT")  # every IDAT chunk's CRC starts from its type

_MAX_CHUNK_LENGTH = 2**31 - 1
_VALID_FILTER_TYPES = bytes(range(5))
_ASCII_LETTERS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")

# PNG spec, table 11.1: allowed bit depths per colour type.
_BIT_DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}
_COLOR_NAMES = {
    0: "grayscale",
    2: "RGB",
    3: "palette (indexed-colour)",
    4: "grayscale+alpha",
    6: "RGBA",
}

# Adam7 passes: (x0, y0, dx, dy).
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))


# --- recognising other formats by their magic bytes ------------------------------------------


def _magic(*parts: bytes | int | frozenset[int]) -> tuple[int, tuple[tuple[int, frozenset[int]], ...]]:
    """A signature as (total length, fixed positions): ints are runs of wildcard bytes,
    frozensets are alternatives for one byte."""
    fixed: list[tuple[int, frozenset[int]]] = []
    i = 0
    for part in parts:
        if isinstance(part, int):
            i += part
        elif isinstance(part, frozenset):
            fixed.append((i, part))
            i += 1
        else:
            fixed.extend((i + k, frozenset((b,))) for k, b in enumerate(part))
            i += len(part)
    return i, tuple(fixed)


_PNM_KIND = frozenset(b"1234567")
_WHITESPACE = frozenset(b" \t\r\n")

# Formats someone might upload instead of the required PNG; recognising them turns a
# puzzling "400 corrupt" into an actionable "415 unsupported".
_OTHER_FORMATS: tuple[tuple[str, tuple[int, tuple[tuple[int, frozenset[int]], ...]]], ...] = (
    ("MNG", _magic(b"\x8aMNG\r\n\x1a\n")),
    ("JNG", _magic(b"\x8bJNG\r\n\x1a\n")),
    ("JPEG", _magic(b"\xff\xd8\xff")),
    ("GIF", _magic(b"GIF87a")),
    ("GIF", _magic(b"GIF89a")),
    ("BMP", _magic(b"BM", 4, b"\0\0\0\0")),  # the reserved fields make "BM" less ambiguous
    ("TIFF", _magic(b"II*\0")),
    ("TIFF", _magic(b"MM\0*")),
    ("BigTIFF", _magic(b"II+\0")),
    ("BigTIFF", _magic(b"MM\0+")),
    ("WebP", _magic(b"RIFF", 4, b"WEBP")),
    ("JPEG 2000", _magic(b"\0\0\0\x0cjP  \r\n\x87\n")),
    ("JPEG 2000", _magic(b"\xff\x4f\xff\x51")),
    ("JPEG XL", _magic(b"\xff\x0a")),
    ("JPEG XL", _magic(b"\0\0\0\x0cJXL \r\n\x87\n")),
    *(("HEIF", _magic(4, b"ftyp" + brand)) for brand in (b"heic", b"heix", b"mif1", b"msf1")),
    *(("AVIF", _magic(4, b"ftyp" + brand)) for brand in (b"avif", b"avis")),
    ("PNM", _magic(b"P", _PNM_KIND, _WHITESPACE)),
    ("QOI", _magic(b"qoif")),
    ("Photoshop PSD", _magic(b"8BPS")),
    ("OpenEXR", _magic(b"\x76\x2f\x31\x01")),
    ("Radiance HDR", _magic(b"#?RADIANCE")),
    ("Radiance HDR", _magic(b"#?RGBE")),
    ("ICO", _magic(b"\0\0\1\0")),
    ("DICOM", _magic(128, b"DICM")),  # 128-byte preamble
)
_PNG_MAGIC = _magic(PNG_SIGNATURE)
_SNIFF_LENGTH = max(length for _, (length, _) in _OTHER_FORMATS)


def _compatible(head: bytes, magic: tuple[int, tuple[tuple[int, frozenset[int]], ...]]) -> bool:
    """Whether ``head`` could still be the start of data with this magic."""
    n = len(head)
    return all(head[i] in allowed for i, allowed in magic[1] if i < n)


# --- the validator ----------------------------------------------------------------------------

_SIGNATURE, _CHUNK_HEADER, _CHUNK_DATA, _CHUNK_CRC, _DONE = range(5)


class PngValidator:
    """Incremental validator: ``feed()`` the upload in any chunking, then ``finish()``.

    Raises a ``PngRejected`` subclass from the first call that can detect a problem; after
    that every call raises the same error. Not safe for concurrent calls (one upload, one
    consumer), but any single call may run in a worker thread.
    """

    def __init__(self, *, max_pixels: int = 100_000_000) -> None:
        self._max_pixels = max_pixels
        self._state = _SIGNATURE
        self._small = bytearray()  # signature, chunk header or CRC being assembled
        self._ihdr_body = bytearray()
        self._need = len(PNG_SIGNATURE)
        self._fed = 0
        self._chunk_type = b""
        self._chunk_remaining = 0
        self._crc = 0
        self._info: PngInfo | None = None
        self._inflater: _IdatInflater | None = None
        # IDAT payload seen in this feed() but not inflated yet: one inflate call per feed
        # instead of one per (often 8 KiB) chunk keeps GIL hand-offs few when run in a thread.
        self._idat_pending: list[memoryview] = []
        self._idat_state = 0  # 0: none yet, 1: in the IDAT run, 2: run ended
        self._error: PngRejected | None = None
        self._finished = False
        self._steps = 0

    @property
    def work(self) -> int:
        """Parser loop iterations plus zlib calls so far: lets tests prove the work is linear
        in the input without timing anything."""
        return self._steps + (self._inflater.calls if self._inflater is not None else 0)

    @property
    def info(self) -> PngInfo | None:
        """The IHDR's facts, once the IHDR chunk was read and its CRC checked."""
        return self._info

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Check the next bytes of the upload; keeps no reference to ``data``."""
        if self._error is not None:
            raise self._error
        if self._finished:
            raise RuntimeError("feed() after finish()")
        try:
            self._consume(memoryview(data).cast("B"))
        except PngRejected as exc:
            self._error = exc
            raise

    def finish(self) -> PngInfo:
        """End of upload: the PNG's facts if it was complete, else InvalidPng (truncated)."""
        if self._error is not None:
            raise self._error
        self._finished = True
        if self._state == _DONE:
            assert self._info is not None
            return self._info
        try:
            self._raise_truncated()
        except PngRejected as exc:
            self._error = exc
            raise
        raise AssertionError("unreachable")

    # -- state machine ------------------------------------------------------------------------

    def _consume(self, view: memoryview) -> None:
        self._consume_fields(view)
        self._flush_idat()

    def _flush_idat(self) -> None:
        if self._idat_pending:
            assert self._inflater is not None
            pending = self._idat_pending
            data = pending[0] if len(pending) == 1 else memoryview(b"".join(pending))
            pending.clear()
            self._inflater.feed(data)

    def _consume_fields(self, view: memoryview) -> None:
        pos, end = 0, len(view)
        while pos < end:
            self._steps += 1
            state = self._state
            if state == _CHUNK_HEADER and self._idat_state == 1 and not self._small:
                after = self._whole_idat_chunks(view, pos, end)
                if after != pos:
                    pos = after
                    continue
            if state == _CHUNK_DATA:
                take = min(self._chunk_remaining, end - pos)
                piece = view[pos : pos + take]
                self._crc = _crc32(piece, self._crc)
                if self._inflater is not None and self._chunk_type == b"IDAT":
                    self._idat_pending.append(piece)
                elif self._chunk_type == b"IHDR":
                    self._ihdr_body += piece
                pos += take
                self._fed += take
                self._chunk_remaining -= take
                if self._chunk_remaining == 0:
                    self._expect_crc()
            elif state == _DONE:
                raise InvalidPng("unexpected data after the IEND chunk")
            else:
                # Fixed-size fields: copy at most a few bytes so byte-at-a-time feeding stays linear.
                take = min(self._need - len(self._small), end - pos)
                self._small += view[pos : pos + take]
                pos += take
                self._fed += take
                if state == _SIGNATURE:
                    self._on_signature_bytes()
                elif len(self._small) == self._need:
                    if state == _CHUNK_HEADER:
                        self._on_chunk_header()
                    else:
                        self._on_chunk_crc()

    def _whole_idat_chunks(self, view: memoryview, pos: int, end: int) -> int:
        """The common case in one tight loop: IDAT chunks lying whole in ``view`` inside the IDAT
        run, each checked exactly as the state machine would (type, length, CRC); returns where it
        stopped (the first chunk that is cut off or is not IDAT goes the long way)."""
        while end - pos >= 12:
            length, ctype = _HEADER.unpack_from(view, pos)
            if ctype != b"IDAT" or length > _MAX_CHUNK_LENGTH or end - pos < 12 + length:
                break
            data = view[pos + 8 : pos + 8 + length]
            (stored,) = _CRC.unpack_from(view, pos + 8 + length)
            if stored != _crc32(data, _IDAT_CRC):
                raise InvalidPng("CRC mismatch in IDAT chunk")
            if length:
                self._idat_pending.append(data)
            self._chunk_type = ctype
            self._fed += 12 + length
            self._steps += 1
            pos += 12 + length
        return pos

    def _on_signature_bytes(self) -> None:
        head = bytes(self._small)
        if _compatible(head, _PNG_MAGIC):
            if len(head) == len(PNG_SIGNATURE):
                self._small.clear()
                self._state, self._need = _CHUNK_HEADER, 8
            return
        if head.startswith(PNG_SIGNATURE[:4]):
            # Typically a text-mode transfer that rewrote the line endings: say so at once
            # rather than waiting for the longest foreign signature (DICOM's) to rule out.
            raise InvalidPng("corrupt PNG signature (was the file transferred in text mode?)")
        for name, magic in _OTHER_FORMATS:
            if len(head) >= magic[0] and _compatible(head, magic):
                raise UnsupportedImage(f"upload is in {name} format; a 16-bit grayscale PNG is required")
        if not any(_compatible(head, magic) for _, magic in _OTHER_FORMATS):
            raise InvalidPng("upload is not a PNG image (no PNG signature) nor any recognised image format")
        self._need = _SNIFF_LENGTH

    def _on_chunk_header(self) -> None:
        length, ctype = _HEADER.unpack(self._small)
        self._small.clear()
        if length > _MAX_CHUNK_LENGTH:
            raise InvalidPng(f"chunk length {length} exceeds 2^31-1")
        if not all(b in _ASCII_LETTERS for b in ctype):
            raise InvalidPng(f"invalid chunk type {ctype!r}")
        self._check_chunk_order(ctype, length)
        self._chunk_type = ctype
        self._chunk_remaining = length
        self._crc = zlib.crc32(ctype)
        if length:
            self._state = _CHUNK_DATA
        else:
            self._expect_crc()

    def _check_chunk_order(self, ctype: bytes, length: int) -> None:
        name = ctype.decode("ascii")
        if self._info is None:
            if ctype != b"IHDR":
                raise InvalidPng(f"first chunk is {name}; PNG requires IHDR first")
            if length != 13:
                raise InvalidPng(f"IHDR length is {length}; must be 13")
            return
        if ctype == b"IDAT":
            if self._idat_state == 2:
                raise InvalidPng("IDAT chunks are not consecutive")
            self._idat_state = 1
            return
        if self._idat_state == 1:
            self._idat_state = 2
            assert self._inflater is not None
            self._flush_idat()
            self._inflater.end()  # the zlib stream must be complete at the end of the IDAT run
        if ctype == b"IHDR":
            raise InvalidPng("duplicate IHDR chunk")
        if ctype == b"PLTE":
            raise InvalidPng("PLTE chunk is not allowed in a grayscale PNG")
        if ctype == b"IEND":
            if self._idat_state == 0:
                raise InvalidPng("IEND before any IDAT chunk: the PNG has no image data")
            if length != 0:
                raise InvalidPng(f"IEND length is {length}; must be 0")
            return
        if not ctype[0] & 0x20:
            raise InvalidPng(f"unknown critical chunk {name}")

    def _expect_crc(self) -> None:
        self._state, self._need = _CHUNK_CRC, 4

    def _on_chunk_crc(self) -> None:
        (stored,) = _CRC.unpack(self._small)
        self._small.clear()
        name = self._chunk_type.decode("ascii")
        if stored != self._crc:
            raise InvalidPng(f"CRC mismatch in {name} chunk")
        if self._chunk_type == b"IHDR":
            self._on_ihdr(bytes(self._ihdr_body))
        elif self._chunk_type == b"IEND":
            self._state = _DONE
            return
        self._state, self._need = _CHUNK_HEADER, 8

    def _on_ihdr(self, body: bytes) -> None:
        width, height, depth, ctype, compression, filter_method, interlace = struct.unpack(">IIBBBBB", body)
        if not (0 < width <= _MAX_CHUNK_LENGTH and 0 < height <= _MAX_CHUNK_LENGTH):
            raise InvalidPng(f"invalid IHDR dimensions {width}x{height}")
        if depth not in _BIT_DEPTHS.get(ctype, ()):
            raise InvalidPng(f"invalid IHDR: bit depth {depth} with colour type {ctype}")
        if compression != 0 or filter_method != 0 or interlace not in (0, 1):
            raise InvalidPng(f"invalid IHDR: compression {compression}, filter {filter_method}, interlace {interlace}")
        self._info = PngInfo(width, height, depth, ctype, bool(interlace))
        if depth != 16 or ctype != 0:
            raise UnsupportedImage(f"PNG is {depth}-bit {_COLOR_NAMES[ctype]}; a 16-bit grayscale PNG is required")
        if width * height > self._max_pixels:
            raise ImageTooLarge(
                f"image is {width}x{height} = {width * height} pixels; at most {self._max_pixels} are accepted"
            )
        self._inflater = _IdatInflater(_scanline_runs(width, height, bool(interlace)))

    def _raise_truncated(self) -> None:
        if self._fed == 0:
            raise InvalidPng("empty upload: no image data")
        if self._state == _SIGNATURE:
            if _compatible(bytes(self._small), _PNG_MAGIC):
                raise InvalidPng("PNG truncated inside its signature")
            raise InvalidPng("upload is not a PNG image (no PNG signature) nor any recognised image format")
        if self._state == _CHUNK_HEADER and self._inflater is not None and self._idat_state == 1:
            self._inflater.end()  # if the zlib stream is unfinished, say so: it is the likelier news
        where = "between chunks" if self._state == _CHUNK_HEADER else f"inside the {self._chunk_type.decode()} chunk"
        raise InvalidPng(f"PNG truncated after {self._fed} bytes, {where}; IEND missing")


def _scanline_runs(width: int, height: int, interlaced: bool) -> list[tuple[int, int]]:
    """The inflated stream's layout as (rows, bytes per row incl. filter byte) runs."""
    if not interlaced:
        return [(height, 1 + width * 2)]
    runs = []
    for x0, y0, dx, dy in _ADAM7:
        cols = (width - x0 + dx - 1) // dx if width > x0 else 0
        rows = (height - y0 + dy - 1) // dy if height > y0 else 0
        if cols and rows:
            runs.append((rows, 1 + cols * 2))
    return runs


def _ended(decompressor: Decompressor) -> bool:
    """``decompressor.eof``, read through a call: it changes as data is fed, which a type checker cannot see."""
    return decompressor.eof


def _crc32(data: memoryview, crc: int) -> int:
    """``zlib.crc32(data, crc)`` without letting go of the GIL.

    zlib's crc32 releases the GIL for more than 5 KiB, which costs far more than it saves here:
    a CRC of an 8 KiB IDAT chunk (libpng's size) takes about 1 us, but getting the GIL back while
    the event loop or another upload's validator holds it takes up to a switch interval, and an
    upload has one such chunk per 8 KiB (a convoy: ~190 us a call instead of 0.4 us, measured).
    """
    for start in range(0, len(data), _CRC_SLICE):
        crc = zlib.crc32(data[start : start + _CRC_SLICE], crc)
    return crc


class _IdatInflater:
    """Inflates the IDAT stream in bounded pieces, checks each scanline's filter type byte and
    that the stream inflates to exactly the size the IHDR implies; keeps no pixel data."""

    def __init__(self, runs: list[tuple[int, int]]) -> None:
        self._runs = runs
        self._expected = sum(rows * stride for rows, stride in runs)
        self._produced = 0
        self._decompressor: Decompressor = inflater.decompressobj()
        self._run = 0
        self._rows_left, self._stride = runs[0]
        self._rows_done = 0
        self._offset = 0  # position of the next filter byte relative to the next output piece
        self.calls = 0

    def feed(self, data: memoryview) -> None:
        decompressor = self._decompressor
        for start in range(0, len(data), _IN_PIECE):
            if _ended(decompressor):
                raise InvalidPng("IDAT data continues after the end of the zlib stream")
            pending: bytes | memoryview = data[start : start + _IN_PIECE]
            while True:
                self.calls += 1
                limit = min(_OUT_PIECE, self._expected - self._produced + 1)
                try:
                    out = decompressor.decompress(pending, limit)
                except (InflateError, ZlibError) as exc:
                    raise InvalidPng(f"IDAT zlib stream is corrupt: {exc}") from None
                if out:
                    self._scan(out)
                if _ended(decompressor):
                    self._check_complete()
                    break
                # A full output piece may leave output pending inside zlib even when all
                # input was consumed, so only a short piece means "need more input".
                if len(out) < limit:
                    break
                pending = decompressor.unconsumed_tail

    def end(self) -> None:
        """The IDAT run is over: the zlib stream must have ended."""
        if not self._decompressor.eof:
            raise InvalidPng(
                f"IDAT zlib stream is truncated: it inflated to {self._produced} of "
                f"{self._expected} expected bytes and did not end"
            )

    def _check_complete(self) -> None:
        if self._decompressor.unused_data:
            raise InvalidPng("IDAT data continues after the end of the zlib stream")
        if self._produced != self._expected:
            raise InvalidPng(f"IDAT inflates to {self._produced} bytes; the IHDR implies {self._expected}")

    def _scan(self, out: bytes) -> None:
        self._produced += len(out)
        if self._produced > self._expected:
            raise InvalidPng(f"IDAT inflates to more than the {self._expected} bytes the IHDR implies")
        size = len(out)
        offset = self._offset
        while offset < size:
            stride = self._stride
            rows = min(self._rows_left, (size - offset + stride - 1) // stride)
            # Slicing with a step copies only the filter bytes; translate() finds any outside 0..4.
            filter_bytes = out[offset : offset + (rows - 1) * stride + 1 : stride]
            if filter_bytes.translate(None, _VALID_FILTER_TYPES):
                index = next(i for i, b in enumerate(filter_bytes) if b > 4)
                raise InvalidPng(f"scanline {self._rows_done + index} has invalid filter type {filter_bytes[index]}")
            offset += rows * stride
            self._rows_done += rows
            self._rows_left -= rows
            if self._rows_left == 0:
                self._run += 1
                if self._run == len(self._runs):
                    break  # stream complete; _produced > _expected catches any more output
                self._rows_left, self._stride = self._runs[self._run]
        self._offset = offset - size
