"""Sharpening: identity at zero, monotone in sharpness, MTF50 up, same MTF per mm when binned."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

from filters_server.imaging import AE_TASKS, SUPREME_TASKS, Lut, ae, pipeline, supreme
from filters_server.imaging import phantoms as ph
from filters_server.imaging.lut import linearise
from filters_server.imaging.params import PITCH_MM_BINNED, PITCH_MM_UNBINNED, SUPREME_PROFILES

from .conftest import SLANT_DEG
from tests.imaging import image_quality as metrics

SHARPNESS_STEPS = (0, 25, 50, 75, 100)
MTF_WINDOW_MM = 1.5  # wide enough to hold the halos of the 0.48 mm band, else DC is mis-measured


def _mtf50(image: np.ndarray, lut: Lut, pitch: float) -> float:
    return metrics.mtf50(*metrics.mtf(linearise(image, lut), SLANT_DEG, pitch, window_mm=MTF_WINDOW_MM))


@pytest.mark.parametrize("task", SUPREME_TASKS)
def test_zero_sharpness_without_denoise_is_the_identity(task: str, dental, inverted_lut, binned) -> None:
    profile = dataclasses.replace(SUPREME_PROFILES[task], denoise=0.0)
    pitch = PITCH_MM_BINNED if binned else PITCH_MM_UNBINNED
    out = pipeline.apply(dental, inverted_lut, profile, 0.0, pitch)
    assert np.abs(out.astype(np.int64) - dental).max() <= 1


def test_zero_sharpness_without_denoise_is_the_identity_for_an_upright_lut() -> None:
    lut = Lut(gamma=0.8, slope=60000.0, offset=2000.0, total_grays=4096, minimum_gray=100, maximum_gray=4000)
    image = ph.image(ph.dental_scene((120, 160), PITCH_MM_UNBINNED), lut)
    profile = dataclasses.replace(SUPREME_PROFILES["general"], denoise=0.0)
    out = pipeline.apply(image, lut, profile, 0.0, PITCH_MM_UNBINNED)
    assert np.abs(out.astype(np.int64) - image).max() <= 1


@pytest.mark.parametrize(("name", "tasks"), [("supreme", SUPREME_TASKS), ("ae", AE_TASKS)])
def test_high_frequency_energy_grows_strictly_with_sharpness(name: str, tasks, dental, inverted_lut, binned) -> None:
    run = supreme if name == "supreme" else ae
    for task in tasks:
        energy = [
            metrics.high_frequency_energy(
                linearise(run(dental, inverted_lut, binned=binned, task=task, sharpness=s), inverted_lut)
            )
            for s in SHARPNESS_STEPS
        ]
        assert all(a < b for a, b in itertools.pairwise(energy)), (task, energy)


@pytest.mark.parametrize("task", SUPREME_TASKS)
def test_mtf50_rises_with_sharpness(task: str, slanted_edge_x: np.ndarray, inverted_lut: Lut) -> None:
    image = ph.stored(slanted_edge_x, inverted_lut)
    mtf50 = [
        _mtf50(supreme(image, inverted_lut, binned=False, task=task, sharpness=s), inverted_lut, PITCH_MM_UNBINNED)
        for s in (0, 50, 100)
    ]
    assert mtf50[0] < mtf50[1] < mtf50[2], mtf50


def test_mtf50_rises_with_sharpness_for_ae(slanted_edge_x: np.ndarray, inverted_lut: Lut) -> None:
    image = ph.stored(slanted_edge_x, inverted_lut)
    low, high = (
        _mtf50(ae(image, inverted_lut, binned=False, sharpness=s), inverted_lut, PITCH_MM_UNBINNED) for s in (0, 100)
    )
    assert high > low


# Tolerances for binned vs unbinned: the 2x2 binning aperture alone (a 0.03 mm box) lowers
# the binned MTF by up to 1 - sinc(8 lp/mm * 0.03 mm) = 9 % of the scene's response before any
# filtering (measured here: 0.02 in MTF at s = 0, MTF50 2.6 % lower). The filter must not add
# much to that: curves within 0.08 up to 8 lp/mm (half the binned Nyquist), MTF50 within 8 %.
@pytest.mark.parametrize("task", ["general", "endodontic", "restorative"])
def test_binned_and_unbinned_give_matching_mtf_in_lp_per_mm(task: str, slanted_edge_x, inverted_lut) -> None:
    unbinned = ph.stored(slanted_edge_x, inverted_lut)
    binned = ph.stored(ph.bin2x2(slanted_edge_x), inverted_lut)
    out_u = linearise(supreme(unbinned, inverted_lut, binned=False, task=task, sharpness=100), inverted_lut)
    out_b = linearise(supreme(binned, inverted_lut, binned=True, task=task, sharpness=100), inverted_lut)
    fu, mu = metrics.mtf(out_u, SLANT_DEG, PITCH_MM_UNBINNED, window_mm=MTF_WINDOW_MM)
    fb, mb = metrics.mtf(out_b, SLANT_DEG, PITCH_MM_BINNED, window_mm=MTF_WINDOW_MM)
    band = (fu >= 0.5) & (fu <= 8.0)
    assert np.abs(np.interp(fu[band], fb, mb) - mu[band]).max() < 0.08
    assert metrics.mtf50(fb, mb) == pytest.approx(metrics.mtf50(fu, mu), rel=0.08)


def test_binned_filter_sharpens_as_much_per_mm_as_unbinned(slanted_edge_x, inverted_lut) -> None:
    """Gain in MTF50 from sharpness 0 to 100 agrees within 15 % between binning modes."""
    gains = []
    for image, binned, pitch in (
        (ph.stored(slanted_edge_x, inverted_lut), False, PITCH_MM_UNBINNED),
        (ph.stored(ph.bin2x2(slanted_edge_x), inverted_lut), True, PITCH_MM_BINNED),
    ):
        low, high = (
            _mtf50(supreme(image, inverted_lut, binned=binned, sharpness=s), inverted_lut, pitch) for s in (0, 100)
        )
        gains.append(high / low)
    assert gains[1] - 1 == pytest.approx(gains[0] - 1, rel=0.15)
