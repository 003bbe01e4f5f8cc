"""Corrupt PNGs are InvalidPng (400), rejected by the first feed() that contains the defect."""

import struct
import zlib

import pytest

from filters_server.core.pngcheck import InvalidPng, PngValidator

from .conftest import (
    SIGNATURE,
    adam7_scanlines,
    chunk,
    gray16,
    gray16_png,
    ihdr,
    ihdr_data,
    join_chunks,
    png,
    scanlines,
    split_chunks,
    validate,
)


def rejected_by_feed(data: bytes) -> InvalidPng:
    """Feeds ``data`` whole and returns the InvalidPng that feed() (not finish()) raised."""
    with pytest.raises(InvalidPng) as caught:
        PngValidator().feed(data)
    return caught.value


def with_chunk_replaced(data: bytes, index: int, ctype: bytes, body: bytes) -> bytes:
    chunks = split_chunks(data)
    chunks[index] = (ctype, body)
    return join_chunks(chunks)


# --- signature and framing ---------------------------------------------------------------------


def test_text_mode_mangled_signature_is_invalid():
    data = gray16_png(4, 4).replace(b"\r\n", b"\n", 1)
    validator = PngValidator()
    with pytest.raises(InvalidPng, match="corrupt PNG signature"):
        validator.feed(data[:8])


def test_unrecognisable_bytes_are_invalid():
    assert "not a PNG" in str(rejected_by_feed(b"hello, this is not an image at all " * 10))


def test_short_unrecognisable_upload_is_invalid_at_finish():
    validator = PngValidator()
    validator.feed(b"hello")
    with pytest.raises(InvalidPng, match="not a PNG"):
        validator.finish()


def test_chunk_length_above_2_to_the_31_is_invalid():
    data = SIGNATURE + struct.pack(">I", 2**31) + b"IHDR"
    assert "length" in str(rejected_by_feed(data))


def test_chunk_type_with_non_letter_is_invalid():
    data = png(4, 4, after_idat=[chunk(b"te1t", b"x")])
    assert "chunk type" in str(rejected_by_feed(data))


def test_first_chunk_other_than_ihdr_is_invalid():
    data = SIGNATURE + chunk(b"tEXt", b"a\0b") + ihdr(1, 1)
    assert "IHDR first" in str(rejected_by_feed(data))


def test_ihdr_of_wrong_length_is_invalid():
    data = SIGNATURE + chunk(b"IHDR", ihdr_data(1, 1) + b"\0")
    assert "IHDR length" in str(rejected_by_feed(data))


def test_duplicate_ihdr_is_invalid():
    assert "duplicate IHDR" in str(rejected_by_feed(png(1, 1, before_idat=[ihdr(1, 1)])))


def test_unknown_critical_chunk_is_invalid():
    assert "critical" in str(rejected_by_feed(png(1, 1, before_idat=[chunk(b"CgBI", bytes(4))])))


def test_palette_in_grayscale_png_is_invalid():
    assert "PLTE" in str(rejected_by_feed(png(1, 1, before_idat=[chunk(b"PLTE", bytes(3))])))


def test_iend_before_any_idat_is_invalid():
    data = SIGNATURE + ihdr(1, 1) + chunk(b"IEND")
    assert "no image data" in str(rejected_by_feed(data))


def test_iend_with_data_is_invalid():
    data = png(1, 1)[:-12] + chunk(b"IEND", b"x")
    assert "IEND length" in str(rejected_by_feed(data))


def test_non_consecutive_idat_chunks_are_invalid():
    stream = zlib.compress(bytes(2 * 3))
    data = (
        SIGNATURE
        + ihdr(1, 2)
        + chunk(b"IDAT", stream[:4])
        + chunk(b"tEXt", b"a\0b")
        + chunk(b"IDAT", stream[4:])
        + chunk(b"IEND")
    )
    rejected_by_feed(data)


@pytest.mark.parametrize("trailer", [b"\0", b"garbage after the end", chunk(b"IEND")])
def test_data_after_iend_is_invalid(trailer):
    assert "after the IEND" in str(rejected_by_feed(gray16_png(3, 3) + trailer))


