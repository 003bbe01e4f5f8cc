"""The segmented PNG decoder (imaging.png_decoder): libpng's pixels, or it leaves the file to libpng.

Every accepted file must decode to exactly what ``cv2.imdecode`` returns for the whole file, however
it was written (libpng's adaptive filters, our writer's Sub rows, rows that never allow a segment
to start), however it is cut into segments and whether or not a helper thread is free. Every file
it does not take, it declines (None), so that libpng decodes or rejects it as before.
"""

from __future__ import annotations

import itertools
import struct
import threading
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from filters_server.imaging import codecs, halves, png_decoder
from filters_server.imaging.png import encode_png16
from filters_server.imaging.png_decoder import read_png16

from .png_files import chunks, idat_stream, libpng, png_file

LIBPNG_DEFAULT = [cv2.IMWRITE_PNG_COMPRESSION, 6]  # what sensor software writes: level 6, adaptive filters


def _written_by_libpng(image: np.ndarray, *params: int) -> bytes:
    return cv2.imencode(".png", image, [*LIBPNG_DEFAULT, *params])[1].tobytes()


def _with_chunk(data: bytes, kind: bytes, body: bytes) -> bytes:
    """``data`` with one more chunk right after its IHDR."""
    parts = chunks(data)
    return png_file([parts[0], (kind, body), *parts[1:]])


def _filter_types(data: bytes) -> set[int]:
    (width,) = struct.unpack(">I", chunks(data)[0][1][:4])
    return set(zlib.decompress(idat_stream(data))[:: 1 + 2 * width])


@pytest.fixture
def small_segments(monkeypatch: pytest.MonkeyPatch) -> None:
    """Segments of a few rows, so that the small test images are cut into many."""
    monkeypatch.setattr(png_decoder, "SEGMENT_BYTES", 4096)
    monkeypatch.setattr(png_decoder, "_IN_PIECE", 1024)


@pytest.fixture
def segment_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    calls: list[tuple[int, int]] = []
    real = png_decoder._decode_segment

    def counted(raw: np.ndarray, image: np.ndarray, width: int, start: int, stop: int) -> bool:
        calls.append((start, stop))
        return real(raw, image, width, start, stop)

    monkeypatch.setattr(png_decoder, "_decode_segment", counted)
    return calls


def test_a_file_written_by_libpng_decodes_to_libpngs_pixels(sensor_image: np.ndarray) -> None:
    data = _written_by_libpng(sensor_image)
    assert _filter_types(data) >= {1, 2, 3, 4}  # adaptive: Paeth and Avg rows among them
    np.testing.assert_array_equal(read_png16(data), sensor_image)


def test_a_file_from_our_writer_decodes_to_its_pixels(sensor_image: np.ndarray) -> None:
    np.testing.assert_array_equal(read_png16(encode_png16(sensor_image)), sensor_image)


@pytest.mark.usefixtures("small_segments")
def test_segments_cover_every_row_once_and_each_starts_where_no_row_above_is_read(
    sensor_image: np.ndarray, segment_calls: list[tuple[int, int]]
) -> None:
    data = _written_by_libpng(sensor_image)
    np.testing.assert_array_equal(read_png16(data), sensor_image)
    assert len(segment_calls) > 4
    rows = sorted(segment_calls)
    assert rows[0][0] == 0 and rows[-1][1] == sensor_image.shape[0]
    assert all(stop == next_start for (_, stop), (next_start, _) in itertools.pairwise(rows))
    width = sensor_image.shape[1]
    raw = zlib.decompress(idat_stream(data))
    assert all(raw[start * (1 + 2 * width)] in (0, 1) for start, _ in rows)


@pytest.mark.usefixtures("small_segments")
def test_rows_that_all_read_the_row_above_make_one_segment(
    sensor_image: np.ndarray, segment_calls: list[tuple[int, int]]
) -> None:
    data = _written_by_libpng(sensor_image, cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_PAETH)
    assert _filter_types(data) <= {0, 4}  # libpng writes the first row as None or Sub even then
    np.testing.assert_array_equal(read_png16(data), sensor_image)
    assert len(segment_calls) <= 2


