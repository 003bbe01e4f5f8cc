"""From raw sensor counts to the media the Modality API serves: LUT, rotation, PNG/JPEG, pixel hash.

Pure numpy/OpenCV. The LUT is the one the Modality spec documents in ``LutInfo``::

    Y = m * x'^g + b,   x' = (X - Xmin) / (Xmax - Xmin)  clipped to [0, 1]

with ``Xmin`` (``minimumGray``) > ``Xmax`` (``maximumGray``) so that air is black and enamel white.
Like a real sensor's "dynamic gamma map", Xmin/Xmax are chosen per image from its histogram.

``pixelHash``: the spec says it is a hash "of the pixel data extracted from the image", i.e. of the
decoded pixels, not of the PNG file bytes. The simulator hashes the row-major pixel array as
little-endian unsigned 16-bit samples with no padding (what a .NET ``ushort[]`` on x86 hashes).
"""

from __future__ import annotations

import dataclasses
import hashlib

import cv2
import numpy as np

from .phantom import MAX_RAW, SceneOptions, synthesize_raw
from .sensors import SensorModel

__all__ = [
    "Lut",
    "RenderedImage",
    "apply_lut",
    "dynamic_lut",
    "encode_png16",
    "encode_preview",
    "pixel_hash",
    "render",
    "rotate",
]

TOTAL_GRAYS = MAX_RAW + 1
PREVIEW_MAX_SIDE = 512
METAL_FLOOR = 200  # raw counts below this are behind metal, not tissue


@dataclasses.dataclass(frozen=True)
class Lut:
    """The documented gamma map (field names follow the spec's LutInfo)."""

    gamma: float = 2.3
    slope: float = 65535.0
    offset: float = 0.0
    total_grays: int = TOTAL_GRAYS
    minimum_gray: int = 3612
    maximum_gray: int = 418


@dataclasses.dataclass(frozen=True)
class RenderedImage:
    """One exposure, ready to serve. ``pixels`` is exactly what the PNG decodes to."""

    pixels: np.ndarray  # uint16 (height, width)
    lut: Lut | None  # None when the LUT was not applied (raw 12-bit counts)
    bits_per_pixel: int
    exposure_value: float


def dynamic_lut(raw: np.ndarray, gamma: float = 2.3) -> Lut:
    """Map the brightest 0.5 % (air) to black and the darkest 0.5 % of tissue (enamel) to white.

    Metal (restorations) is left out of the statistics, as it would otherwise set the white
    point and flatten all tooth contrast; it simply burns out white, as on real sensors.
    """
    sample = raw[::4, ::4]
    tissue = sample[sample > METAL_FLOOR]
    if tissue.size == 0:
        tissue = sample
    x_min = int(np.percentile(sample, 99.5))
    x_max = int(np.percentile(tissue, 0.5))
    if x_min <= x_max:  # featureless image: keep the map invertible and inverted
        x_min, x_max = max(x_max + 1, MAX_RAW), min(x_max, MAX_RAW - 1)
    return Lut(gamma=gamma, minimum_gray=x_min, maximum_gray=x_max)


def lut_table(lut: Lut) -> np.ndarray:
    """The map for every possible raw value, so applying it is one gather."""
    x = np.arange(lut.total_grays, dtype=np.float64)
    xn = np.clip((x - lut.minimum_gray) / (lut.maximum_gray - lut.minimum_gray), 0.0, 1.0)
    y = lut.slope * xn**lut.gamma + lut.offset
    return np.clip(np.rint(y), 0, 65535).astype(np.uint16)


def apply_lut(raw: np.ndarray, lut: Lut) -> np.ndarray:
    return lut_table(lut)[np.minimum(raw, lut.total_grays - 1)]


def rotate(image: np.ndarray, degrees: int) -> np.ndarray:
    """Rotate clockwise by a multiple of 90 degrees (AcquisitionInfo.rotation)."""
    return np.ascontiguousarray(np.rot90(image, k=-(degrees // 90) % 4))


def render(
    sensor: SensorModel, *, binned: bool, rotation: int, apply_map: bool, seed: np.random.SeedSequence
) -> RenderedImage:
    """Expose ``sensor`` to a fresh random phantom. Same inputs, same pixels."""
    width, height = sensor.image_size(binned)
    factor = 2 if binned else 1
    rng = np.random.default_rng(seed)
    options = SceneOptions(
        width=width, height=height, pixel_size_mm=sensor.pixel_size_mm * factor, noise_scale=1.0 / factor
    )
    raw = rotate(synthesize_raw(options, rng), rotation)
    exposure = float(np.clip(rng.normal(0.0, 0.25), -0.95, 0.95))
    if not apply_map:
        return RenderedImage(pixels=raw, lut=None, bits_per_pixel=12, exposure_value=exposure)
    lut = dynamic_lut(raw)
    return RenderedImage(pixels=apply_lut(raw, lut), lut=lut, bits_per_pixel=16, exposure_value=exposure)


def encode_png16(pixels: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", pixels, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return buf.tobytes()


def encode_preview(image: RenderedImage) -> bytes:
    """8-bit JPEG thumbnail, longest side at most PREVIEW_MAX_SIDE, display-ready (bone bright)."""
    pixels = image.pixels
    if image.lut is None:
        pixels = apply_lut(pixels, dynamic_lut(pixels))
    eight: np.ndarray = (pixels >> 8).astype(np.uint8)
    h, w = eight.shape
    scale = PREVIEW_MAX_SIDE / max(h, w)
    if scale < 1.0:
        eight = cv2.resize(eight, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", eight, [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return buf.tobytes()


def pixel_hash(pixels: np.ndarray, alg: str = "SHA256") -> str:
    """Hex digest of the pixels as row-major little-endian uint16 (see module docstring)."""
    h = hashlib.new({"MD5": "md5", "SHA256": "sha256"}[alg.upper()])
    h.update(np.ascontiguousarray(pixels, dtype="<u2").tobytes())
    return h.hexdigest()
