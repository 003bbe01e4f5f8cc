"""Parameter tables of the filters: one Profile per select mode and per task.

Kept apart from the pixel code so docs/filters.md and the code can be compared line by
line. Enum tuples are in the spec's order: .NET clients send enums as integers that
index into them.
"""

from __future__ import annotations

from dataclasses import dataclass

SELECT_MODES: tuple[str, ...] = ("smooth", "edgeLow", "edgeHigh", "edgePro")
SUPREME_TASKS: tuple[str, ...] = ("general", "endodontic", "periodontic", "restorative", "hygiene")
AE_TASKS: tuple[str, ...] = ("general", "endodontic", "periodontic", "restorative")

DEFAULT_SELECT_MODE = "edgePro"
DEFAULT_TASK = "general"
DEFAULT_SHARPNESS = 70.0

# Detector pixel pitch; every kernel below is specified in mm and converted with it.
PITCH_MM_UNBINNED = 0.015
PITCH_MM_BINNED = 0.030

# Bands are the levels of a Laplacian pyramid; band k is centred on 0.03 * 2**k mm
# (0.03, 0.06, 0.12, 0.24, 0.48 mm): the design's 0.03 ... 0.5 mm DoG bands, one octave each.
BAND_BASE_MM = 0.03
NOISE_SIGMA_MM = 0.03  # Gaussian whose residual gives the noise estimate
BILATERAL_SIGMA_MM = 0.045  # spatial sigma of the denoiser
BILATERAL_DIAMETER_PX = 5  # window; fixed small for speed (see docs/filters.md)
BILATERAL_RANGE_SIGMAS = 2.5  # range sigma in units of the noise estimate
COMPRESSION_PIVOT = 0.05  # M of phi(b) = sign(b) M (|b|/M)^p, in units of x'


@dataclass(frozen=True)
class Profile:
    """What one mode/task does in the linear domain.

    gains:     G1..G5 for the bands at 0.03, 0.06, 0.12, 0.24, 0.48 mm.
    denoise:   w of ``d = x' + w (D(x') - x')``; 0 = off, 1 = fully denoised.
    exponent:  p of the MUSICA-like compression ``sign(b) M (|b|/M)^p`` (p < 1 lifts
               faint detail relative to strong edges).
    overshoot: cap on |phi(b)| in x' units before gain; limits halos at strong edges.
    coring:    soft threshold in units of the band's noise; detail below it is not
               amplified, so sharpening does not sharpen noise.
    """

    gains: tuple[float, float, float, float, float]
    denoise: float
    exponent: float = 0.7
    overshoot: float = 0.08
    coring: float = 1.0


_GENERAL = Profile(gains=(0.6, 1.0, 0.6, 0.3, 0.1), denoise=0.5)
_ENDODONTIC = Profile(gains=(1.0, 1.2, 0.5, 0.2, 0.0), denoise=0.25, exponent=0.85)
_PERIODONTIC = Profile(gains=(0.2, 0.6, 1.0, 0.8, 0.4), denoise=0.5)
_RESTORATIVE = Profile(gains=(0.4, 0.8, 0.8, 0.4, 0.2), denoise=0.5, overshoot=0.025)
_HYGIENE = Profile(gains=(0.3, 0.8, 0.8, 0.4, 0.2), denoise=0.6, overshoot=0.05)

SELECT_PROFILES: dict[str, Profile] = {
    "smooth": Profile(gains=(0.0, 0.0, 0.0, 0.0, 0.0), denoise=1.0),
    "edgeLow": Profile(gains=(0.0, 0.5, 0.3, 0.1, 0.0), denoise=0.5),
    "edgeHigh": Profile(gains=(0.5, 1.0, 0.6, 0.2, 0.0), denoise=0.3),
    "edgePro": Profile(gains=(0.8, 1.5, 1.5, 0.6, 0.2), denoise=0.5, exponent=0.6, overshoot=0.04),
}
SUPREME_PROFILES: dict[str, Profile] = {
    "general": _GENERAL,
    "endodontic": _ENDODONTIC,
    "periodontic": _PERIODONTIC,
    "restorative": _RESTORATIVE,
    "hygiene": _HYGIENE,
}
AE_PROFILES: dict[str, Profile] = {task: SUPREME_PROFILES[task] for task in AE_TASKS}

assert tuple(SELECT_PROFILES) == SELECT_MODES
assert tuple(SUPREME_PROFILES) == SUPREME_TASKS
assert tuple(AE_PROFILES) == AE_TASKS


def pitch_mm(binned: bool, override: float | None = None) -> float:
    """Pixel pitch for a binning mode; ``override`` (mm, > 0) wins when given."""
    if override is not None:
        if not override > 0:
            raise ValueError(f"pixel pitch must be > 0 mm, got {override!r}")
        return float(override)
    return PITCH_MM_BINNED if binned else PITCH_MM_UNBINNED