@pytest.mark.usefixtures("small_segments")
def test_without_a_free_helper_the_caller_decodes_every_segment_itself(
    sensor_image: np.ndarray, monkeypatch: pytest.MonkeyPatch, segment_calls: list[tuple[int, int]]
) -> None:
    @contextmanager
    def busy() -> Iterator[None]:
        yield None

    monkeypatch.setattr(png_decoder, "helper", busy)
    caller = threading.get_ident()
    threads: list[int] = []
    real = png_decoder._stored_png
    monkeypatch.setattr(png_decoder, "_stored_png", lambda *a: threads.append(threading.get_ident()) or real(*a))
    np.testing.assert_array_equal(read_png16(_written_by_libpng(sensor_image)), sensor_image)
    assert len(segment_calls) > 4 and set(threads) == {caller}


@pytest.mark.usefixtures("small_segments")
def test_the_helper_is_free_again_after_a_decode(sensor_image: np.ndarray) -> None:
    read_png16(_written_by_libpng(sensor_image))
    with halves.helper() as pool:
        assert pool is not None


@pytest.mark.usefixtures("small_segments")
def test_concurrent_decodes_each_get_their_own_pixels(sensor_image: np.ndarray) -> None:
    images = [np.roll(sensor_image, shift, axis=1) for shift in range(6)]
    files = [_written_by_libpng(image) for image in images]
    with ThreadPoolExecutor(4) as pool:
        decoded = list(pool.map(read_png16, files * 3))
    for image, got in zip(images * 3, decoded, strict=True):
        np.testing.assert_array_equal(got, image)


@settings(max_examples=60, deadline=None)
@given(
    image=hnp.arrays(np.uint16, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=70)),
    filters=st.sampled_from([0, cv2.IMWRITE_PNG_FILTER_PAETH, cv2.IMWRITE_PNG_FILTER_AVG, cv2.IMWRITE_PNG_FILTER_UP]),
    segment_bytes=st.sampled_from([1, 64, 512, 1 << 20]),
)
def test_any_image_decodes_to_libpngs_pixels_however_it_is_cut(
    image: np.ndarray, filters: int, segment_bytes: int
) -> None:
    params = [cv2.IMWRITE_PNG_FILTER, filters] if filters else []
    data = _written_by_libpng(image, *params)
    original = png_decoder.SEGMENT_BYTES, png_decoder._IN_PIECE
    png_decoder.SEGMENT_BYTES, png_decoder._IN_PIECE = segment_bytes, 97
    try:
        np.testing.assert_array_equal(read_png16(data), image)
    finally:
        png_decoder.SEGMENT_BYTES, png_decoder._IN_PIECE = original


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        (b"tEXt", b"Comment\0an intraoral image"),
        (b"zTXt", b"Comment\0\0" + zlib.compress(b"an intraoral image")),
        (b"iTXt", b"Comment\0\0\0\0\0an intraoral image"),
        (b"tIME", struct.pack(">HBBBBB", 2026, 12, 1, 12, 0, 0)),
        (b"pHYs", struct.pack(">IIB", 66667, 66667, 1)),
        (b"gAMA", struct.pack(">I", 45455)),
        (b"sBIT", bytes([12])),
        (b"cHRM", struct.pack(">8I", 31270, 32900, 64000, 33000, 30000, 60000, 15000, 6000)),
        (b"bKGD", struct.pack(">H", 1000)),
    ],
)
def test_chunks_opencv_ignores_do_not_change_the_pixels(sensor_image: np.ndarray, kind: bytes, body: bytes) -> None:
    data = _with_chunk(encode_png16(sensor_image), kind, body)
    assert kind in png_decoder._IGNORED_CHUNKS
    np.testing.assert_array_equal(read_png16(data), libpng(data))
    np.testing.assert_array_equal(read_png16(data), sensor_image)


_STRIDE = 1 + 2 * 320  # bytes of one filtered row of sensor_image (320 wide)


