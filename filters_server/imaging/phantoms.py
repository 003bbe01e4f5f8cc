"""Synthetic phantoms for the filter tests, the benchmark and the documentation pictures.

Scenes are drawn in the linear domain x' in [0, 1] (1 = bone-bright), turned into sensor
values X through ``X = Xmin + x' (Xmax - Xmin)`` plus Gaussian sensor noise, optionally
binned 2x2 like the sensor does (averaging charge), and stored through the documented map.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from filters_server.imaging.lut import U16_MAX, Lut

# The Modality API's example LUT: gamma 2.3, full 16-bit slope, inverted 12-bit range.
EXAMPLE_LUT = Lut(gamma=2.3, slope=65535.0, offset=0.0, total_grays=4096, minimum_gray=3612, maximum_gray=418)


def _erf_fast(a: np.ndarray) -> np.ndarray:
    """Abramowitz-Stegun 7.1.26 (|error| < 1.5e-7): fine for rendering phantoms."""
    s = np.sign(a)
    a = np.abs(a)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return s * (1.0 - poly * np.exp(-a * a))


def sensor(xp: np.ndarray, lut: Lut, noise: float = 0.0, seed: int = 0) -> np.ndarray:
    """Scene x' -> float sensor values X, with Gaussian noise of std ``noise`` (in X units)."""
    x = lut.minimum_gray + np.asarray(xp, dtype=np.float64) * (lut.maximum_gray - lut.minimum_gray)
    if noise > 0:
        x = x + np.random.default_rng(seed).normal(0.0, noise, size=x.shape)
    return x


