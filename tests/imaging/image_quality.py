"""Image-quality measurements used by the tests and the documentation script.

All take linear-domain (x') images: measure after ``lut.linearise`` so the LUT's
gamma does not distort edges.
"""

from __future__ import annotations

import cv2
import numpy as np

from filters_server.imaging.phantoms import edge_distance


def edge_spread(image: np.ndarray, angle_deg: float, window_px: float, bin_px: float = 0.25) -> np.ndarray:
    """Oversampled edge-spread function of a slanted-edge phantom (known geometry)."""
    d = edge_distance(image.shape, angle_deg)
    keep = np.abs(d) < window_px
    idx = np.floor((d[keep] + window_px) / bin_px).astype(int)
    n = round(2 * window_px / bin_px)
    sums = np.bincount(idx, weights=image[keep].astype(np.float64), minlength=n)[:n]
    counts = np.bincount(idx, minlength=n)[:n]
    return sums / np.maximum(counts, 1)


def mtf(
    image: np.ndarray, angle_deg: float, pitch_mm: float, window_mm: float = 0.9, bin_px: float = 0.25
) -> tuple[np.ndarray, np.ndarray]:
    """(frequencies in lp/mm, MTF normalised to 1 at 0) from a slanted-edge phantom.

    ESF in quarter-pixel bins -> derivative (LSF) -> Hann window -> |FFT|. The window is
    given in mm so images of different pitch are analysed over the same scene.
    """
    esf = edge_spread(image, angle_deg, window_mm / pitch_mm, bin_px)
    lsf = np.gradient(esf) * np.hanning(esf.size)
    spectrum = np.abs(np.fft.rfft(lsf))
    freq = np.fft.rfftfreq(lsf.size, d=bin_px * pitch_mm)  # cycles per mm
    return freq, spectrum / spectrum[0]


def mtf50(freq: np.ndarray, response: np.ndarray) -> float:
    """First frequency where the MTF falls to 0.5 (linear interpolation)."""
    below = np.nonzero(response < 0.5)[0]
    if below.size == 0:
        return float(freq[-1])
    i = int(below[0])
    f0, f1, m0, m1 = freq[i - 1], freq[i], response[i - 1], response[i]
    return float(f0 + (m0 - 0.5) * (f1 - f0) / (m0 - m1))


def edge_width_10_90(image: np.ndarray) -> float:
    """10-90 % rise distance (px) of a vertical edge rising left to right; rows averaged."""
    profile = image.astype(np.float64).mean(axis=0)
    lo, hi = np.median(profile[: profile.size // 8]), np.median(profile[-profile.size // 8 :])
    t = (profile - lo) / (hi - lo)
    centre = int(np.argmin(np.abs(t - 0.5)))

    def crossing(level: float) -> float:
        i = centre
        if level < 0.5:
            while i > 0 and t[i] > level:
                i -= 1
        else:
            while i < t.size - 1 and t[i] < level:
                i += 1
            i -= 1
        return i + (level - t[i]) / (t[i + 1] - t[i])

    return crossing(0.9) - crossing(0.1)


def high_frequency_energy(image: np.ndarray, sigma_px: float = 1.0) -> float:
    """Mean square of the image minus its Gaussian blur: the energy above ~1/(2 pi sigma)."""
    x = image.astype(np.float32)
    return float(np.mean((x - cv2.GaussianBlur(x, (0, 0), sigma_px)) ** 2, dtype=np.float64))


def saturated_fraction(image: np.ndarray, low_code: int, high_code: int) -> float:
    """Fraction of stored pixels at or beyond either end code of the map."""
    return float(np.mean((image <= low_code) | (image >= high_code)))
