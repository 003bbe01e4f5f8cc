"""Codecs: 16-bit PNG/TIFF round-trip exactly, JPEG/GIF are 8-bit, bytes are deterministic."""

from __future__ import annotations

import io
import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image

from filters_server.imaging import OUTPUT_TYPES, decode_png16, encode


@pytest.fixture
def image() -> np.ndarray:
    rng = np.random.default_rng(7)
    ramp = np.linspace(0, 65535, 96 * 128).reshape(96, 128)
    return np.clip(ramp + rng.normal(0, 300, ramp.shape), 0, 65535).astype(np.uint16)


def _decode_any(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)


def test_output_types_are_png_tiff_jpeg_gif_dicom_with_png_first() -> None:
    assert OUTPUT_TYPES == ("image/png", "image/tiff", "image/jpeg", "image/gif", "application/dicom")


@pytest.mark.parametrize("media_type", ["image/png", "image/tiff"])
def test_16bit_formats_round_trip_exactly(image: np.ndarray, media_type: str) -> None:
    back = _decode_any(encode(image, media_type))
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back, image)


def test_png_round_trips_through_decode_png16(image: np.ndarray) -> None:
    np.testing.assert_array_equal(decode_png16(encode(image, "image/png")), image)


def test_gif_is_the_image_scaled_linearly_to_8_bits(image: np.ndarray) -> None:
    data = encode(image, "image/gif")
    assert data[:6] in (b"GIF87a", b"GIF89a")
    back = np.asarray(Image.open(io.BytesIO(data)).convert("L"))
    expected = np.rint(image.astype(np.float64) * 255 / 65535).astype(np.uint8)
    np.testing.assert_array_equal(back, expected)


def test_jpeg_is_8bit_grayscale_close_to_the_linear_scaling(image: np.ndarray) -> None:
    back = _decode_any(encode(image, "image/jpeg"))
    assert back.dtype == np.uint8 and back.ndim == 2
    expected = image.astype(np.float64) * 255 / 65535
    assert np.abs(back - expected).mean() < 2.0


def test_8bit_white_point_can_be_lowered_for_sensor_values() -> None:
    sensor = np.array([[0, 2047, 4095, 5000]], np.uint16)
    back = np.asarray(Image.open(io.BytesIO(encode(sensor, "image/gif", white=4095))).convert("L"))
    assert back.tolist() == [[0, 127, 255, 255]]


# DICOM is written by imaging.dicom (tests/imaging/test_dicom.py), not by encode().
@pytest.mark.parametrize("media_type", [kind for kind in OUTPUT_TYPES if kind.startswith("image/")])
def test_encoding_is_byte_identical_across_calls(image: np.ndarray, media_type: str) -> None:
    assert encode(image, media_type) == encode(image.copy(), media_type)


def test_unknown_media_type_is_rejected(image: np.ndarray) -> None:
    with pytest.raises(ValueError, match="image/webp"):
        encode(image, "image/webp")


@pytest.mark.parametrize("bad", [np.zeros((4, 4), np.uint8), np.zeros((4, 4, 3), np.uint16)])
def test_encode_rejects_anything_but_2d_uint16(bad: np.ndarray) -> None:
    with pytest.raises(ValueError):
        encode(bad, "image/png")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "signature"),
        (b"GIF89a....", "signature"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "decoded"),
        (cv2.imencode(".png", np.zeros((4, 4), np.uint8))[1].tobytes(), "16-bit"),
        (cv2.imencode(".png", np.zeros((4, 4, 3), np.uint16))[1].tobytes(), "grayscale"),
    ],
    ids=["empty", "gif", "truncated", "8-bit", "colour"],
)
def test_decode_png16_rejects_what_is_not_a_16bit_grayscale_png(data: bytes, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        decode_png16(data)


def test_png_rows_all_use_the_sub_filter(image: np.ndarray) -> None:
    data = encode(image, "image/png")
    idat, pos = b"", 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        if data[pos + 4 : pos + 8] == b"IDAT":
            idat += data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = 1 + image.shape[1] * 2
    assert {raw[row * stride] for row in range(image.shape[0])} == {1}  # 1: Sub


def test_png_holds_the_same_pixels_as_tiff(image: np.ndarray) -> None:
    png = cv2.imdecode(np.frombuffer(encode(image, "image/png"), np.uint8), cv2.IMREAD_UNCHANGED)
    tiff = cv2.imdecode(np.frombuffer(encode(image, "image/tiff"), np.uint8), cv2.IMREAD_UNCHANGED)
    assert np.array_equal(png, image) and np.array_equal(tiff, image)