def _damaged(data: bytes, how: str) -> bytes:
    """A file of sensor_image's size, damaged or unusual as ``how`` says."""
    parts = chunks(data)
    if how == "interlaced":
        ihdr = parts[0][1][:12] + b"\x01"
        return png_file([(b"IHDR", ihdr), *parts[1:]])
    if how == "alpha (tRNS)":
        return _with_chunk(data, b"tRNS", struct.pack(">H", 0))
    if how == "an unknown ancillary chunk":
        return _with_chunk(data, b"prVt", b"private")
    if how == "a CRC error":
        return data[:-20] + bytes([data[-20] ^ 1]) + data[-19:]
    if how == "truncated":
        return data[: len(data) // 2]
    if how == "data after IEND":
        return data + b"\0"
    if how == "8-bit":
        return png_file([(b"IHDR", parts[0][1][:8] + b"\x08" + parts[0][1][9:]), *parts[1:]])
    raw = bytearray(zlib.decompress(idat_stream(data)))
    if how == "an invalid filter type":
        raw[len(raw) // 2 // _STRIDE * _STRIDE] = 5
    elif how == "too many rows inflated":
        raw += raw[:_STRIDE]
    elif how == "too few rows inflated":
        del raw[-_STRIDE:]
    elif how == "IDAT chunks not consecutive":
        stream = zlib.compress(bytes(raw))
        half = len(stream) // 2
        return png_file(
            [parts[0], (b"IDAT", stream[:half]), (b"tEXt", b"a\0b"), (b"IDAT", stream[half:]), (b"IEND", b"")]
        )
    return png_file([parts[0], (b"IDAT", zlib.compress(bytes(raw))), (b"IEND", b"")])


DAMAGE = [
    "interlaced",
    "alpha (tRNS)",
    "an unknown ancillary chunk",
    "a CRC error",
    "truncated",
    "data after IEND",
    "8-bit",
    "an invalid filter type",
    "too many rows inflated",
    "too few rows inflated",
    "IDAT chunks not consecutive",
]


@pytest.mark.parametrize("how", DAMAGE)
def test_files_it_does_not_take_are_left_to_libpng(sensor_image: np.ndarray, how: str) -> None:
    data = _damaged(_written_by_libpng(sensor_image), how)
    assert read_png16(data) is None


@pytest.mark.parametrize("how", DAMAGE)
def test_decode_png16_answers_for_such_files_as_libpng_does(sensor_image: np.ndarray, how: str) -> None:
    data = _damaged(_written_by_libpng(sensor_image), how)
    expected = libpng(data)
    if expected is None or expected.ndim != 2 or expected.dtype != np.uint16:
        with pytest.raises(ValueError):
            codecs.decode_png16(data)
    else:
        np.testing.assert_array_equal(codecs.decode_png16(data), expected)


def _header_only(width: int, height: int, stream: bytes) -> bytes:
    return png_file(
        [(b"IHDR", struct.pack(">IIBBBBB", width, height, 16, 0, 0, 0, 0)), (b"IDAT", stream), (b"IEND", b"")]
    )


@pytest.mark.parametrize(
    ("width", "height"),
    [(1 << 16, 1 << 15), ((1 << 20) + 1, 1), (1, (1 << 20) + 1), (2**31 - 1, 2**31 - 1)],
    ids=["past OpenCV's pixel limit", "wider than OpenCV reads", "taller than OpenCV reads", "the largest header"],
)
def test_a_header_past_the_sizes_opencv_decodes_is_left_to_it(
    width: int, height: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    allocated: list[int] = []
    real = np.empty
    monkeypatch.setattr(png_decoder.np, "empty", lambda shape, *a, **k: allocated.append(shape) or real(shape, *a, **k))
    assert read_png16(_header_only(width, height, zlib.compress(b"\0" * 1000))) is None
    assert allocated == []


def test_a_stream_too_short_to_inflate_to_its_rows_allocates_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Deflate expands at most about 1032 times: a 1 KiB stream cannot hold 20,000 x 20,000 pixels."""
    allocated: list[int] = []
    real = np.empty
    monkeypatch.setattr(png_decoder.np, "empty", lambda shape, *a, **k: allocated.append(shape) or real(shape, *a, **k))
    data = _header_only(20_000, 20_000, zlib.compress(bytes(1024)))
    assert read_png16(data) is None
    assert allocated == []
    with pytest.raises(ValueError):
        codecs.decode_png16(data)
