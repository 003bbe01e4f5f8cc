"""Properties over generated input: any chunking of a valid PNG is accepted; anything else is
rejected with a PngRejected, never another exception; what is accepted, libpng can decode."""

import struct
import zlib

import cv2
import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from filters_server.core.pngcheck import PngInfo, PngRejected, PngValidator

from .conftest import (
    SIGNATURE,
    adam7_png,
    adam7_scanlines,
    chop,
    chunk,
    gray16,
    gray16_png,
    ihdr_data,
    scanlines,
    split_chunks,
)

fuzz = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

small_side = st.integers(1, 24)


@st.composite
def valid_pngs(draw) -> tuple[bytes, PngInfo]:
    height, width = draw(small_side), draw(small_side)
    seed = draw(st.integers(0, 3))
    if draw(st.booleans()):
        return adam7_png(gray16(height, width, seed)), PngInfo(width, height, 16, 0, True)
    return gray16_png(height, width, seed), PngInfo(width, height, 16, 0, False)


def piece_sizes(max_size: int = 64) -> st.SearchStrategy[list[int]]:
    return st.lists(st.integers(0, max_size), max_size=200)


def outcome(data: bytes, pieces: list[int] | None = None) -> PngInfo | PngRejected:
    """The validator's verdict; any exception other than PngRejected escapes and fails the test."""
    validator = PngValidator(max_pixels=10_000)
    try:
        for piece in chop(data, pieces):
            validator.feed(piece)
        return validator.finish()
    except PngRejected as rejected:
        return rejected


def decodes_as_16bit_gray(data: bytes, info: PngInfo) -> bool:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    return image is not None and image.dtype == np.uint16 and image.shape == (info.height, info.width)


@fuzz
@given(valid_pngs(), piece_sizes())
def test_any_chunking_of_a_valid_png_is_accepted(png_and_info, pieces):
    data, info = png_and_info
    assert outcome(data, pieces) == info


@fuzz
@given(st.binary(max_size=600), piece_sizes())
def test_arbitrary_bytes_are_rejected_cleanly(data, pieces):
    assert isinstance(outcome(data, pieces), PngRejected)


@fuzz
@given(st.binary(max_size=600), piece_sizes())
def test_arbitrary_bytes_after_a_png_signature_are_rejected_cleanly(data, pieces):
    assert isinstance(outcome(SIGNATURE + data, pieces), PngRejected)


@fuzz
@given(valid_pngs(), st.data())
def test_every_single_byte_corruption_is_rejected(png_and_info, data):
    original, _ = png_and_info
    position = data.draw(st.integers(0, len(original) - 1))
    xor = data.draw(st.integers(1, 255))
    corrupt = bytearray(original)
    corrupt[position] ^= xor
    assert isinstance(outcome(bytes(corrupt), data.draw(piece_sizes())), PngRejected)


@fuzz
@given(valid_pngs(), st.data())
def test_edited_chunk_with_repaired_crc_is_accepted_only_if_libpng_decodes_it(png_and_info, data):
    """Editing chunk data and fixing its CRC gets past the CRC into IHDR, zlib and scanline
    checks; whatever passes them must really be a decodable 16-bit grayscale image."""
    original, _ = png_and_info
    chunks = split_chunks(original)
    index = data.draw(st.integers(0, len(chunks) - 2))  # IHDR or an IDAT
    ctype, body = chunks[index]
    body = bytearray(body)
    for _ in range(data.draw(st.integers(1, 3))):
        if body and data.draw(st.booleans()):
            body[data.draw(st.integers(0, len(body) - 1))] = data.draw(st.integers(0, 255))
        elif ctype == b"IDAT":
            cut = data.draw(st.integers(0, len(body)))
            body[cut:cut] = data.draw(st.binary(min_size=1, max_size=4))
    chunks[index] = (ctype, bytes(body))
    edited = SIGNATURE + b"".join(chunk(t, b) for t, b in chunks)
    verdict = outcome(edited, data.draw(piece_sizes()))
    if isinstance(verdict, PngInfo):
        assert decodes_as_16bit_gray(edited, verdict)


@st.composite
def chunk_soups(draw) -> bytes:
    """Well-framed chunks with correct CRCs, mostly in PNG's order (IHDR, others, IDAT run,
    others, IEND) with pieces missing, sometimes shuffled; IDATs are right-sized for either
    interlace mode, halved, or random bytes."""
    width, height = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    pixels = gray16(height, width)
    streams = [zlib.compress(scanlines(pixels)), zlib.compress(adam7_scanlines(pixels))]
    stream = draw(st.one_of(st.sampled_from(streams), st.binary(max_size=40)))
    cuts = sorted(draw(st.lists(st.integers(0, len(stream)), max_size=3)))
    idats = [(b"IDAT", stream[a:b]) for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=False)]
    if not draw(st.integers(0, 3)):
        del idats[draw(st.integers(0, len(idats) - 1))]
    ancillary = st.sampled_from([(b"tEXt", b"k\0v"), (b"gAMA", bytes(4)), (b"zzZz", b"")])
    misplaced = st.sampled_from(
        [(b"IEND", b""), (b"IEND", b"x"), (b"PLTE", bytes(6)), (b"ABCD", b""), (b"IHDR", bytes(13))]
    )
    other = st.lists(st.one_of(ancillary, misplaced) if not draw(st.integers(0, 3)) else ancillary, max_size=2)
    if draw(st.integers(0, 3)):
        fields = (16, 0, draw(st.integers(0, 1)))
    else:
        fields = (draw(st.sampled_from([1, 8, 16])), draw(st.sampled_from([0, 2, 3, 4, 6])), draw(st.integers(0, 2)))
    chunks = [(b"IHDR", ihdr_data(width, height, *fields))] if draw(st.integers(0, 7)) else []
    chunks += draw(other)
    chunks += idats
    chunks += draw(other)
    chunks += [(b"IEND", b"")] if draw(st.integers(0, 3)) else []
    if not draw(st.integers(0, 7)):
        chunks = draw(st.permutations(chunks))
    return SIGNATURE + b"".join(chunk(t, d) for t, d in chunks)


@fuzz
@given(chunk_soups(), piece_sizes())
def test_chunk_soup_is_rejected_cleanly_or_decodable(data, pieces):
    verdict = outcome(data, pieces)
    if isinstance(verdict, PngInfo):
        assert decodes_as_16bit_gray(data, verdict)


@fuzz
@given(valid_pngs(), st.integers(1, 2**32 - 1))
def test_forged_chunk_length_is_rejected_cleanly(png_and_info, length):
    original, _ = png_and_info
    assume(original[33:37] != struct.pack(">I", length))
    forged = original[:33] + struct.pack(">I", length) + original[37:]
    assert isinstance(outcome(forged), PngRejected)
