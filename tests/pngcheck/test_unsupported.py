"""Recognisable images that are not 16-bit grayscale PNGs are UnsupportedImage (415), named."""

import cv2
import numpy as np
import pytest

from filters_server.core.pngcheck import PngValidator, UnsupportedImage

from .conftest import SIGNATURE, chunk, ihdr, png


def rejected_by_feed(data: bytes) -> UnsupportedImage:
    with pytest.raises(UnsupportedImage) as caught:
        PngValidator().feed(data)
    return caught.value


def encoded(ext: str, pixels: np.ndarray) -> bytes:
    ok, data = cv2.imencode(ext, pixels)
    assert ok
    return data.tobytes()


GRAY8 = np.full((64, 64), 128, np.uint8)
BGR8 = np.full((64, 64, 3), 128, np.uint8)


@pytest.mark.parametrize(
    "pixels, kind",
    [
        (GRAY8, "8-bit grayscale"),
        (BGR8, "8-bit RGB"),
        (BGR8.astype(np.uint16) * 257, "16-bit RGB"),
        (np.dstack([BGR8, GRAY8]), "8-bit RGBA"),
        (np.dstack([BGR8, GRAY8]).astype(np.uint16), "16-bit RGBA"),
    ],
)
def test_libpng_png_of_another_kind_is_unsupported_and_named(pixels, kind):
    error = rejected_by_feed(encoded(".png", pixels))
    assert str(error) == f"PNG is {kind}; a 16-bit grayscale PNG is required"


@pytest.mark.parametrize(
    "bit_depth, color_type, kind",
    [
        (1, 0, "1-bit grayscale"),
        (8, 3, "8-bit palette"),
        (4, 3, "4-bit palette"),
        (8, 4, "8-bit grayscale+alpha"),
        (16, 4, "16-bit grayscale+alpha"),
    ],
)
def test_hand_built_png_of_another_kind_is_unsupported_and_named(bit_depth, color_type, kind):
    data = png(4, 4, bit_depth=bit_depth, color_type=color_type)
    assert kind in str(rejected_by_feed(data))


def test_other_png_kind_is_rejected_as_soon_as_the_ihdr_is_complete():
    validator = PngValidator()
    with pytest.raises(UnsupportedImage):
        validator.feed(SIGNATURE + ihdr(4, 4, 8, 2))
    assert validator.info is not None and validator.info.color_type == 2


def test_unsupported_png_kind_is_reported_before_a_later_palette_would_be():
    data = SIGNATURE + ihdr(4, 4, 8, 3) + chunk(b"PLTE", bytes(3))
    rejected_by_feed(data)


@pytest.mark.parametrize(
    "ext, pixels, name",
    [
        (".jpg", GRAY8, "JPEG"),
        (".gif", BGR8, "GIF"),
        (".bmp", GRAY8, "BMP"),
        (".tiff", GRAY8, "TIFF"),
        (".tiff", GRAY8.astype(np.uint16), "TIFF"),
        (".webp", BGR8, "WebP"),
        (".jp2", BGR8, "JPEG 2000"),
        (".pgm", GRAY8, "PNM"),
        (".avif", BGR8, "AVIF"),
    ],
)
def test_other_image_format_is_unsupported_and_named(ext, pixels, name):
    error = rejected_by_feed(encoded(ext, pixels))
    assert str(error) == f"upload is in {name} format; a 16-bit grayscale PNG is required"


@pytest.mark.parametrize(
    "ext, pixels",
    [(".jpg", GRAY8), (".tiff", GRAY8), (".webp", BGR8), (".jp2", BGR8)],
)
def test_other_image_format_is_recognised_from_its_first_sixteen_bytes(ext, pixels):
    validator = PngValidator()
    with pytest.raises(UnsupportedImage):
        for byte in encoded(ext, pixels)[:16]:
            validator.feed(bytes([byte]))


def test_dicom_file_is_unsupported_and_named():
    data = bytes(128) + b"DICM" + b"\x02\x00\x00\x00UL\x04\x00" + bytes(100)
    assert "DICOM" in str(rejected_by_feed(data))


def test_unsupported_status_is_415():
    assert rejected_by_feed(encoded(".jpg", GRAY8)).kind == "unsupported"