# --- CRCs --------------------------------------------------------------------------------------


@pytest.mark.parametrize("index", [0, 1, 2], ids=["IHDR", "IDAT", "IEND"])
def test_wrong_crc_is_invalid(index):
    data = gray16_png(8, 8)
    chunks = split_chunks(data)
    ctype, _body = chunks[index]
    corrupt = SIGNATURE + b"".join(
        chunk(t, b, crc=zlib.crc32(t + b) ^ 1 if i == index else None) for i, (t, b) in enumerate(chunks)
    )
    assert f"CRC mismatch in {ctype.decode()}" in str(rejected_by_feed(corrupt))


def test_wrong_crc_in_ancillary_chunk_is_invalid():
    data = png(2, 2, before_idat=[chunk(b"tEXt", b"a\0b", crc=0)])
    assert "CRC mismatch in tEXt" in str(rejected_by_feed(data))


def test_corrupt_ihdr_of_an_unsupported_kind_is_invalid_not_unsupported():
    data = SIGNATURE + chunk(b"IHDR", ihdr_data(4, 4, 8, 2), crc=0)
    rejected_by_feed(data)


def test_bit_flip_in_idat_data_is_caught_by_crc():
    data = bytearray(gray16_png(8, 8))
    data[33 + 8 + 10] ^= 0x10
    rejected_by_feed(bytes(data))


@pytest.mark.parametrize("offset", [0, 5 * 1024 - 1, 5 * 1024, 40_000, 65_535])
def test_bit_flip_anywhere_in_a_large_idat_chunk_is_caught_by_crc(offset):
    """The CRC of a long chunk is computed in slices (so the GIL is kept): every slice counts."""
    good = png(256, 128, scanlines(gray16(128, 256, seed=5)), idat_size=1 << 20)  # noise: one IDAT of 64 KiB+
    (idat,) = [body for ctype, body in split_chunks(good) if ctype == b"IDAT"]
    assert len(idat) > 65_536
    flipped = bytearray(good)
    flipped[good.index(b"IDAT") + 4 + offset] ^= 0x01
    PngValidator().feed(good)
    assert "CRC mismatch in IDAT" in str(rejected_by_feed(bytes(flipped)))


# --- IHDR fields -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"width": 0, "height": 1},
        {"width": 1, "height": 0},
        {"width": 2**31, "height": 1},
        {"width": 1, "height": 1, "bit_depth": 16, "color_type": 3},
        {"width": 1, "height": 1, "bit_depth": 12, "color_type": 0},
        {"width": 1, "height": 1, "color_type": 5},
        {"width": 1, "height": 1, "compression": 1},
        {"width": 1, "height": 1, "filter_method": 1},
        {"width": 1, "height": 1, "interlace": 2},
    ],
    ids=lambda f: ",".join(f"{k}={v}" for k, v in f.items()),
)
def test_invalid_ihdr_field_is_invalid(fields):
    rejected_by_feed(SIGNATURE + chunk(b"IHDR", ihdr_data(**fields)))


# --- image data --------------------------------------------------------------------------------


def test_idat_that_inflates_to_too_few_rows_is_invalid():
    data = png(4, 4, scanlines(gray16(3, 4)))
    assert "IDAT inflates to 27 bytes; the IHDR implies 36" in str(rejected_by_feed(data))


def test_idat_that_inflates_to_extra_rows_is_invalid():
    data = png(4, 4, scanlines(gray16(5, 4)))
    assert "more than the 36 bytes" in str(rejected_by_feed(data))


def test_idat_with_one_extra_byte_is_invalid():
    data = png(4, 4, scanlines(gray16(4, 4)) + b"\0")
    rejected_by_feed(data)


def test_interlaced_idat_sized_for_a_non_interlaced_image_is_invalid():
    data = png(5, 5, scanlines(gray16(5, 5)), interlace=1)
    rejected_by_feed(data)


