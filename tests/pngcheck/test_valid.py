"""16-bit grayscale PNGs are accepted whatever the chunking, and their IHDR facts reported."""

import zlib

import numpy as np
import pytest

from filters_server.core.pngcheck import PngInfo, PngValidator

from .conftest import SIGNATURE, adam7_png, chunk, gray16, gray16_png, ihdr, png, scanlines, validate


@pytest.mark.parametrize("shape", [(1, 1), (3, 7), (48, 64), (257, 301)])
def test_accepts_libpng_16bit_grayscale(shape):
    height, width = shape
    assert validate(gray16_png(height, width)) == PngInfo(width, height, 16, 0, False)


@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (8, 8), (9, 9), (17, 33), (64, 5)])
def test_accepts_adam7_interlaced_16bit_grayscale(shape):
    height, width = shape
    assert validate(adam7_png(gray16(height, width))) == PngInfo(width, height, 16, 0, True)


def test_accepts_input_fed_one_byte_at_a_time():
    assert validate(gray16_png(13, 11), 1) == PngInfo(11, 13, 16, 0, False)


def test_accepts_interlaced_input_fed_one_byte_at_a_time():
    assert validate(adam7_png(gray16(11, 13)), 1).interlaced


def test_accepts_bytearray_and_memoryview_pieces():
    data = gray16_png(20, 30)
    validator = PngValidator()
    validator.feed(bytearray(data[:100]))
    validator.feed(memoryview(data)[100:])
    assert validator.finish().width == 30


def test_accepts_empty_feeds():
    data = gray16_png(4, 4)
    validator = PngValidator()
    for piece in (b"", data[:50], b"", data[50:], b""):
        validator.feed(piece)
    assert validator.finish().height == 4


def test_accepts_image_data_spread_over_many_idat_chunks_including_empty_ones():
    raw = scanlines(gray16(40, 40))
    stream = zlib.compress(raw)
    idats = [chunk(b"IDAT", stream[i : i + 100]) for i in range(0, len(stream), 100)]
    idats.insert(3, chunk(b"IDAT"))
    idats.append(chunk(b"IDAT"))
    data = SIGNATURE + ihdr(40, 40) + b"".join(idats) + chunk(b"IEND")
    assert validate(data).width == 40


def test_accepts_ancillary_chunks_before_and_after_the_image_data():
    before = [chunk(b"gAMA", (100000).to_bytes(4, "big")), chunk(b"tEXt", b"Software\0sensor")]
    after = [chunk(b"tIME", bytes(7)), chunk(b"zzZz", b"private, safe to copy")]
    assert validate(png(5, 5, before_idat=before, after_idat=after)).width == 5


@pytest.mark.parametrize("filter_type", [0, 1, 2, 3, 4])
def test_accepts_every_defined_filter_type(filter_type):
    raw = scanlines(gray16(6, 6), filter_type=filter_type)
    assert validate(png(6, 6, raw)).height == 6


def test_accepts_zlib_stream_split_at_every_possible_point_between_two_idat_chunks():
    stream = zlib.compress(scanlines(gray16(3, 4)))
    for cut in range(len(stream) + 1):
        data = SIGNATURE + ihdr(4, 3) + chunk(b"IDAT", stream[:cut]) + chunk(b"IDAT", stream[cut:]) + chunk(b"IEND")
        assert validate(data).width == 4


def test_info_is_available_as_soon_as_the_ihdr_was_read():
    data = gray16_png(10, 20)
    validator = PngValidator()
    validator.feed(data[:32])  # signature + IHDR except the last CRC byte
    assert validator.info is None
    validator.feed(data[32:33])
    assert validator.info == PngInfo(20, 10, 16, 0, False)


def test_finish_returns_the_same_info_when_called_again():
    validator = PngValidator()
    validator.feed(gray16_png(2, 2))
    assert validator.finish() == validator.finish() == validator.info


def test_accepts_image_of_exactly_max_pixels():
    assert validate(gray16_png(10, 10), max_pixels=100).width == 10


def test_accepts_all_pixel_values():
    pixels = np.arange(65536, dtype=np.uint16).reshape(256, 256)
    assert validate(png(256, 256, scanlines(pixels))).width == 256


def test_feeding_after_finish_is_a_programming_error():
    validator = PngValidator()
    validator.feed(gray16_png(2, 2))
    validator.finish()
    with pytest.raises(RuntimeError):
        validator.feed(b"")
