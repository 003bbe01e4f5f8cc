"""No filter shifts flat-region means or creates saturated pixels."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from filters_server.imaging import AE_TASKS, SELECT_MODES, SUPREME_TASKS, Lut, ae, select, supreme
from filters_server.imaging import phantoms as ph
from filters_server.imaging.lut import saturation
from filters_server.imaging.params import PITCH_MM_UNBINNED

from tests.imaging import image_quality as metrics

ENHANCERS: dict[str, Callable[..., np.ndarray]] = {
    **{f"select-{m}": lambda y, lut, b, m=m: select(y, lut, binned=b, mode=m) for m in SELECT_MODES},
    **{f"supreme-{t}": lambda y, lut, b, t=t: supreme(y, lut, binned=b, task=t, sharpness=100) for t in SUPREME_TASKS},
    **{f"ae-{t}": lambda y, lut, b, t=t: ae(y, lut, binned=b, task=t, sharpness=100) for t in AE_TASKS},
}
# Plateau interiors: more than 1.5 mm (100 px) from the edge at column 256, the reach of the
# coarsest (0.48 mm) band, and away from the image border.
PLATEAUS = (np.s_[16:-16, 16:140], np.s_[16:-16, 372:496])


@pytest.mark.parametrize("name", ENHANCERS)
def test_flat_region_means_move_less_than_half_a_percent(name: str, two_plateaus: np.ndarray, lut: Lut) -> None:
    out = ENHANCERS[name](two_plateaus, lut, False)
    for region in PLATEAUS:
        before, after = two_plateaus[region].mean(), out[region].mean()
        assert abs(after - before) < 0.005 * before


@pytest.mark.parametrize("name", ENHANCERS)
def test_saturated_fraction_does_not_grow(name: str, dental: np.ndarray, inverted_lut: Lut, binned) -> None:
    sat = saturation(inverted_lut)
    before = metrics.saturated_fraction(dental, sat.code_lo, sat.code_hi)
    after = metrics.saturated_fraction(ENHANCERS[name](dental, inverted_lut, binned), sat.code_lo, sat.code_hi)
    assert before > 0.05  # the phantom has saturated background and a metal restoration
    assert after <= before


def test_saturated_pixels_keep_their_code(dental: np.ndarray, inverted_lut: Lut) -> None:
    sat = saturation(inverted_lut)
    mask = (dental <= sat.code_lo) | (dental >= sat.code_hi)
    out = supreme(dental, inverted_lut, binned=False, sharpness=100)
    np.testing.assert_array_equal(out[mask], dental[mask])


@pytest.mark.parametrize("name", ["select-edgePro", "supreme-general", "ae-restorative"])
def test_saturated_fraction_does_not_grow_for_any_lut(name: str, lut: Lut) -> None:
    image = ph.image(ph.dental_scene((160, 240), PITCH_MM_UNBINNED), lut, seed=6)
    sat = saturation(lut)
    before = metrics.saturated_fraction(image, sat.code_lo, sat.code_hi)
    assert before > 0.02  # saturated background and restoration
    assert metrics.saturated_fraction(ENHANCERS[name](image, lut, False), sat.code_lo, sat.code_hi) <= before
