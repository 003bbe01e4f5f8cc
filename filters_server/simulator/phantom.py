"""Synthetic periapical radiographs as raw 12-bit sensor values. Pure numpy/OpenCV, no I/O.

The scene is built in millimetres, so one seed gives the same anatomy at any pixel pitch (binned or
not): a row of teeth (crowns at the top, cable exits south) made of nested superellipsoids for
enamel, dentin and pulp; tapered roots with canals, the periodontal ligament (dark) and lamina dura
(bright) around them; alveolar bone with ridged-noise trabeculae below the crest; optionally an
occlusal restoration (burns out) and an interproximal carious lesion (enamel notch). Projected
attenuation ``D`` (sum of mu * path length) becomes a detector signal ``I0 * exp(-D)``, then
scintillator blur, gain non-uniformity and signal-dependent noise, so enhancement filters have
real edges, real texture and real noise to work on.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

__all__ = ["SceneOptions", "synthesize_raw"]

# Linear attenuation (per mm) at ~60 kVp, tuned so raw values land near the spec's example LUT
# (air ~3600, enamel-capped crown ~450 on a 12-bit scale).
MU_ENAMEL = 0.28
MU_DENTIN = 0.12
MU_PULP = 0.02
MU_RESTORATION = 2.5
I0 = 3800.0  # unattenuated signal, 12-bit counts
MAX_RAW = 4095


@dataclasses.dataclass(frozen=True)
class SceneOptions:
    """What varies between exposures besides the random anatomy."""

    width: int  # output pixels (already binned)
    height: int
    pixel_size_mm: float  # output pitch (unbinned pitch * binning factor)
    noise_scale: float = 1.0  # 0.5 for 2x2 binning: averaging four pixels halves the noise


def synthesize_raw(options: SceneOptions, rng: np.random.Generator) -> np.ndarray:
    """Return a (height, width) uint16 image of raw sensor counts in [0, 4095], bright = air."""
    h, w, p = options.height, options.width, options.pixel_size_mm
    ys = ((np.arange(h, dtype=np.float32) + 0.5) * p)[:, None]
    xs = ((np.arange(w, dtype=np.float32) + 0.5) * p)[None, :]
    h_mm, w_mm = h * p, w * p

    teeth = _layout_teeth(rng, w_mm, h_mm)
    density = np.zeros((h, w), np.float32)
    root_mask = np.zeros((h, w), np.uint8)
    root_path = np.zeros((h, w), np.float32)
    for tooth in teeth:
        _add_tooth(tooth, ys, xs, p, density, root_mask, root_path, rng)

    density += _bone(teeth, rng, ys, xs, p, w_mm, h_mm, root_mask, root_path)
    soft = 0.15 + 0.06 * _smooth_field(rng, h, w, p, grid_mm=1.0, sigma_mm=6.0)
    density += np.maximum(soft, 0.03)  # cheek and gingiva

    signal: np.ndarray = I0 * np.exp(-density)
    signal *= 1.0 + 0.01 * _smooth_field(rng, h, w, p, grid_mm=1.0, sigma_mm=4.0)  # gain residue
    blur = 0.02 / p  # scintillator spread, 20 um
    signal = cv2.GaussianBlur(signal, (0, 0), sigmaX=blur, sigmaY=blur)
    # Quantum noise ~ sqrt(signal) plus read noise; binning averages it down.
    sigma = np.sqrt(0.25 * signal + 9.0) * options.noise_scale
    signal += sigma * rng.standard_normal((h, w), dtype=np.float32)
    return np.clip(np.rint(signal), 0, MAX_RAW).astype(np.uint16)


@dataclasses.dataclass(frozen=True)
class _Tooth:
    cx: float  # centre line at the CEJ, mm
    half_width: float  # a: mesio-distal semi-axis of the crown
    depth: float  # c: bucco-lingual semi-axis
    top: float  # occlusal (cusp tip) level
    cej: float
    root_length: float
    roots: int  # 1 premolar, 2 molar
    tilt: float  # mm of lateral shift per mm downwards
    restoration: bool
    caries_side: int  # -1 mesial, +1 distal, 0 none


def _layout_teeth(rng: np.random.Generator, w_mm: float, h_mm: float) -> list[_Tooth]:
    """Fill the width with touching teeth; the first and last are cut by the sensor edge."""
    teeth: list[_Tooth] = []
    molar_from = int(rng.integers(0, 4))  # premolars first, then molars (a posterior PA)
    x = -rng.uniform(0.2, 0.6) * 8.0
    top = h_mm * 0.05 + rng.uniform(0.0, 1.5)
    index = 0
    while x < w_mm:
        molar = index >= molar_from
        width = rng.uniform(9.5, 11.0) if molar else rng.uniform(6.8, 7.6)
        crown_h = rng.uniform(6.5, 7.2) if molar else rng.uniform(7.5, 8.5)
        tooth_top = top + rng.uniform(-0.6, 0.6)
        teeth.append(
            _Tooth(
                cx=x + width / 2,
                half_width=width / 2,
                depth=(rng.uniform(5.0, 5.6) if molar else rng.uniform(4.0, 4.6)),
                top=tooth_top,
                cej=tooth_top + crown_h,
                root_length=rng.uniform(11.0, 13.5) if molar else rng.uniform(13.0, 15.0),
                roots=2 if molar else 1,
                tilt=float(rng.normal(0.0, 0.04)),
                restoration=bool(rng.random() < 0.2),
                caries_side=int(rng.choice([-1, 0, 0, 1])),
            )
        )
        x += width - rng.uniform(0.1, 0.5)  # contacts overlap slightly, as in real projections
        index += 1
    return teeth


def _window(lo: float, hi: float, p: float, n: int) -> slice:
    return slice(max(0, int(lo / p)), max(0, min(n, int(np.ceil(hi / p)) + 1)))


def _superellipsoid_path(
    dx: np.ndarray, dy: np.ndarray, a: float, b: float, c: float, power: float = 2.2
) -> np.ndarray:
    """Projected thickness through a superellipsoid-like body: 2c * sqrt(1 - |dx/a|^p - |dy/b|^p)."""
    q = np.abs(dx / a) ** power + np.abs(dy / b) ** power
    return 2.0 * c * np.sqrt(np.maximum(1.0 - q, 0.0))


def _add_tooth(
    t: _Tooth,
    ys: np.ndarray,
    xs: np.ndarray,
    p: float,
    density: np.ndarray,
    root_mask: np.ndarray,
    root_path: np.ndarray,
    rng: np.random.Generator,
) -> None:
    h, w = density.shape
    apex = t.cej + t.root_length
    cols = _window(t.cx - t.half_width - 2.5, t.cx + t.half_width + 2.5, p, w)
    if cols.start >= cols.stop:
        return
    x = xs[:, cols]

    # Crown: rows from the cusp tips to the CEJ.
    crown_h = t.cej - t.top
    rows = _window(t.top - 1.0, t.cej, p, h)
    if rows.start < rows.stop:
        y = ys[rows]
        dx = x - t.cx
        # Two or three cusps: the occlusal outline dips between them.
        cusps = 3 if t.roots == 2 else 2
        phase = (dx / t.half_width + 1.0) * np.pi * cusps / 2
        fade = np.clip(1.0 - (y - t.top) / crown_h, 0.0, 1.0)
        y_eff = y - 0.9 * (1 - np.abs(np.cos(phase))) * fade * 0.8
        b = 0.62 * crown_h
        ym = t.top + b
        dy = y_eff - ym
        outer = _superellipsoid_path(dx, dy, t.half_width, b, t.depth)
        e = 1.3 if t.roots == 2 else 1.1  # enamel thickness
        inner = _superellipsoid_path(dx, dy - 0.2, t.half_width - e, b - e, t.depth - e)
        inner = np.minimum(inner, outer)
        # Enamel thins to nothing at the CEJ; what it leaves is dentin.
        keep = np.clip((t.cej - y) / 1.6, 0.0, 1.0)
        enamel = (outer - inner) * keep
        dentin = outer - enamel
        pulp = _superellipsoid_path(
            dx, y - (t.cej - 0.15 * crown_h), 0.42 * t.half_width, 0.32 * crown_h, 0.35 * t.depth, power=2.0
        )
        pulp = np.minimum(pulp, dentin)
        below = (y <= t.cej).astype(np.float32)
        mu_enamel = np.full_like(enamel, MU_ENAMEL)
        if t.caries_side:
            # Interproximal lesion: a demineralised wedge in the enamel near the contact point.
            lesion = _superellipsoid_path(
                dx - t.caries_side * (t.half_width - 0.5), y - (t.top + 0.45 * crown_h), 0.6, 0.8, t.depth, power=2.0
            )
            mu_enamel -= 0.45 * MU_ENAMEL * np.clip(lesion / t.depth, 0.0, 1.0)
        d = (enamel * mu_enamel + (dentin - pulp) * MU_DENTIN + pulp * MU_PULP) * below
        if t.restoration:
            filling = _superellipsoid_path(
                dx - rng.uniform(-1.0, 1.0), y - (t.top + 1.2), 0.45 * t.half_width, 1.8, 0.5 * t.depth, power=3.0
            )
            d += filling * (MU_RESTORATION - MU_ENAMEL) * below
        density[rows, cols] += d

    # Roots: per-row tapered cylinders with an elliptic cross-section. Molars have a 3 mm trunk
    # that splits into two diverging roots (the furcation).
    rows = _window(t.cej, apex, p, h)
    if rows.start >= rows.stop:
        return
    y = ys[rows]
    below_cej = y - t.cej
    s = np.clip(below_cej / t.root_length, 0.0, 1.0)
    dy_cej = (t.cej - (t.top + 0.62 * crown_h)) / (0.62 * crown_h)
    r_cej = t.half_width * (1.0 - abs(dy_cej) ** 2.2) ** (1 / 2.2)
    taper = np.sqrt(np.maximum(1.0 - s**2.5, 0.0)) * (1.0 - 0.35 * s)
    split = np.clip(below_cej / 3.0, 0.0, 1.0) if t.roots == 2 else np.zeros_like(s)
    width = r_cej * (1.0 - 0.5 * split) * taper
    # Same cross-section as the crown's at the CEJ, so the outline and density are continuous.
    depth = t.depth * np.sqrt(1.0 - abs(dy_cej) ** 2.2) * taper
    canal_width = np.where(s < 0.96, 0.18 * width + 0.08, 0.0)
    root_total = np.zeros((y.shape[0], x.shape[1]), np.float32)
    canal_total = np.zeros_like(root_total)
    for k in range(t.roots):
        offset = (k - 0.5) * (r_cej * split + 0.15 * below_cej) if t.roots == 2 else 0.0
        dx = x - (t.cx + offset + t.tilt * below_cej)
        path = _elliptic_path(dx, width, depth)
        canal = _elliptic_path(dx, canal_width, 0.3 * depth)
        root_total = np.maximum(root_total, path)
        canal_total = np.maximum(canal_total, np.minimum(canal, path))
    density[rows, cols] += (root_total - canal_total) * MU_DENTIN + canal_total * MU_PULP
    root_mask[rows, cols] |= (root_total > 0).astype(np.uint8)
    root_path[rows, cols] = np.maximum(root_path[rows, cols], root_total)


def _elliptic_path(dx: np.ndarray, half_width: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """Chord through an elliptic cross-section (semi-axes half_width across, depth along the beam)."""
    ratio = dx / np.maximum(half_width, 1e-6)
    return 2.0 * depth * np.sqrt(np.maximum(1.0 - ratio**2, 0.0)) * (half_width > 0)


def _smooth_field(rng: np.random.Generator, h: int, w: int, p: float, *, grid_mm: float, sigma_mm: float) -> np.ndarray:
    """Zero-mean, unit-std low-frequency field at output size, computed on a coarse grid."""
    gh = max(2, int(h * p / grid_mm) + 1)
    gw = max(2, int(w * p / grid_mm) + 1)
    field: np.ndarray = rng.standard_normal((gh, gw), dtype=np.float32)
    field = cv2.GaussianBlur(field, (0, 0), sigmaX=sigma_mm / grid_mm)
    np.subtract(field, field.mean(), out=field)
    np.divide(field, field.std() + 1e-6, out=field)
    return cv2.resize(field, (w, h), interpolation=cv2.INTER_LINEAR)


def _trabeculae(rng: np.random.Generator, h: int, w: int, p: float) -> np.ndarray:
    """Ridged band-pass noise: thin connected struts around marrow spaces, values in [0, 1]."""
    grid = 0.04  # mm; struts are ~0.1-0.3 mm wide
    gh, gw = int(h * p / grid) + 1, int(w * p / grid) + 1
    out = np.zeros((gh, gw), np.float32)
    for sigma_mm, weight in ((0.15, 0.45), (0.3, 0.3), (0.7, 0.25)):
        noise = rng.standard_normal((gh, gw), dtype=np.float32)
        band: np.ndarray = cv2.GaussianBlur(noise, (0, 0), sigmaX=sigma_mm / grid)
        band /= band.std() + 1e-6
        if sigma_mm < 0.5:
            out += weight * np.exp(-((band / 0.5) ** 2))  # struts along the zero crossings
        else:
            out += weight * np.clip(0.5 + 0.3 * band, 0.0, 1.0)  # denser and sparser regions
    return cv2.resize(out, (w, h), interpolation=cv2.INTER_LINEAR)


def _bone(
    teeth: list[_Tooth],
    rng: np.random.Generator,
    ys: np.ndarray,
    xs: np.ndarray,
    p: float,
    w_mm: float,
    h_mm: float,
    root_mask: np.ndarray,
    root_path: np.ndarray,
) -> np.ndarray:
    h, w = root_mask.shape
    # Alveolar crest ~1.8 mm apical to the CEJ of the nearest tooth, peaking between teeth.
    centres = np.array([t.cx for t in teeth], np.float32)
    cejs = np.array([t.cej for t in teeth], np.float32)
    x1 = xs[0]
    nearest = np.abs(x1[:, None] - centres[None, :]).argmin(axis=1)
    crest = cejs[nearest] + 1.8
    crest = cv2.GaussianBlur(crest[None, :].astype(np.float32), (0, 0), sigmaX=1.5 / p)[0]
    crest += 0.4 * _smooth_field(rng, 1, w, p, grid_mm=1.0, sigma_mm=3.0)[0]
    depth_below = ys - crest[None, :]
    in_bone = np.clip(depth_below / 0.5, 0.0, 1.0)
    crest_cortex = 0.12 * np.exp(-(((depth_below - 0.25) / 0.3) ** 2)) * (depth_below > -0.3)

    # Thickness of the jaw grows away from the crest; roots displace part of it.
    base = 0.35 + 0.25 * np.clip(depth_below / 8.0, 0.0, 1.0)
    trab = _trabeculae(rng, h, w, p)
    bone = base + 0.35 * trab
    bone *= 1.0 - 0.5 * np.clip(root_path / 8.0, 0.0, 1.0)

    # PDL space (dark) then lamina dura (bright) along every root outline.
    if root_mask.any():
        dist = cv2.distanceTransform((1 - root_mask).astype(np.uint8), cv2.DIST_L2, 5) * p
        outside = (root_mask == 0).astype(np.float32)
        pdl = np.exp(-(((dist - 0.1) / 0.09) ** 2)) * outside
        lamina = np.exp(-(((dist - 0.32) / 0.12) ** 2))
        bone = bone * (1.0 - 0.3 * pdl) + 0.15 * lamina
    return (bone * in_bone + crest_cortex).astype(np.float32)
