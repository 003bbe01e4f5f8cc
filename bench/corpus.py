"""The benchmark corpora, generated at bench time into a temp dir that lives for one run.

Two corpora, measured side by side by every benchmark:

* ``realistic``: what clients send. An intraoral scene (``phantoms.dental_scene``: enamel,
  dentin, canals, trabecular bone, a restoration, a saturated background) on a 12-bit
  sensor (the example LUT: totalGrays 4096, X in 418..3612), with quantum noise (Poisson
  in the collected charge, so its std grows with sqrt of the signal) and electronic noise
  (Gaussian, constant), optionally 2x2-binned by averaging charge, then stored through
  the LUT (``phantoms.stored``) as the sensor does: a uint16 image spanning 0..65535 with
  at most 4096 distinct codes. Written as libpng writes by default: zlib level 6, default
  strategy, adaptive per-row filters.
* ``noise``: uniform 16-bit noise, written the same way. It does not compress, so deflate
  stores it in stored blocks and inflating it is a memory copy: the easy case.

Writer: ``cv2.imencode`` with ``IMWRITE_PNG_COMPRESSION=6``. OpenCV's wheel links libpng
1.6 and zlib; given a compression level it leaves libpng's default filter heuristic
(all five filter types, chosen per row) and strategy in place. Without that parameter
OpenCV forces the Sub filter on every row, and Pillow's own encoder never uses the
Average filter, so neither looks like a libpng default file. :func:`filter_type_counts`
proves what a file holds (the benchmarks print it).

Run ``python bench/corpus.py DIR`` to write the corpus and print what it holds.
"""

from __future__ import annotations

import collections
import dataclasses
import os
import struct
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from filters_server.imaging import phantoms
from filters_server.imaging.lut import Lut

LUT: Lut = phantoms.EXAMPLE_LUT
FULL_SHAPE = (1708, 2400)  # rows, columns of an unbinned size-2 sensor image
QUANTA_PER_GRAY = 4.0  # collected charge per sensor gray: quantum noise std = sqrt(X / 4) grays
ELECTRONIC_NOISE_GRAYS = 3.0
LIBPNG_DEFAULT = [cv2.IMWRITE_PNG_COMPRESSION, 6, cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_DEFAULT]
CORPORA = ("realistic", "noise")


@dataclasses.dataclass(frozen=True)
class CorpusImage:
    corpus: str  # "realistic" or "noise"
    binned: bool
    width: int
    height: int
    path: str
    size: int  # bytes of the PNG file

    @property
    def label(self) -> str:
        return f"{self.width}x{self.height}" + (" binned" if self.binned else "")

    @property
    def image_info(self) -> dict[str, object]:
        """The ``imageInfo`` part a client sends with this image."""
        return {"acquisitionInfo": {"binning": "Binned2x2" if self.binned else "Unbinned"}, "lutInfo": lut_json(LUT)}

    def read(self) -> bytes:
        return Path(self.path).read_bytes()


def lut_json(lut: Lut) -> dict[str, object]:
    return {
        "gamma": lut.gamma,
        "slope": lut.slope,
        "offset": lut.offset,
        "totalGrays": lut.total_grays,
        "minimumGray": lut.minimum_gray,
        "maximumGray": lut.maximum_gray,
    }


def sensor_pixels(shape: tuple[int, int] = FULL_SHAPE, *, binned: bool = False, seed: int = 1) -> np.ndarray:
    """Float sensor values X of the dental scene with quantum and electronic noise (unbinned pitch)."""
    rng = np.random.default_rng(seed)
    clean = phantoms.sensor(phantoms.dental_scene(shape, 0.015, seed), LUT)
    charge = rng.poisson(np.clip(clean, 0, None) * QUANTA_PER_GRAY)
    x = charge / QUANTA_PER_GRAY + rng.normal(0.0, ELECTRONIC_NOISE_GRAYS, size=shape)
    return phantoms.bin2x2(x) if binned else x


def realistic_pixels(shape: tuple[int, int] = FULL_SHAPE, *, binned: bool = False, seed: int = 1) -> np.ndarray:
    """The stored uint16 image a sensor sends (LUT-mapped, 0..65535, <= 4096 distinct codes)."""
    return phantoms.stored(sensor_pixels(shape, binned=binned, seed=seed), LUT)


def noise_pixels(shape: tuple[int, int], seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 65536, size=shape, dtype=np.uint16)


def encode_png(pixels: np.ndarray) -> bytes:
    """A 16-bit grayscale PNG as libpng writes it by default (level 6, adaptive filters)."""
    ok, encoded = cv2.imencode(".png", pixels, LIBPNG_DEFAULT)
    if not ok:
        raise RuntimeError("cv2.imencode failed")
    return encoded.tobytes()


def idat_stream(png: bytes) -> bytes:
    """The concatenated IDAT payload (the zlib stream) of a PNG."""
    parts, pos = [], 8
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        if png[pos + 4 : pos + 8] == b"IDAT":
            parts.append(png[pos + 8 : pos + 8 + length])
        pos += 12 + length
    return b"".join(parts)


def filter_type_counts(png: bytes) -> dict[int, int]:
    """How many rows use each PNG filter type (0 None .. 4 Paeth); non-interlaced 16-bit gray only."""
    width, height = struct.unpack(">II", png[16:24])
    raw = zlib.decompress(idat_stream(png))
    stride = 1 + 2 * width
    return dict(sorted(collections.Counter(raw[row * stride] for row in range(height)).items()))


def build(
    directory: str, *, binned_sizes: tuple[bool, ...] = (False, True), shape: tuple[int, int] = FULL_SHAPE
) -> list[CorpusImage]:
    """Write every corpus image into ``directory``: both corpora at each size (``shape``: unbinned rows, columns)."""
    images = []
    for binned in binned_sizes:
        realistic = realistic_pixels(shape, binned=binned)
        shape: tuple[int, int] = (int(realistic.shape[0]), int(realistic.shape[1]))
        for corpus, pixels in (("realistic", realistic), ("noise", noise_pixels(shape, seed=2 + binned))):
            path = os.path.join(directory, f"{corpus}-{shape[1]}x{shape[0]}.png")
            data = encode_png(pixels)
            Path(path).write_bytes(data)
            images.append(CorpusImage(corpus, binned, shape[1], shape[0], path, len(data)))
    return images


def describe(image: CorpusImage) -> str:
    raw = image.width * image.height * 2
    counts = filter_type_counts(image.read())
    return (
        f"{image.corpus:<9} {image.label:<16} {image.size / 1e6:5.2f} MB "
        f"({image.size / raw:.2f} of raw), rows per filter type {counts}"
    )


def main() -> None:
    directory = sys.argv[1] if len(sys.argv) > 1 else "."
    os.makedirs(directory, exist_ok=True)
    for image in build(directory):
        print(describe(image))


if __name__ == "__main__":
    main()
