"""Throughput of the streaming PNG validator against plain zlib inflation of the same IDAT data.

Inflation is the floor: the validator must inflate everything to check sizes and filter bytes,
so the ratio (validator time / zlib.decompress time) shows what the streaming, the bounded
pieces and the scanline checks cost on top.

    python bench/bench_pngcheck.py            # ~8 MB and ~100 MB images
    python bench/bench_pngcheck.py --sizes 8  # just the small one
"""

from __future__ import annotations

import argparse
import struct
import time
import zlib
from pathlib import Path

import cv2
import numpy as np

from filters_server.core.pngcheck import PngValidator

CACHE = Path(".bench")


def xray_like(side: int, seed: int = 0) -> np.ndarray:
    """Smooth 16-bit structure plus sensor noise: compresses roughly like real radiographs."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:side, 0:side].astype(np.float32) / side
    smooth = 20000 + 15000 * np.sin(6 * x) * np.cos(4 * y) + 8000 * x
    return np.clip(smooth + rng.normal(0, 300, (side, side)), 0, 65535).astype(np.uint16)


def test_image(target_mb: int) -> bytes:
    path = CACHE / f"pngcheck-{target_mb}mb.png"
    if path.exists():
        return path.read_bytes()
    side = int((target_mb * 1e6 / 1.6) ** 0.5)  # ~1.6 bytes per pixel once compressed
    ok, encoded = cv2.imencode(".png", xray_like(side))
    assert ok
    CACHE.mkdir(exist_ok=True)
    path.write_bytes(encoded.tobytes())
    return encoded.tobytes()


def idat_stream(data: bytes) -> bytes:
    parts, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        if data[pos + 4 : pos + 8] == b"IDAT":
            parts.append(data[pos + 8 : pos + 8 + length])
        pos += 12 + length
    return b"".join(parts)


def best_of(runs: int, func) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def validate(data: bytes, piece: int) -> None:
    validator = PngValidator()
    view = memoryview(data)
    for start in range(0, len(data), piece):
        validator.feed(view[start : start + piece])
    validator.finish()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 100], help="approximate file sizes in MB")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"{'file':>10} {'pixels':>12} {'feed':>8} {'validator':>14} {'zlib.decompress':>16} {'ratio':>6}")
    for target in args.sizes:
        data = test_image(target)
        stream = idat_stream(data)
        height, width = struct.unpack(">II", data[16:24])[::-1]
        mb = len(data) / 1e6
        baseline = best_of(args.runs, lambda: zlib.decompress(stream))
        for piece in (64 << 10, 1 << 20):
            elapsed = best_of(args.runs, lambda: validate(data, piece))
            print(
                f"{mb:8.1f}MB {width}x{height:<6} {piece >> 10:>6}K "
                f"{mb / elapsed:9.0f} MB/s {mb / baseline:11.0f} MB/s {elapsed / baseline:6.2f}"
            )


if __name__ == "__main__":
    main()
