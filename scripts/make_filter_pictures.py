"""Before/after pictures for docs/filters.md, from the synthetic dental phantom.

    python scripts/make_filter_pictures.py

Writes small 8-bit PNGs to docs/img/: each is a 1:1 crop (no resampling, so sharpening is
shown as computed) of the filtered 16-bit image, scaled linearly to 8 bits like the
server's JPEG/GIF output. Deterministic: re-running gives identical files.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from filters_server.imaging import (  # noqa: E402
    ae,
    phantoms,
    select,
    supreme,
    unmap,
)
from filters_server.imaging.codecs import to_8bit  # noqa: E402

OUT = ROOT / "docs" / "img"
SHAPE = (600, 840)  # 9 x 12.6 mm at 0.015 mm
CROP = np.s_[150:390, 40:360]  # first tooth: file in the canal, enamel edge, bone


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    lut = phantoms.EXAMPLE_LUT
    image = phantoms.dental_image(SHAPE, lut, noise=12.0)
    results = {
        "original": image,
        "select-smooth": select(image, lut, binned=False, mode="smooth"),
        "select-edgeLow": select(image, lut, binned=False, mode="edgeLow"),
        "select-edgeHigh": select(image, lut, binned=False, mode="edgeHigh"),
        "select-edgePro": select(image, lut, binned=False, mode="edgePro"),
        "supreme-general-70": supreme(image, lut, binned=False),
        "supreme-general-0": supreme(image, lut, binned=False, sharpness=0),
        "supreme-general-100": supreme(image, lut, binned=False, sharpness=100),
        "supreme-restorative-70": supreme(image, lut, binned=False, task="restorative"),
        "ae-endodontic-70": ae(image, lut, binned=False, task="endodontic"),
        "ae-periodontic-70": ae(image, lut, binned=False, task="periodontic"),
    }
    for name, result in results.items():
        cv2.imwrite(str(OUT / f"{name}.png"), to_8bit(result[CROP]), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    sensor = unmap(image, lut)[CROP]
    cv2.imwrite(str(OUT / "unmap.png"), to_8bit(sensor, white=lut.total_grays - 1), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    restoration = np.s_[40:200, 540:780]  # third tooth: metal restoration, halo control
    for name in ("original", "supreme-general-70", "supreme-restorative-70"):
        cv2.imwrite(
            str(OUT / f"restoration-{name}.png"), to_8bit(results[name][restoration]), [cv2.IMWRITE_PNG_COMPRESSION, 9]
        )
    print(f"wrote {len(results) + 4} pictures to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
