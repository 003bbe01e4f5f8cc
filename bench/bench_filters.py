"""Filter speed against the codec floor, on a 2400x1708 16-bit synthetic dental image.

    python bench/bench_filters.py [--runs 7]

Floor = decode + encode of the PNG with the same library and settings the server uses;
each filter row is the whole worker job (run_filter: decode -> filter -> encode PNG).
Targets (issue): select/supreme/ae <= 1.5x floor, unmap <= 1.2x floor.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2  # noqa: E402

from filters_server.imaging import SELECT_MODES, decode_png16, encode, run_filter  # noqa: E402
from filters_server.imaging import phantoms  # noqa: E402

TARGETS = {"unmap": 1.2}
DEFAULT_TARGET = 1.5


def p50(fn, runs: int) -> float:
    fn()  # warm up tables and caches
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    lut = phantoms.EXAMPLE_LUT
    image = phantoms.dental_image((1708, 2400), lut)
    png = encode(image, "image/png")
    print(f"image 2400x1708 uint16, PNG {len(png) / 1e6:.2f} MB, OpenCV {cv2.__version__}, "
          f"{cv2.getNumThreads()} OpenCV threads, p50 of {args.runs} runs")

    floor = p50(lambda: encode(decode_png16(png), "image/png"), args.runs)
    jobs = [("unmap", {})]
    jobs += [("select", {"mode": m}) for m in SELECT_MODES]
    jobs += [("supreme", {"task": "general", "sharpness": 70.0}), ("ae", {"task": "general", "sharpness": 70.0})]

    print(f"{'job':<22}{'p50 ms':>9}{'x floor':>9}{'target':>8}")
    print(f"{'codec floor':<22}{floor:9.1f}{1.0:9.2f}")
    for name, params in jobs:
        label = name + (f" {next(iter(params.values()))}" if params else "")
        ms = p50(lambda: run_filter(name, png, lut, binned=False, params=params, media_type="image/png"), args.runs)
        target = TARGETS.get(name, DEFAULT_TARGET)
        verdict = "ok" if ms / floor <= target else "SLOW"
        print(f"{label:<22}{ms:9.1f}{ms / floor:9.2f}{target:7.1f} {verdict}")


if __name__ == "__main__":
    main()
