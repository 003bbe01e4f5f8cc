"""The sensor's documented LUT map, its inverse, and the tables that make both fast.

Modality API: ``Y = m * x'^g + b`` with ``x' = (X - Xmin) / (Xmax - Xmin)`` in [0, 1].
Every stored pixel ``Y`` is a uint16, so each direction that starts from ``Y`` is a
65536-entry table (one fancy-index pass instead of a pow per pixel). The way back from
the float linear domain to ``Y`` is a clip, an in-place ``cv2.pow`` and one saturating
``addWeighted``: a table there would quantise ``y`` and cost more than 1 LSB where
the map is steep.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from filters_server.imaging.halves import by_halves

U16_MAX = 65535


@dataclass(frozen=True)
class Lut:
    """``ImageInfo.lutInfo`` of an image (field names in snake_case)."""

    gamma: float
    slope: float
    offset: float
    total_grays: int
    minimum_gray: int
    maximum_gray: int


class DegenerateLut(ValueError):
    """The LUT cannot be inverted; the message names the field that makes it so."""


def _code(value: float) -> int:
    """A mapped value as the uint16 code the sensor would store."""
    return int(min(max(round(value), 0), U16_MAX))


def check_lut(lut: Lut) -> None:
    """Raise DegenerateLut when the map ``Y = m x'^g + b`` has no usable inverse."""
    for name in ("gamma", "slope", "offset"):
        value = getattr(lut, name)
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            raise DegenerateLut(f"lutInfo.{name} must be a finite number, got {value!r}")
    for name in ("total_grays", "minimum_gray", "maximum_gray"):
        value = getattr(lut, name)
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise DegenerateLut(f"lutInfo.{_camel(name)} must be an integer, got {value!r}")
    if lut.gamma <= 0:
        raise DegenerateLut(f"lutInfo.gamma must be > 0 (got {lut.gamma}): x'^(1/g) is undefined")
    if lut.slope == 0:
        raise DegenerateLut("lutInfo.slope is 0: every gray maps to the offset, nothing to invert")
    if lut.minimum_gray == lut.maximum_gray:
        raise DegenerateLut(
            f"lutInfo.minimumGray equals lutInfo.maximumGray ({lut.minimum_gray}): "
            "x' = (X - Xmin) / (Xmax - Xmin) divides by zero"
        )
    if not 2 <= lut.total_grays <= U16_MAX + 1:
        raise DegenerateLut(
            f"lutInfo.totalGrays must be in [2, 65536] (got {lut.total_grays}): unmapped values must fit a 16-bit image"
        )
    if _code(lut.offset) == _code(lut.slope + lut.offset):
        raise DegenerateLut(
            "lutInfo.slope and lutInfo.offset map the whole range [0, 1] onto one 16-bit code "
            f"({_code(lut.offset)}): the image carries no invertible gray levels"
        )


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _linear64(lut: Lut) -> np.ndarray:
    """x' for every possible stored code Y (float64), clipped to [0, 1]."""
    y = np.arange(U16_MAX + 1, dtype=np.float64)
    v = np.clip((y - lut.offset) / lut.slope, 0.0, 1.0)
    return v ** (1.0 / lut.gamma)


@lru_cache(maxsize=64)
def linear_table(lut: Lut) -> np.ndarray:
    """Read-only float32 table: ``linear_table(lut)[Y]`` is x' in [0, 1]."""
    check_lut(lut)
    table = _linear64(lut).astype(np.float32)
    table.flags.writeable = False
    return table


@lru_cache(maxsize=64)
def unmap_table(lut: Lut) -> np.ndarray:
    """Read-only uint16 table: ``unmap_table(lut)[Y]`` is the sensor value X."""
    check_lut(lut)
    x = lut.minimum_gray + _linear64(lut) * (lut.maximum_gray - lut.minimum_gray)
    table = np.clip(np.rint(x), 0, min(lut.total_grays - 1, U16_MAX)).astype(np.uint16)
    table.flags.writeable = False
    return table


def linearise(image: np.ndarray, lut: Lut) -> np.ndarray:
    """Stored uint16 image -> float32 x' (a new array)."""
    return _lookup(linear_table(lut), image)


@dataclass(frozen=True)
class Saturation:
    """The codes at the two ends of the map and the x' range that avoids them.

    ``y_lo``/``y_hi`` are the x' of the first code inside each end: clipping to them
    keeps sharpening overshoot from creating new saturated pixels.
    """

    code_lo: int  # min of the two end codes
    code_hi: int
    y_lo: float
    y_hi: float


@lru_cache(maxsize=64)
def saturation(lut: Lut) -> Saturation:
    check_lut(lut)
    c0, c1 = _code(lut.offset), _code(lut.slope + lut.offset)
    step = 1 if c1 > c0 else -1

    def x_of(code: int) -> float:
        v = min(max((code - lut.offset) / lut.slope, 0.0), 1.0)
        return v ** (1.0 / lut.gamma)

    y_lo, y_hi = x_of(c0 + step), x_of(c1 - step)
    if y_lo >= y_hi:  # two or three codes only: nothing to protect, plain [0, 1]
        y_lo, y_hi = 0.0, 1.0
    return Saturation(min(c0, c1), max(c0, c1), y_lo, y_hi)


def remap(y: np.ndarray, lut: Lut, source: np.ndarray | None = None) -> np.ndarray:
    """float32 x' -> uint16 ``round(m y^g + b)``. Consumes ``y`` (used as scratch).

    With ``source`` (the stored image the filter started from), pixels that were
    saturated there keep their code and no other pixel is allowed to reach a
    saturated code, so the saturated fraction cannot grow.
    """
    out = np.empty(y.shape, np.uint16)
    if source is None:
        by_halves(lambda rows, into: _remap_rows(rows, into, lut, None), y, out)
    else:
        by_halves(lambda rows, into, kept: _remap_rows(rows, into, lut, kept), y, out, source)
    return out


def _remap_rows(y: np.ndarray, out: np.ndarray, lut: Lut, source: np.ndarray | None) -> None:
    """:func:`remap` of some rows into ``out``: every step is per pixel."""
    sat = saturation(lut)
    lo, hi = (sat.y_lo, sat.y_hi) if source is not None else (0.0, 1.0)
    np.clip(y, lo, hi, out=y)
    cv2.pow(y, lut.gamma, dst=y)
    cv2.addWeighted(y, lut.slope, y, 0.0, lut.offset, dst=out, dtype=cv2.CV_16U)
    if source is not None:
        smin, smax, _, _ = cv2.minMaxLoc(source)
        if smin <= sat.code_lo or smax >= sat.code_hi:
            inside = cv2.inRange(source, sat.code_lo + 1, sat.code_hi - 1)
            cv2.copyTo(source, cv2.bitwise_not(inside), out)


def unmap_image(image: np.ndarray, lut: Lut) -> np.ndarray:
    """Stored uint16 image -> sensor values X (uint16)."""
    return _lookup(unmap_table(lut), image)


def _lookup(table: np.ndarray, image: np.ndarray) -> np.ndarray:
    """``table[image]`` for a 65536-entry table, as two halves at once."""
    if image.ndim != 2 or image.dtype != np.uint16:
        return np.take(table, image)  # anything else may hold indices the table lacks: let numpy check
    out = np.empty(image.shape, table.dtype)
    # mode="clip": any uint16 is a valid index of the table, and numpy buffers ``out`` in the
    # default mode ("raise"), which cost a third more.
    by_halves(lambda rows, into: np.take(table, rows, out=into, mode="clip"), image, out)
    return out
