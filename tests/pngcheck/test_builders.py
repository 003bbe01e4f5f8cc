"""The builders the other tests rely on make what they claim (checked against libpng)."""

import zlib

import cv2
import numpy as np
import pytest

from .conftest import adam7_png, gray16, png, scanlines, zeros_bomb


@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (9, 9), (17, 33)])
def test_adam7_builder_output_decodes_with_libpng_to_the_same_pixels(shape):
    pixels = gray16(*shape, seed=3)
    decoded = cv2.imdecode(np.frombuffer(adam7_png(pixels), np.uint8), cv2.IMREAD_UNCHANGED)
    assert decoded.dtype == np.uint16
    np.testing.assert_array_equal(decoded, pixels)


def test_hand_built_png_decodes_with_libpng_to_the_same_pixels():
    pixels = gray16(5, 7, seed=4)
    data = png(7, 5, scanlines(pixels))
    np.testing.assert_array_equal(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED), pixels)


def test_zeros_bomb_is_a_valid_zlib_stream_of_the_requested_size():
    assert zlib.decompress(zeros_bomb(8 << 20)) == bytes(8 << 20)
