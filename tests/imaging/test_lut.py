"""The LUT: degenerate maps are rejected by name; unmap inverts the documented map."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from filters_server.imaging import DegenerateLut, Lut, check_lut, unmap
from filters_server.imaging import phantoms as ph

GOOD = ph.EXAMPLE_LUT


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"slope": 0.0}, "slope"),
        ({"gamma": 0.0}, "gamma"),
        ({"gamma": -2.3}, "gamma"),
        ({"minimum_gray": 418}, "minimumGray"),
        ({"total_grays": 1}, "totalGrays"),
        ({"total_grays": 70000}, "totalGrays"),
        ({"gamma": float("nan")}, "gamma"),
        ({"slope": float("inf")}, "slope"),
        ({"offset": 70000.0}, "offset"),
        ({"minimum_gray": 3612.5}, "minimumGray"),
    ],
)
def test_degenerate_lut_is_rejected_naming_the_field(change: dict, named: str) -> None:
    with pytest.raises(DegenerateLut, match=named):
        check_lut(dataclasses.replace(GOOD, **change))


def test_degenerate_lut_is_a_value_error() -> None:
    assert issubclass(DegenerateLut, ValueError)


def test_inverted_lut_is_not_degenerate() -> None:
    assert GOOD.minimum_gray > GOOD.maximum_gray
    check_lut(GOOD)


def test_unmap_rejects_a_degenerate_lut() -> None:
    with pytest.raises(DegenerateLut):
        unmap(np.zeros((4, 4), np.uint16), dataclasses.replace(GOOD, slope=0.0))


def test_unmap_recovers_sensor_values_where_the_map_is_not_flat(lut: Lut) -> None:
    x_true = np.arange(min(lut.minimum_gray, lut.maximum_gray), max(lut.minimum_gray, lut.maximum_gray) + 1)
    x_true = np.tile(x_true, (3, 1)).astype(np.float64)
    stored = ph.stored(x_true, lut)
    xp = (x_true - lut.minimum_gray) / (lut.maximum_gray - lut.minimum_gray)
    out = unmap(stored, lut)
    assert out.dtype == np.uint16 and out.shape == stored.shape
    err = np.abs(out.astype(np.int64) - x_true.astype(np.int64))
    assert err[xp > 0.05].max() <= 1


def test_unmap_clips_to_the_sensor_range() -> None:
    lut = Lut(gamma=1.0, slope=65535.0, offset=0.0, total_grays=1024, minimum_gray=0, maximum_gray=2000)
    out = unmap(np.array([[0, 65535]], np.uint16), lut)
    assert out.tolist() == [[0, 1023]]
