"""select smooth: less noise on flat regions, edges kept."""

from __future__ import annotations

import numpy as np

from filters_server.imaging import Lut, select
from filters_server.imaging.lut import linearise

from tests.imaging import image_quality as metrics


def test_smooth_lowers_flat_region_noise_by_at_least_30_percent(flat_noisy: np.ndarray, lut: Lut, binned) -> None:
    before = linearise(flat_noisy, lut)[8:-8, 8:-8].std()
    after = linearise(select(flat_noisy, lut, binned=binned, mode="smooth"), lut)[8:-8, 8:-8].std()
    assert after <= 0.7 * before


def test_smooth_lowers_noise_in_the_stored_domain_too(flat_noisy: np.ndarray, lut: Lut, binned) -> None:
    after = select(flat_noisy, lut, binned=binned, mode="smooth")
    assert after[8:-8, 8:-8].std() <= 0.7 * flat_noisy[8:-8, 8:-8].std()


def test_smooth_widens_an_edge_by_at_most_one_pixel(vertical_edge: np.ndarray, lut: Lut, binned) -> None:
    before = metrics.edge_width_10_90(linearise(vertical_edge, lut))
    after = metrics.edge_width_10_90(linearise(select(vertical_edge, lut, binned=binned, mode="smooth"), lut))
    assert after - before <= 1.0
