"""Synthetic phantoms for the imaging tests (drawn in code, no files).

Scenes come from filters_server.imaging.phantoms: drawn in x', turned into 12-bit sensor
values with Gaussian noise, optionally 2x2-binned, then stored through a LUT.
"""

from __future__ import annotations

import numpy as np
import pytest

from filters_server.imaging import Lut
from filters_server.imaging import phantoms as ph
from filters_server.imaging.params import PITCH_MM_UNBINNED

# The spec's example LUT: minimumGray > maximumGray (inverted, bone-bright), gamma 2.3.
INVERTED_LUT = ph.EXAMPLE_LUT
# A non-inverted LUT with an offset and a gamma below 1.
UPRIGHT_LUT = Lut(gamma=0.8, slope=60000.0, offset=2000.0, total_grays=4096, minimum_gray=100, maximum_gray=4000)
# A negative slope inverts in the mapped domain instead (Y falls as x' rises).
NEGATIVE_SLOPE_LUT = Lut(
    gamma=1.5, slope=-64000.0, offset=65000.0, total_grays=16384, minimum_gray=200, maximum_gray=15000
)


@pytest.fixture(params=[INVERTED_LUT, UPRIGHT_LUT, NEGATIVE_SLOPE_LUT], ids=["inverted", "upright", "negative-slope"])
def lut(request: pytest.FixtureRequest) -> Lut:
    return request.param


@pytest.fixture
def inverted_lut() -> Lut:
    return INVERTED_LUT


@pytest.fixture(params=[False, True], ids=["unbinned", "binned"])
def binned(request: pytest.FixtureRequest) -> bool:
    return request.param


@pytest.fixture
def dental(inverted_lut: Lut, binned: bool) -> np.ndarray:
    """A small bitewing-like scene with saturated background and restoration."""
    return ph.image(ph.dental_scene((240, 320), PITCH_MM_UNBINNED), inverted_lut, binned=binned)


@pytest.fixture
def flat_noisy(lut: Lut, binned: bool) -> np.ndarray:
    return ph.image(ph.flat((192, 192), 0.5), lut, binned=binned, seed=3)


@pytest.fixture
def vertical_edge(lut: Lut, binned: bool) -> np.ndarray:
    """A 0.3 -> 0.7 step, blurred 1 px at the unbinned pitch; noise std << contrast."""
    return ph.image(ph.step_edge((96, 192), 0.3, 0.7, 1.0), lut, binned=binned, seed=4)


@pytest.fixture
def two_plateaus(lut: Lut) -> np.ndarray:
    """Two flat plateaus (x' 0.3 | 0.7) of 256x256 each: means measured far from the edge."""
    scene = np.full((256, 512), 0.3)
    scene[:, 256:] = 0.7
    return ph.image(scene, lut, seed=5)


SLANT_DEG = 5.0
SLANT_SIZE = 320  # unbinned pixels; the MTF window of 1.5 mm needs +-100 px of scene


@pytest.fixture
def slanted_edge_x(inverted_lut: Lut) -> np.ndarray:
    """Float sensor values of a low-contrast (x' 0.4 -> 0.55) slanted edge, 0.0375 mm blur."""
    scene = ph.slanted_edge((SLANT_SIZE, SLANT_SIZE), 0.4, 0.55, SLANT_DEG, blur_px=2.5)
    return ph.sensor(scene, inverted_lut, noise=3.0, seed=2)


@pytest.fixture
def sensor_image() -> np.ndarray:
    """A sensor-like intraoral image: structure, quantum and electronic noise, saturated background."""
    return ph.dental_image((240, 320), ph.EXAMPLE_LUT, seed=3)