def test_non_interlaced_idat_sized_for_an_interlaced_image_is_invalid():
    data = png(5, 5, adam7_scanlines(gray16(5, 5)))
    rejected_by_feed(data)


@pytest.mark.parametrize("row", [0, 3, 7])
def test_invalid_filter_type_is_invalid_and_names_the_scanline(row):
    raw = bytearray(scanlines(gray16(8, 8)))
    raw[row * (1 + 8 * 2)] = 5
    assert f"scanline {row} has invalid filter type 5" in str(rejected_by_feed(png(8, 8, bytes(raw))))


def test_invalid_filter_type_in_a_late_adam7_pass_is_invalid():
    raw = bytearray(adam7_scanlines(gray16(8, 8)))
    # Pass 7 (rows 1,3,5,7, full width) holds the last 4 scanlines of 1 + 8*2 bytes.
    raw[len(raw) - 2 * 17] = 0xFF
    assert "invalid filter type 255" in str(rejected_by_feed(png(8, 8, bytes(raw), interlace=1)))


def test_invalid_filter_type_in_a_large_image_is_found_wherever_the_output_pieces_split():
    raw = bytearray(scanlines(gray16(600, 700)))
    raw[599 * (1 + 700 * 2)] = 9  # the last scanline, far beyond the first inflate piece
    assert "scanline 599" in str(rejected_by_feed(png(700, 600, bytes(raw))))


def test_corrupt_zlib_stream_is_invalid():
    assert "zlib" in str(rejected_by_feed(png(4, 4, stream=b"\x78\x9c\xff\xff\xff\xff")))


def test_zlib_stream_with_wrong_adler32_is_invalid():
    stream = zlib.compress(bytes(4 * 9))
    rejected_by_feed(png(4, 4, stream=stream[:-1] + bytes([stream[-1] ^ 1])))


def test_zlib_stream_that_does_not_end_with_the_last_idat_is_invalid():
    compressor = zlib.compressobj()
    unfinished = compressor.compress(bytes(4 * 9)) + compressor.flush(zlib.Z_SYNC_FLUSH)
    assert "did not end" in str(rejected_by_feed(png(4, 4, stream=unfinished)))


def test_data_after_the_end_of_the_zlib_stream_is_invalid():
    stream = zlib.compress(bytes(4 * 9)) + b"extra"
    assert "after the end of the zlib stream" in str(rejected_by_feed(png(4, 4, stream=stream)))


def test_idat_chunk_after_the_zlib_stream_ended_is_invalid():
    stream = zlib.compress(bytes(4 * 9))
    data = SIGNATURE + ihdr(4, 4) + chunk(b"IDAT", stream) + chunk(b"IDAT", b"\0") + chunk(b"IEND")
    rejected_by_feed(data)


def test_empty_idat_stream_is_invalid():
    data = SIGNATURE + ihdr(1, 1) + chunk(b"IDAT") + chunk(b"IEND")
    rejected_by_feed(data)


# --- rejection is final ------------------------------------------------------------------------


def test_after_a_rejection_every_call_raises_the_same_error():
    validator = PngValidator()
    with pytest.raises(InvalidPng) as first:
        validator.feed(b"definitely not a png, nor anything else " * 5)
    with pytest.raises(InvalidPng) as again:
        validator.feed(gray16_png(2, 2))
    with pytest.raises(InvalidPng) as at_finish:
        validator.finish()
    assert first.value is again.value is at_finish.value


def test_rejection_is_raised_by_the_feed_that_completes_the_defect():
    data = png(4, 4, after_idat=[chunk(b"tEXt", b"a\0b", crc=0)])
    validator = PngValidator()
    defect_end = data.index(b"tEXt") + 4 + 3 + 4
    validator.feed(data[: defect_end - 1])
    with pytest.raises(InvalidPng):
        validator.feed(data[defect_end - 1 : defect_end])


def test_invalid_status_is_400():
    assert rejected_by_feed(b"\0" * 200).kind == "corrupt"


def test_valid_png_still_passes_the_checks_used_here():
    assert validate(png(4, 4)).width == 4
