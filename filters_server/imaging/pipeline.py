"""The common pipeline of select, supreme and ae, in the linear domain x' (float32).

linearise -> noise estimate -> edge-preserving denoise -> multi-band sharpening on a
Laplacian pyramid -> re-map with the same LUT. Everything is scaled by the pixel pitch,
so a binned image and its unbinned original get the same treatment per millimetre.
All steps are per-pixel or fixed-order stencils, so results do not depend on OpenCV's
thread count (tests check it).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from filters_server.imaging import params as P
from filters_server.imaging.halves import by_halves
from filters_server.imaging.lut import Lut, linearise, remap

_MIN_LEVEL_SIDE = 4  # a pyramid level smaller than this carries no band worth sharpening
_NOISE_STRIP_ROWS = 32  # noise is estimated on horizontal strips of this height ...
_NOISE_TARGET_PIXELS = 1 << 17  # ... chosen so that about this many pixels are used
_RANGE_SIGMA_FLOOR = 1e-4
_TINY = 1e-30  # floor of |band| before cv2.pow (see _shape_rows)


def estimate_noise(x: np.ndarray, pitch_mm: float) -> float:
    """``1.4826 * MAD(x' - Gaussian(x', 0.03 mm))`` over unsaturated pixels of a subsample.

    The subsample is whole-width strips spread over the image: strips keep the local
    neighbourhood the Gaussian residual needs, and ~2^17 pixels make the median stable
    (standard error of the MAD ~0.4 %)
    while costing a fraction of a full-image pass.
    """
    sigma = P.NOISE_SIGMA_MM / pitch_mm
    border = math.ceil(2 * sigma)
    h, w = x.shape
    rows = min(h, max(_NOISE_STRIP_ROWS, 2 * border + 8))
    n_strips = max(1, min(h // rows, _NOISE_TARGET_PIXELS // (rows * w)))
    tops = np.linspace(0, h - rows, n_strips).astype(int) if n_strips > 1 else [(h - rows) // 2]
    inner = slice(border, rows - border) if rows > 2 * border + 2 else slice(None)
    residuals = []
    for top in tops:
        strip = x[top : top + rows]
        res = strip - cv2.GaussianBlur(strip, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
        core, values = res[inner], strip[inner]
        residuals.append(core[(values > 0.0) & (values < 1.0)])
    r = np.concatenate(residuals) if residuals else np.empty(0, np.float32)
    if r.size < 16:
        return 0.0
    return float(1.4826 * np.median(np.abs(r - np.median(r))))


def denoise(x: np.ndarray, weight: float, noise: float, pitch_mm: float) -> np.ndarray:
    """``x' + w (D(x') - x')`` with D a small bilateral filter. Consumes ``x``: the result may be
    ``x`` itself, blended in place, so that a job holds one full-size float image here, not two."""
    if weight <= 0.0:
        return x
    range_sigma = max(P.BILATERAL_RANGE_SIGMAS * noise, _RANGE_SIGMA_FLOOR)
    smoothed = cv2.bilateralFilter(x, P.BILATERAL_DIAMETER_PX, range_sigma, P.BILATERAL_SIGMA_MM / pitch_mm)
    if weight >= 1.0:
        return smoothed
    return cv2.addWeighted(x, 1.0 - weight, smoothed, weight, 0.0, dst=x)


def level_gains(gains: tuple[float, ...], pitch_mm: float, max_levels: int = 16) -> list[float]:
    """Gain of each Laplacian level, finest first, by the physical scale it covers.

    Level k of an image with pitch p holds detail at about ``p * 2**k`` mm. Its band index
    ``log2(p * 2**k / 0.03 mm)`` is interpolated into G1..G5; levels finer than the first
    band belong to it (band 1 is everything finer than 0.03 mm), levels beyond the last
    band get 0. Trailing zero levels are dropped.
    """
    bands = np.arange(len(gains) + 1, dtype=np.float64)
    table = np.array([*list(gains), 0.0])
    out = []
    for k in range(max_levels):
        index = math.log2(pitch_mm * 2**k / P.BAND_BASE_MM)
        out.append(float(np.interp(index, bands, table, left=gains[0], right=0.0)))
    while out and out[-1] == 0.0:
        out.pop()
    return out


def _shape_band(band: np.ndarray, threshold: float, profile: P.Profile, negative: np.ndarray) -> None:
    """:func:`_shape_rows` on the whole band, as two halves at once (it is per pixel)."""
    by_halves(lambda rows, signs: _shape_rows(rows, threshold, profile, signs), band, negative)


def _shape_rows(band: np.ndarray, threshold: float, profile: P.Profile, negative: np.ndarray) -> None:
    """In place: band -> phi(band), noise coring + MUSICA compression + overshoot cap.

    phi(b) = sign(b') * min(M^(1-p) |b'|^p, cap), b' = soft-threshold(b, T). The factor
    M^(1-p) is applied by the caller together with the band gain. ``negative`` (bool, the
    band's shape) is scratch for the signs: a byte per pixel where a float copy of |b| took four.
    """
    np.signbit(band, out=negative)
    np.abs(band, out=band)
    if threshold > 0.0:
        cv2.subtract(band, threshold, dst=band)  # type: ignore[call-overload]  # OpenCV takes a scalar; its stubs omit it
    # Soft threshold floor: a tiny positive, not 0, because cv2.pow is ~20x slower on zeros
    # (and on negatives, hence |b| here and the sign restored below).
    # OpenCV's max and min with a scalar: numpy's maximum and minimum took 1.5-1.9 ms a pass here.
    cv2.max(band, _TINY, dst=band)  # type: ignore[call-overload]  # a scalar operand; the stubs omit it
    cv2.pow(band, profile.exponent, dst=band)
    cap = profile.overshoot / P.COMPRESSION_PIVOT ** (1.0 - profile.exponent)
    cv2.min(band, cap, dst=band)
    # phi > 0 here (floored above), so 0 - phi is exactly -phi. OpenCV's masked subtract, because
    # numpy's masked ufuncs (where=) are ~20x slower than an unmasked pass.
    cv2.subtract(0.0, band, dst=band, mask=negative.view(np.uint8))  # type: ignore[call-overload]  # a scalar minuend; the stubs omit it


def enhancement(d: np.ndarray, profile: P.Profile, noise: float, pitch_mm: float) -> np.ndarray | None:
    """``sum_k G_k phi(B_k)`` at full resolution, or None when every gain is 0.

    Built on a Laplacian pyramid of ``d``: B_k = G_k - pyrUp(G_{k+1}). The sum is
    accumulated coarse to fine (E = pyrUp(E) + g_k phi(B_k)), so only one full-size
    band and one full-size accumulator exist at a time.
    """
    gains = level_gains(profile.gains, pitch_mm)
    if not any(gains):
        return None
    levels = [d]
    while len(levels) <= len(gains):
        h, w = levels[-1].shape
        if min(h, w) < 2 * _MIN_LEVEL_SIDE:
            break
        levels.append(cv2.pyrDown(levels[-1]))
    n = len(levels) - 1  # number of band levels available
    # Noise left in band k after denoising: white noise loses ~0.3 of its std per octave.
    band_noise = noise * (1.0 - 0.75 * profile.denoise)
    scale = P.COMPRESSION_PIVOT ** (1.0 - profile.exponent)
    acc: np.ndarray | None = None
    for k in range(n - 1, -1, -1):
        h, w = levels[k].shape
        coarser = levels.pop()  # level k + 1: needed for no band after this one
        if acc is not None:
            acc = cv2.pyrUp(acc, dstsize=(w, h))
        if gains[k] == 0.0:
            continue
        band = cv2.pyrUp(coarser, dstsize=(w, h))
        del coarser
        cv2.subtract(levels[k], band, dst=band)
        _shape_band(band, profile.coring * band_noise * 0.3**k, profile, np.empty(band.shape, bool))
        if acc is None:
            acc = cv2.multiply(band, gains[k] * scale, dst=band)
        else:
            cv2.scaleAdd(band, gains[k] * scale, acc, dst=acc)
    return acc


def process(x: np.ndarray, profile: P.Profile, strength: float, pitch_mm: float) -> np.ndarray:
    """Linear-domain filter: x' -> y = d + strength * enhancement(d) (float32, unclipped).

    ``strength`` is s = sharpness / 100 (select uses 1). This is the hook tests use to
    check properties with explicit parameters, e.g. ``Profile(..., denoise=0)``, s = 0.
    Consumes ``x`` (see :func:`denoise`).
    """
    need_noise = profile.denoise > 0.0 or (strength != 0.0 and profile.coring > 0.0)
    noise = estimate_noise(x, pitch_mm) if need_noise else 0.0
    d = denoise(x, profile.denoise, noise, pitch_mm)
    if strength == 0.0:
        return d
    e = enhancement(d, profile, noise, pitch_mm)
    if e is None:
        return d
    return cv2.scaleAdd(e, strength, d, dst=e)


def apply(image: np.ndarray, lut: Lut, profile: P.Profile, strength: float, pitch_mm: float) -> np.ndarray:
    """Stored uint16 image -> filtered uint16 image of the same shape, same LUT."""
    if image.ndim != 2 or image.dtype != np.uint16:
        raise ValueError(f"expected a 2-D uint16 image, got {image.dtype} with shape {image.shape}")
    y = process(linearise(image, lut), profile, strength, pitch_mm)
    return remap(y, lut, source=image)
