"""The server's PNG writer (imaging.png): every decoder reads back exactly the pixels written.

It replaced libpng (through OpenCV) for PNG outputs. The bytes differ from libpng's (another
deflate implementation), the pixels do not: checked against libpng's own file of the same image.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

import cv2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from filters_server.core.pngcheck import PngValidator
from filters_server.imaging import codecs
from filters_server.imaging import png as writer
from filters_server.imaging.png import encode_png16

from .png_files import chunks, idat_stream, libpng


def _pillow(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as picture:
        assert picture.mode in ("I;16", "I;16B", "I")
        return np.asarray(picture).astype(np.uint16)


def test_libpng_and_pillow_read_back_the_exact_pixels(sensor_image: np.ndarray) -> None:
    data = encode_png16(sensor_image)
    np.testing.assert_array_equal(libpng(data), sensor_image)
    np.testing.assert_array_equal(_pillow(data), sensor_image)


def test_pixels_are_those_of_libpngs_file_of_the_same_image(sensor_image: np.ndarray) -> None:
    ours = encode_png16(sensor_image)
    theirs = cv2.imencode(".png", sensor_image, codecs.LIBPNG_PARAMS)[1].tobytes()
    assert ours != theirs  # another deflate implementation: other bytes ...
    np.testing.assert_array_equal(libpng(ours), libpng(theirs))  # ... the same image


def test_files_are_no_larger_than_libpngs_at_the_settings_they_replaced(sensor_image: np.ndarray) -> None:
    theirs = cv2.imencode(".png", sensor_image, codecs.LIBPNG_PARAMS)[1].tobytes()
    assert len(encode_png16(sensor_image)) <= len(theirs)


def test_header_says_16_bit_grayscale_without_interlace(sensor_image: np.ndarray) -> None:
    kind, body = chunks(encode_png16(sensor_image))[0]
    assert kind == b"IHDR"
    assert struct.unpack(">IIBBBBB", body) == (320, 240, 16, 0, 0, 0, 0)


def test_every_row_uses_the_sub_filter(sensor_image: np.ndarray) -> None:
    raw = zlib.decompress(idat_stream(encode_png16(sensor_image)))
    stride = 1 + 2 * sensor_image.shape[1]
    assert len(raw) == stride * sensor_image.shape[0]
    assert set(raw[::stride]) == {1}


def test_an_image_of_many_strips_is_one_valid_stream(monkeypatch: pytest.MonkeyPatch, sensor_image: np.ndarray) -> None:
    monkeypatch.setattr(writer, "STRIP_BYTES", 3 * (2 * sensor_image.shape[1] + 1))  # three rows per strip
    data = encode_png16(sensor_image)
    kinds = [kind for kind, _ in chunks(data)]
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND" and set(kinds[1:-1]) == {b"IDAT"}
    np.testing.assert_array_equal(libpng(data), sensor_image)


def test_the_upload_validator_accepts_what_the_server_writes(sensor_image: np.ndarray) -> None:
    """A result downloaded as PNG can be uploaded again as a new image."""
    validator = PngValidator()
    data = encode_png16(sensor_image)
    for start in range(0, len(data), 4096):
        validator.feed(data[start : start + 4096])
    info = validator.finish()
    assert (info.width, info.height) == (320, 240)


@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (7, 1), (3, 2)])
def test_tiny_images_round_trip(shape: tuple[int, int]) -> None:
    image = np.arange(np.prod(shape), dtype=np.uint16).reshape(shape) * 9000
    np.testing.assert_array_equal(libpng(encode_png16(image)), image)


def test_extreme_values_survive_the_filters_wrap_around() -> None:
    image = np.tile(np.array([0, 65535, 1, 65534, 256, 255], np.uint16), (4, 3))
    np.testing.assert_array_equal(libpng(encode_png16(image)), image)


def test_a_non_contiguous_view_is_written_as_its_pixels(sensor_image: np.ndarray) -> None:
    view = sensor_image[::2, ::3]
    np.testing.assert_array_equal(libpng(encode_png16(view)), view)


@pytest.mark.parametrize(
    "bad", [np.zeros((4, 4), np.uint8), np.zeros((4, 4, 1), np.uint16), np.zeros((0, 4), np.uint16)]
)
def test_anything_but_a_nonempty_2d_uint16_array_is_refused(bad: np.ndarray) -> None:
    with pytest.raises(ValueError):
        encode_png16(bad)


@given(
    hnp.arrays(
        np.uint16, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=40), elements=st.integers(0, 65535)
    )
)
def test_any_image_round_trips(image: np.ndarray) -> None:
    np.testing.assert_array_equal(libpng(encode_png16(image)), image)


@pytest.fixture
def split(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every image of two rows or more is deflated as two halves (the test images are small)."""
    monkeypatch.setattr(writer, "SPLIT_MIN_BYTES", 1)


@pytest.mark.usefixtures("split")
def test_an_image_deflated_as_two_halves_is_one_valid_zlib_stream(sensor_image: np.ndarray) -> None:
    data = encode_png16(sensor_image)
    raw = zlib.decompress(idat_stream(data))  # checks the Adler-32
    assert len(raw) == (1 + 2 * sensor_image.shape[1]) * sensor_image.shape[0]
    np.testing.assert_array_equal(libpng(data), sensor_image)
    np.testing.assert_array_equal(_pillow(data), sensor_image)


@pytest.mark.usefixtures("split")
def test_the_bytes_do_not_depend_on_whether_a_helper_thread_was_free(
    sensor_image: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_helper = encode_png16(sensor_image)

    @contextmanager
    def busy() -> Iterator[None]:
        yield None

    monkeypatch.setattr(writer, "helper", busy)
    assert encode_png16(sensor_image) == with_helper


@pytest.mark.usefixtures("split")
@given(
    hnp.arrays(
        np.uint16, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=40), elements=st.integers(0, 65535)
    )
)
def test_any_image_deflated_as_two_halves_round_trips(image: np.ndarray) -> None:
    data = encode_png16(image)
    np.testing.assert_array_equal(libpng(data), image)
    zlib.decompress(idat_stream(data))


@given(st.binary(max_size=300), st.binary(max_size=300), st.integers(0, 70000))
def test_adler32_of_two_parts_combines_into_that_of_the_whole(first: bytes, second: bytes, padding: int) -> None:
    second += bytes(padding)  # lengths beyond the checksum's modulus, 65521
    combined = writer.adler32_combine(zlib.adler32(first), zlib.adler32(second), len(second))
    assert combined == zlib.adler32(first + second)
