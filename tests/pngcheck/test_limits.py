"""Size limits, decompression bombs and the cost of validation: bounded memory, linear work."""

import tracemalloc

import pytest

from filters_server.core.pngcheck import ImageTooLarge, InvalidPng, PngValidator

from .conftest import SIGNATURE, chop, gray16_png, ihdr, png, zeros_bomb


@pytest.mark.parametrize(
    "width, height, max_pixels",
    [(10_000, 10_000, 99_999_999), (100_000, 100_000, 100_000_000), (2**31 - 1, 2**31 - 1, 100_000_000), (11, 10, 100)],
)
def test_too_many_pixels_is_rejected_from_the_ihdr_alone(width, height, max_pixels):
    validator = PngValidator(max_pixels=max_pixels)
    with pytest.raises(ImageTooLarge) as caught:
        validator.feed(SIGNATURE + ihdr(width, height))
    assert caught.value.kind == "too_large"
    assert f"{width}x{height}" in str(caught.value)


def test_too_large_interlaced_image_is_rejected_from_the_ihdr_alone():
    with pytest.raises(ImageTooLarge):
        PngValidator(max_pixels=1000).feed(SIGNATURE + ihdr(100, 100, interlace=1))


def test_size_limit_applies_to_a_complete_file():
    with pytest.raises(ImageTooLarge):
        PngValidator(max_pixels=99).feed(gray16_png(10, 10))


@pytest.fixture(scope="module")
def bomb() -> list[bytes]:
    """IHDR 10000x10000 (within the default limit: 200 MB of scanlines expected) with an IDAT
    stream of 1 GiB of zeros in 1 MB: valid zlib, far more output than the IHDR allows."""
    return chop(png(10_000, 10_000, stream=zeros_bomb(1 << 30), idat_size=1 << 16), 1 << 20)


def test_decompression_bomb_is_invalid_with_bounded_memory(bomb):
    validator = PngValidator()
    tracemalloc.start()
    try:
        with pytest.raises(InvalidPng, match="more than the 200010000 bytes"):
            for piece in bomb:
                validator.feed(piece)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3 * 2**20
    # Rejected one byte past the expected size, within 256 KiB of output: 200 of 1024 MiB.
    assert validator.work < 1000


def test_work_fed_one_byte_at_a_time_is_at_most_a_few_steps_per_byte():
    for side in (16, 64):
        data = gray16_png(side, side)
        validator = PngValidator()
        for piece in chop(data, 1):
            validator.feed(piece)
        validator.finish()
        assert validator.work <= 3 * len(data)


def test_work_per_byte_does_not_grow_with_file_size():
    per_byte = []
    for side in (256, 512, 1024):
        data = gray16_png(side, side)
        validator = PngValidator()
        for piece in chop(data, 1 << 16):
            validator.feed(piece)
        validator.finish()
        per_byte.append(validator.work / len(data))
    # Larger files may cost less per byte (fixed costs spread thinner), never more.
    assert max(per_byte[1:]) <= 1.25 * per_byte[0]
