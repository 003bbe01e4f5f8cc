"""The synthetic radiograph and its LUT (pure numpy, no HTTP)."""

import numpy as np
import pytest

from filters_server.simulator import imaging
from filters_server.simulator.phantom import SceneOptions, synthesize_raw
from filters_server.simulator.sensors import CATALOGUE

SELECT = next(d.sensor for d in CATALOGUE if d.sensor.family == "Select")


@pytest.fixture(scope="module")
def raw() -> np.ndarray:
    options = SceneOptions(width=800, height=600, pixel_size_mm=0.045, noise_scale=0.5)
    return synthesize_raw(options, np.random.default_rng(3))


def test_raw_values_are_12_bit(raw):
    assert raw.dtype == np.uint16 and int(raw.max()) <= 4095


def test_air_above_the_crowns_is_brighter_raw_than_the_teeth(raw):
    air = np.median(raw[:15])  # cusp tips start >= 5 % down the sensor
    assert air > 3000 and np.percentile(raw, 1) < 800


def test_dynamic_lut_is_inverted(raw):
    lut = imaging.dynamic_lut(raw)
    assert lut.minimum_gray > lut.maximum_gray
    mapped = imaging.apply_lut(raw, lut)
    assert np.median(mapped[:15]) < 1000 < np.percentile(mapped, 99)  # air black, enamel white


def test_unmapping_with_the_documented_inverse_recovers_raw_values(raw):
    lut = imaging.dynamic_lut(raw)
    y = imaging.apply_lut(raw, lut).astype(np.float64)
    xn = np.clip((y - lut.offset) / lut.slope, 0, 1) ** (1 / lut.gamma)
    x = (lut.maximum_gray - lut.minimum_gray) * xn + lut.minimum_gray
    span = lut.minimum_gray - lut.maximum_gray
    inside = (raw <= lut.minimum_gray) & (raw >= lut.maximum_gray)
    well_posed = inside & (xn > 0.05)  # the map is flat near x' = 0
    assert np.abs(x - raw)[well_posed].max() <= 1.0 + 1e-6 * span


def test_lut_clips_values_outside_the_gray_range(raw):
    lut = imaging.Lut(minimum_gray=3000, maximum_gray=1000)
    mapped = imaging.apply_lut(np.array([4000, 3000, 1000, 10], np.uint16), lut)
    assert mapped.tolist() == [0, 0, 65535, 65535]


def test_image_has_tissue_contrast_between_air_bone_and_teeth(raw):
    mapped = imaging.apply_lut(raw, imaging.dynamic_lut(raw)).astype(np.float64) / 65535
    p5, p50, p95 = np.percentile(mapped, [5, 50, 95])
    assert p5 < 0.02 and 0.05 < p50 < 0.8 and p95 > 0.5


def test_binning_averages_noise_down():
    def noise(noise_scale):
        options = SceneOptions(width=400, height=300, pixel_size_mm=0.09, noise_scale=noise_scale)
        a = synthesize_raw(options, np.random.default_rng(5)).astype(np.float64)
        b = synthesize_raw(options, np.random.default_rng(5)).astype(np.float64)
        return a, b

    a, b = noise(1.0)
    assert np.array_equal(a, b)  # same generator state, same image
    full = np.std(np.diff(a[:10], axis=1))
    half = np.std(np.diff(noise(0.5)[0][:10], axis=1))
    assert half < 0.75 * full


def test_render_is_deterministic_per_seed():
    def render(entropy):
        return imaging.render(
            SELECT, binned=True, rotation=0, apply_map=True, seed=np.random.SeedSequence(entropy)
        ).pixels

    assert np.array_equal(render([1, 0]), render([1, 0]))
    assert not np.array_equal(render([1, 0]), render([1, 1]))


def test_rotation_is_clockwise():
    image = np.array([[1, 2], [3, 4]], np.uint16)
    assert imaging.rotate(image, 90).tolist() == [[3, 1], [4, 2]]
    assert imaging.rotate(image, 270).tolist() == [[2, 4], [1, 3]]
