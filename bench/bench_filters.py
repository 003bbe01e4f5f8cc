"""Filter speed against the codec floor, in process, on both corpora of ``bench/corpus.py`` (2400x1708).

    python bench/bench_filters.py [--quick] [--runs 7]

Floor = decode of the stored PNG + encode with the same library and settings the server uses;
each filter row is the whole worker job (run_filter: decode -> filter -> encode PNG).
Targets (issue): select/supreme/ae <= 1.5x floor, unmap <= 1.2x floor.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2

from filters_server.allocator import tune_allocator
from filters_server.imaging import SELECT_MODES, decode_png16, encode, run_filter

from bench import corpus

TARGETS = {"unmap": 1.2}
DEFAULT_TARGET = 1.5


def p50s(jobs: dict[str, Callable[[], object]], runs: int) -> dict[str, tuple[float, float]]:
    """Median (wall ms, CPU ms) per job. Jobs are interleaved round-robin, so load from other
    processes hits the floor and the filters alike; CPU time (all threads of this process)
    is the steadier figure on a busy machine."""
    for fn in jobs.values():
        fn()  # warm up tables and caches
    wall: dict[str, list[float]] = {name: [] for name in jobs}
    cpu: dict[str, list[float]] = {name: [] for name in jobs}
    for _ in range(runs):
        for name, fn in jobs.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            fn()
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    return {name: (statistics.median(wall[name]) * 1e3, statistics.median(cpu[name]) * 1e3) for name in jobs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=None, help="runs per job, p50 kept [7; 2 with --quick]")
    parser.add_argument("--quick", action="store_true", help="2 runs per job (smoke run)")
    args = parser.parse_args()
    tune_allocator()  # the floor runs here: the same allocator settings as the server's process
    args.runs = args.runs or (2 if args.quick else 7)

    lut = corpus.LUT
    with tempfile.TemporaryDirectory(prefix="filters-bench-filters-") as tmp:
        images = corpus.build(tmp, binned_sizes=(False,))
        pngs = {image.corpus: image.read() for image in images}
    for name, png in pngs.items():
        print(
            f"\n{name} 2400x1708 uint16, PNG {len(png) / 1e6:.2f} MB, OpenCV {cv2.__version__}, "
            f"{cv2.getNumThreads()} OpenCV threads, p50 of {args.runs} runs, "
            f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
        )
        jobs: dict[str, Callable[[], object]] = {"codec floor": lambda png=png: encode(decode_png16(png), "image/png")}  # type: ignore[misc]
        specs = [("unmap", {})] + [("select", {"mode": m}) for m in SELECT_MODES]
        specs += [("supreme", {"task": "general", "sharpness": 70.0}), ("ae", {"task": "general", "sharpness": 70.0})]
        for filter_name, params in specs:
            label = filter_name + (f" {next(iter(params.values()))}" if params else "")
            jobs[label] = functools.partial(
                run_filter, filter_name, png, lut, binned=False, params=params, media_type="image/png"
            )
        ms = p50s(jobs, args.runs)
        floor, floor_cpu = ms.pop("codec floor")
        print(f"{'job':<22}{'wall ms':>9}{'x floor':>9}{'cpu ms':>9}{'x floor':>9}{'target':>8}")
        print(f"{'codec floor':<22}{floor:9.1f}{1.0:9.2f}{floor_cpu:9.1f}{1.0:9.2f}")
        for label, (value, value_cpu) in ms.items():
            target = TARGETS.get(label.split()[0], DEFAULT_TARGET)
            verdict = "ok" if value / floor <= target else "SLOW"
            print(
                f"{label:<22}{value:9.1f}{value / floor:9.2f}{value_cpu:9.1f}{value_cpu / floor_cpu:9.2f}"
                f"{target:7.1f} {verdict}"
            )


if __name__ == "__main__":
    main()
