"""The validator's verdict does not depend on which inflater it uses (ISA-L when installed, else zlib-ng)."""

from __future__ import annotations

import zlib

import pytest
from isal import isal_zlib
from zlib_ng import zlib_ng

from filters_server.core import pngcheck
from filters_server.imaging import phantoms
from filters_server.imaging.codecs import encode

from .conftest import gray16, gray16_png, png, scanlines, validate, zeros_bomb


def sensor_png() -> bytes:
    return encode(phantoms.dental_image((120, 160), phantoms.EXAMPLE_LUT), "image/png")


def cases() -> dict[str, bytes]:
    good = scanlines(gray16(20, 30))
    stream = zlib.compress(good)
    return {
        "libpng noise": gray16_png(40, 50),
        "sensor-like": sensor_png(),
        "hand-built": png(30, 20, good),
        "corrupt deflate": png(30, 20, stream=stream[:10] + bytes([stream[10] ^ 0xFF]) + stream[11:]),
        "short stream": png(30, 20, stream=zlib.compress(good[:-7])),
        "trailing data": png(30, 20, stream=stream + b"junk"),
        "bad filter byte": png(30, 20, bytes([9]) + good[1:]),
        "bomb": zeros_bomb(8 << 20),
    }


def verdict(data: bytes) -> object:
    try:
        return validate(data, pieces=7)
    except pngcheck.PngRejected as exc:
        return type(exc), exc.kind


@pytest.mark.parametrize("name", list(cases()))
def test_isal_and_zlib_ng_reach_the_same_verdict(monkeypatch, name):
    data = cases()[name]
    monkeypatch.setattr(pngcheck, "inflater", zlib_ng)
    with_zlib_ng = verdict(data)
    monkeypatch.setattr(pngcheck, "inflater", isal_zlib)
    assert verdict(data) == with_zlib_ng


def test_the_validator_inflates_with_isal_when_it_is_installed():
    assert pngcheck.inflater is isal_zlib