def bin2x2(x: np.ndarray) -> np.ndarray:
    """Sensor 2x2 binning: the mean of each 2x2 block (odd edges dropped)."""
    h, w = (x.shape[0] // 2) * 2, (x.shape[1] // 2) * 2
    x = x[:h, :w]
    return 0.25 * (x[0::2, 0::2] + x[1::2, 0::2] + x[0::2, 1::2] + x[1::2, 1::2])


def stored(x: np.ndarray, lut: Lut) -> np.ndarray:
    """Float sensor values X -> what the sensor stores: integer X, then the documented map."""
    xi = np.clip(np.rint(x), 0, lut.total_grays - 1)
    v = np.clip((xi - lut.minimum_gray) / (lut.maximum_gray - lut.minimum_gray), 0.0, 1.0)
    y = lut.slope * v**lut.gamma + lut.offset
    return np.clip(np.rint(y), 0, U16_MAX).astype(np.uint16)


def image(scene: np.ndarray, lut: Lut, *, binned: bool = False, noise: float = 12.0, seed: int = 0) -> np.ndarray:
    """Scene x' (drawn at the unbinned pitch) -> stored uint16 image, 2x2-binned on request."""
    x = sensor(scene, lut, noise, seed)
    return stored(bin2x2(x) if binned else x, lut)


def flat(shape: tuple[int, int], level: float) -> np.ndarray:
    return np.full(shape, float(level))


def step_edge(shape: tuple[int, int], lo: float, hi: float, blur_px: float = 0.0) -> np.ndarray:
    """Vertical edge at the centre column: ``lo`` left, ``hi`` right, Gaussian-blurred."""
    _h, w = shape
    d = np.arange(w) - (w - 1) / 2.0
    row = _edge_profile(d, blur_px)
    return np.broadcast_to(lo + (hi - lo) * row, shape).copy()


def _edge_profile(d: np.ndarray, blur_px: float) -> np.ndarray:
    if blur_px <= 0:
        return (d > 0).astype(np.float64) + 0.5 * (d == 0)
    return 0.5 * (1.0 + _erf_fast(d / (math.sqrt(2.0) * blur_px)))


def slanted_edge(
    shape: tuple[int, int], lo: float, hi: float, angle_deg: float = 5.0, blur_px: float = 1.0
) -> np.ndarray:
    """An edge through the centre, tilted ``angle_deg`` from vertical, analytic Gaussian blur.

    The signed distance of a pixel centre to the edge is ``(c - cx) cos a - (r - cy) sin a``;
    metrics.edge_distance computes the same, so MTF code needs no edge fitting.
    """
    return lo + (hi - lo) * _edge_profile(edge_distance(shape, angle_deg), blur_px)


def edge_distance(shape: tuple[int, int], angle_deg: float) -> np.ndarray:
    h, w = shape
    a = math.radians(angle_deg)
    r, c = np.mgrid[0:h, 0:w].astype(np.float64)
    return (c - (w - 1) / 2.0) * math.cos(a) - (r - (h - 1) / 2.0) * math.sin(a)


def bars(shape: tuple[int, int], period_px: float, lo: float, hi: float) -> np.ndarray:
    """Vertical square-wave bars of the given period."""
    _h, w = shape
    wave = ((np.arange(w) % period_px) < period_px / 2).astype(np.float64)
    return np.broadcast_to(lo + (hi - lo) * wave, shape).copy()


def dental_scene(shape: tuple[int, int] = (1708, 2400), pitch_mm: float = 0.015, seed: int = 1) -> np.ndarray:
    """A stylised bitewing-like scene in x' (1 = bright), sized in mm so any pitch works.

    Saturated background (x' = 0) at the top, soft tissue, trabecular bone, three teeth
    (enamel, dentin, pulp canal), a metal restoration (x' = 1), an endodontic file
    (0.1 mm bright line) and a 0.5 mm blur-free edge, then 0.03 mm sensor blur.
    """
    h, w = shape
    rng = np.random.default_rng(seed)
    r, c = np.mgrid[0:h, 0:w].astype(np.float32) * np.float32(pitch_mm)  # mm
    hmm, wmm = h * pitch_mm, w * pitch_mm
    scene = np.full(shape, 0.15, np.float32)  # soft tissue
    scene[r < 0.12 * hmm] = 0.0  # direct exposure: saturated black

    # Bone with trabecular texture: band-pass noise at ~0.3-1 mm.
    coarse = rng.standard_normal((max(2, h // 8), max(2, w // 8))).astype(np.float32)
    tex: np.ndarray = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
    tex = cv2.GaussianBlur(tex, (0, 0), 0.15 / pitch_mm) - cv2.GaussianBlur(tex, (0, 0), 0.6 / pitch_mm)
    tex *= 0.05 / max(float(tex.std()), 1e-6)
    bone = (r > 0.55 * hmm).astype(np.float32)
    bone = cv2.GaussianBlur(bone, (0, 0), 0.4 / pitch_mm)
    scene += bone * (0.22 + tex)

    for i, cx in enumerate((0.22, 0.5, 0.78)):
        cxm, half = cx * wmm, 0.12 * wmm
        crown = ((c - cxm) / half) ** 2 + ((r - 0.38 * hmm) / (0.3 * hmm)) ** 2 < 1.0
        root = (np.abs(c - cxm) < half * 0.55 * (1.1 - (r - 0.4 * hmm) / hmm)) & (r > 0.38 * hmm)
        tooth = crown | root
        scene[tooth] = 0.62 + 0.1 * bone[tooth]
        enamel = crown & (((c - cxm) / half) ** 2 + ((r - 0.38 * hmm) / (0.3 * hmm)) ** 2 > 0.72) & (r < 0.38 * hmm)
        scene[enamel] = 0.82
        canal = tooth & (np.abs(c - cxm) < 0.1 + 0.25 * (r < 0.45 * hmm)) & (r > 0.3 * hmm)
        scene[canal] = 0.45
        if i == 0:  # endodontic file in the first canal
            scene[tooth & (np.abs(c - cxm) < 0.05) & (r > 0.32 * hmm)] = 0.95
        if i == 2:  # metal restoration on the last crown
            filling = ((c - cxm) / (0.5 * half)) ** 2 + ((r - 0.2 * hmm) / (0.09 * hmm)) ** 2 < 1.0
            scene[filling] = 1.0
    blurred = cv2.GaussianBlur(scene, (0, 0), 0.03 / pitch_mm)
    # Keep the saturated classes exact after blurring, as a real detector clips them.
    blurred[scene == 0.0] = np.minimum(blurred[scene == 0.0], 0.0)
    blurred[scene == 1.0] = 1.0
    return np.clip(blurred, 0.0, 1.0).astype(np.float64)


def dental_image(
    shape: tuple[int, int] = (1708, 2400), lut: Lut = EXAMPLE_LUT, noise: float = 12.0, seed: int = 1
) -> np.ndarray:
    """dental_scene as the stored uint16 image of an unbinned sensor."""
    return stored(sensor(dental_scene(shape, 0.015, seed), lut, noise, seed), lut)
