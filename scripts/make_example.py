"""The sample X-ray of the README's curl command: examples/xray.png and its ImageInfo, examples/xray.json.

    python scripts/make_example.py

A synthetic intraoral image (filters_server.imaging.phantoms: teeth, a root canal file, bone)
of 800 x 600 pixels at 0.015 mm, stored through the Modality API's example LUT, which
examples/xray.json carries. Deterministic: re-running gives identical files.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from filters_server.imaging import encode, phantoms  # noqa: E402

OUT = ROOT / "examples"
SHAPE = (600, 800)  # rows, columns: 9 x 12 mm at 0.015 mm


def image_info() -> dict[str, object]:
    lut = phantoms.EXAMPLE_LUT
    return {
        "acquisitionInfo": {"binning": "Unbinned"},
        "lutInfo": {
            "gamma": lut.gamma,
            "slope": lut.slope,
            "offset": lut.offset,
            "totalGrays": lut.total_grays,
            "minimumGray": lut.minimum_gray,
            "maximumGray": lut.maximum_gray,
        },
    }


def main() -> None:
    OUT.mkdir(exist_ok=True)
    image = phantoms.dental_image(SHAPE, phantoms.EXAMPLE_LUT, noise=12.0)
    (OUT / "xray.png").write_bytes(encode(image, "image/png"))
    (OUT / "xray.json").write_text(json.dumps(image_info(), indent=2) + "\n")
    print(f"wrote {OUT / 'xray.png'} ({(OUT / 'xray.png').stat().st_size} bytes) and {OUT / 'xray.json'}")


if __name__ == "__main__":
    main()
