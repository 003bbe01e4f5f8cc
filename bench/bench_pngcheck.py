"""Throughput of the streaming PNG validator against plain inflation of the same IDAT data, both corpora.

Inflation is the floor: the validator must inflate everything to check sizes and filter bytes,
so the ratio (validator time / one-shot decompress time of the IDAT stream, with zlib-ng, the
inflater the validator uses) shows what the streaming, the bounded pieces, the CRCs and the
scanline checks cost on top. ISA-L's one-shot decompress shows what a faster inflater gives.

    python bench/bench_pngcheck.py [--quick] [--runs 9]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from isal import isal_zlib
from zlib_ng import zlib_ng

from filters_server.core.pngcheck import PngValidator

from bench import corpus


def best_of(runs: int, func: Callable[[], object]) -> float:
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
    parser.add_argument("--runs", type=int, default=None, help="best of this many [9; 2 with --quick]")
    parser.add_argument("--quick", action="store_true", help="best of 2 (smoke run)")
    args = parser.parse_args()
    args.runs = args.runs or (2 if args.quick else 9)
    print(
        f"bench_pngcheck: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}, best of {args.runs}; "
        "MB/s of PNG bytes; ratio = validator time / zlib-ng inflate time (1.0 = as fast as the floor)"
    )
    print(f"{'image':<28} {'MB':>6} {'feed':>6} {'validator':>10} {'zlib-ng':>8} {'isal':>8} {'x zlib-ng':>10}")
    with tempfile.TemporaryDirectory(prefix="filters-bench-pngcheck-") as tmp:
        for image in corpus.build(tmp):
            data = image.read()
            stream = corpus.idat_stream(data)
            mb = len(data) / 1e6
            floor = best_of(args.runs, lambda stream=stream: zlib_ng.decompress(stream))
            isal = best_of(args.runs, lambda stream=stream: isal_zlib.decompress(stream))
            for piece in (64 << 10, 1 << 20):  # 1 MiB is what the server hands to a validation thread
                elapsed = best_of(args.runs, lambda data=data, piece=piece: validate(data, piece))
                print(
                    f"{image.corpus + ' ' + image.label:<28} {mb:6.2f} {piece >> 10:>5}K {mb / elapsed:10.0f} "
                    f"{mb / floor:8.0f} {mb / isal:8.0f} {elapsed / floor:9.2f}x"
                )


if __name__ == "__main__":
    main()
