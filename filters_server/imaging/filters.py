"""The four filter endpoints as pure functions: uint16 image in, uint16 image out."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np

from filters_server.imaging import params as P
from filters_server.imaging.codecs import decode_png16, encode
from filters_server.imaging.dicom import MEDIA_TYPE as DICOM_MEDIA_TYPE
from filters_server.imaging.dicom import DicomContext, encode_dicom
from filters_server.imaging.lut import U16_MAX, Lut, check_lut, unmap_image
from filters_server.imaging.pipeline import apply


def _check_image(image: np.ndarray) -> None:
    if image.ndim != 2 or image.dtype != np.uint16:
        raise ValueError(f"expected a 2-D uint16 image, got {image.dtype} with shape {image.shape}")


def _choice(value: str, allowed: tuple[str, ...], field: str) -> str:
    if value not in allowed:
        raise ValueError(f"{field} must be one of {', '.join(allowed)}; got {value!r}")
    return value


def _strength(sharpness: object) -> float:
    """Checked again here because the pure functions are also called directly (bench, scripts)."""
    if (
        isinstance(sharpness, bool)
        or not isinstance(sharpness, numbers.Real)
        or not math.isfinite(float(sharpness))
        or not 0.0 <= float(sharpness) <= 100.0
    ):
        raise ValueError(f"sharpness must be a number in [0, 100]; got {sharpness!r}")
    return float(sharpness) / 100.0


def unmap(image: np.ndarray, lut: Lut) -> np.ndarray:
    """Sensor values X = round(Xmin + x' (Xmax - Xmin)), clipped to [0, totalGrays - 1]."""
    _check_image(image)
    check_lut(lut)
    return unmap_image(image, lut)


def select(
    image: np.ndarray, lut: Lut, *, binned: bool, mode: str = P.DEFAULT_SELECT_MODE, pitch_mm: float | None = None
) -> np.ndarray:
    """Select filter: fixed strength s = 1, the mode picks denoise weight and band gains."""
    profile = P.SELECT_PROFILES[_choice(mode, P.SELECT_MODES, "enhancementMode")]
    _check_image(image)
    check_lut(lut)
    return apply(image, lut, profile, 1.0, P.pitch_mm(binned, pitch_mm))


def supreme(
    image: np.ndarray,
    lut: Lut,
    *,
    binned: bool,
    task: str = P.DEFAULT_TASK,
    sharpness: float = P.DEFAULT_SHARPNESS,
    pitch_mm: float | None = None,
) -> np.ndarray:
    """Supreme filter: the task picks the profile, sharpness/100 scales the band sum."""
    return _task_filter(P.SUPREME_PROFILES, P.SUPREME_TASKS, image, lut, binned, task, sharpness, pitch_mm)


def ae(
    image: np.ndarray,
    lut: Lut,
    *,
    binned: bool,
    task: str = P.DEFAULT_TASK,
    sharpness: float = P.DEFAULT_SHARPNESS,
    pitch_mm: float | None = None,
) -> np.ndarray:
    """AE filter: same pipeline and tables as supreme, without the hygiene task."""
    return _task_filter(P.AE_PROFILES, P.AE_TASKS, image, lut, binned, task, sharpness, pitch_mm)


def _task_filter(
    profiles: Mapping[str, P.Profile],
    tasks: tuple[str, ...],
    image: np.ndarray,
    lut: Lut,
    binned: bool,
    task: str,
    sharpness: float,
    pitch_mm: float | None,
) -> np.ndarray:
    profile = profiles[_choice(task, tasks, "task")]
    strength = _strength(sharpness)
    _check_image(image)
    check_lut(lut)
    return apply(image, lut, profile, strength, P.pitch_mm(binned, pitch_mm))


FILTER_NAMES: tuple[str, ...] = ("unmap", "select", "supreme", "ae")


def run_filter(
    name: str,
    png: bytes,
    lut: Lut,
    *,
    binned: bool,
    params: Mapping[str, Any],
    media_type: str,
    pitch_mm: float | None = None,
) -> bytes:
    """The whole job of one filter request, meant for one worker-thread call.

    decode -> filter -> encode. ``params`` are the filter's validated keyword arguments
    ({"mode": ...} for select, {"task": ..., "sharpness": ...} for supreme/ae, {} for
    unmap). Raises DegenerateLut (a ValueError) for a bad LUT and ValueError for bad
    image data or parameters; both are client errors.
    """
    check_lut(lut)
    return filter_image(
        name, decode_png16(png), lut, binned=binned, params=params, media_type=media_type, pitch_mm=pitch_mm
    )


def filter_pixels(
    name: str,
    image: np.ndarray,
    lut: Lut,
    *,
    binned: bool,
    params: Mapping[str, Any],
    pitch_mm: float | None = None,
) -> tuple[np.ndarray, int]:
    """The filter's output pixels and the value that 8-bit outputs scale to white.

    ``name`` "media" is the stored image itself (only re-encoded, e.g. as DICOM).
    """
    if name in ("unmap", "media") and params:
        raise ValueError(f"{name} takes no parameters; got {sorted(params)}")
    if name == "media":
        return image, U16_MAX
    if name == "unmap":
        # 8-bit outputs of sensor values: scale so totalGrays - 1 is white, not 65535.
        return unmap(image, lut), min(lut.total_grays - 1, U16_MAX)
    if name == "select":
        return select(image, lut, binned=binned, pitch_mm=pitch_mm, **params), U16_MAX
    if name == "supreme":
        return supreme(image, lut, binned=binned, pitch_mm=pitch_mm, **params), U16_MAX
    if name == "ae":
        return ae(image, lut, binned=binned, pitch_mm=pitch_mm, **params), U16_MAX
    raise ValueError(f"unknown filter {name!r}; expected one of {FILTER_NAMES}")


def render(pixels: np.ndarray, media_type: str, *, white: int = U16_MAX, dicom: DicomContext | None = None) -> bytes:
    """Encode output pixels as ``media_type`` (one of OUTPUT_TYPES); DICOM needs its context."""
    if media_type == DICOM_MEDIA_TYPE:
        if dicom is None:
            raise ValueError("a DICOM output needs its DicomContext")
        return encode_dicom(pixels, dicom)
    return encode(pixels, media_type, white=white)


def filter_image(
    name: str,
    image: np.ndarray,
    lut: Lut,
    *,
    binned: bool,
    params: Mapping[str, Any],
    media_type: str,
    pitch_mm: float | None = None,
    dicom: DicomContext | None = None,
) -> bytes:
    """filter -> encode of an already decoded image (which is only read, never written)."""
    pixels, white = filter_pixels(name, image, lut, binned=binned, params=params, pitch_mm=pitch_mm)
    return render(pixels, media_type, white=white, dicom=dicom)
