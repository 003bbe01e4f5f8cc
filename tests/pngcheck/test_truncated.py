"""A PNG cut short anywhere is rejected by finish(), and not before: each prefix is valid so far."""

import pytest

from filters_server.core.pngcheck import InvalidPng, PngValidator

from .conftest import adam7_png, gray16, gray16_png, split_chunks


def _truncated_finish(data: bytes, cut: int) -> InvalidPng:
    validator = PngValidator()
    validator.feed(data[:cut])  # must not raise: nothing is wrong yet
    with pytest.raises(InvalidPng) as caught:
        validator.finish()
    return caught.value


def _offsets(data: bytes) -> dict[str, int]:
    """Cut points inside and between each part of a PNG with signature, IHDR, IDAT, IEND."""
    chunks = split_chunks(data)
    assert [t for t, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"]
    idat_start = 8 + 25
    idat_len = len(chunks[1][1])
    iend_start = idat_start + 12 + idat_len
    return {
        "inside signature": 5,
        "after signature": 8,
        "inside IHDR length": 10,
        "inside IHDR type": 14,
        "inside IHDR data": 20,
        "inside IHDR CRC": 31,
        "after IHDR": 33,
        "inside IDAT header": idat_start + 6,
        "at start of IDAT data": idat_start + 8,
        "inside IDAT data": idat_start + 8 + idat_len // 2,
        "before IDAT CRC": idat_start + 8 + idat_len,
        "inside IDAT CRC": idat_start + 8 + idat_len + 2,
        "after IDAT (IEND missing)": iend_start,
        "inside IEND header": iend_start + 5,
        "inside IEND CRC": iend_start + 10,
    }


@pytest.mark.parametrize("where", list(_offsets(gray16_png(6, 6))))
def test_truncated_png_is_invalid(where):
    data = gray16_png(6, 6)
    _truncated_finish(data, _offsets(data)[where])


def test_every_proper_prefix_of_a_png_is_invalid():
    data = gray16_png(3, 5)
    for cut in range(len(data)):
        _truncated_finish(data, cut)


def test_every_proper_prefix_of_an_interlaced_png_is_invalid():
    data = adam7_png(gray16(5, 3))
    for cut in range(len(data)):
        _truncated_finish(data, cut)


def test_empty_upload_is_invalid_at_finish():
    assert "empty" in str(_truncated_finish(b"", 0))


def test_truncated_image_data_is_reported_as_such():
    data = gray16_png(6, 6)
    message = str(_truncated_finish(data, _offsets(data)["inside IDAT data"]))
    assert "IDAT" in message


def test_missing_iend_is_reported_as_such():
    data = gray16_png(6, 6)
    assert "IEND missing" in str(_truncated_finish(data, len(data) - 12))
