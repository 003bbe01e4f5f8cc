"""DICOM encode against the server's 16-bit TIFF encode of the same 2400x1708 uint16 image.

    python bench/bench_dicom.py [--runs 200]

Baseline: ``codecs.encode(image, "image/tiff")`` (OpenCV, uncompressed, what ``Accept:
image/tiff`` gets). Project: ``encode_dicom`` for the stored media and for a select result
(the largest header: derivation and source image sequences). Every call gets a new resource
id, as in the server, where each result is encoded once and then cached: the per-resource
elements (UIDs, dates, size, windows, source image) are encoded on every call. The elements
that depend only on the kind of output and its parameters are encoded once and kept; "cold"
clears those caches before each call (the first object of its kind after a start). Jobs are
interleaved round-robin; medians of wall and CPU time.
Target (issue 13): DICOM <= 1.1x TIFF. Informational: the exit status is 0.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid
from collections.abc import Callable

import cv2
import numpy as np
import pydicom

# The project is installed in the venv (make install), so no sys.path set-up is needed.
from filters_server.imaging import dicom, phantoms
from filters_server.imaging.codecs import encode
from filters_server.imaging.dicom import DicomContext, encode_dicom

TARGET = 1.1
CREATED_ON = 1_764_000_000.0


def medians(jobs: dict[str, Callable[[], object]], runs: int) -> dict[str, tuple[float, float]]:
    """Median (wall ms, CPU ms) per job, jobs interleaved so machine load hits all alike."""
    for fn in jobs.values():
        fn()
    wall: dict[str, list[float]] = {name: [] for name in jobs}
    cpu: dict[str, list[float]] = {name: [] for name in jobs}
    for _ in range(runs):
        for name, fn in jobs.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            fn()
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    return {name: (statistics.median(wall[name]) * 1e3, statistics.median(cpu[name]) * 1e3) for name in jobs}


def dicom_job(image: np.ndarray, kind: str, params: dict[str, object], cold: bool = False) -> Callable[[], bytes]:
    lut = phantoms.EXAMPLE_LUT

    def job() -> bytes:
        if cold:  # the first object of its kind and binning since the process started
            dicom._static_elements.cache_clear()
            dicom._parameter_elements.cache_clear()
        context = DicomContext(str(uuid.uuid4()), CREATED_ON, kind, lut, False, params)
        return encode_dicom(image, context)

    return job


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()

    image = phantoms.dental_image((1708, 2400))

    def tiff() -> object:
        return encode(image, "image/tiff")

    print(
        f"image 2400x1708 uint16 ({image.nbytes / 1e6:.1f} MB), pydicom {pydicom.__version__}, "
        f"OpenCV {cv2.__version__}, median of {args.runs} runs, "
        f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
    )
    print(f"{'job':<20}{'wall ms':>9}{'x tiff':>8}{'cpu ms':>9}{'x tiff':>8}{'target':>8}")
    # Warm and cold in separate passes: clearing the cache would make the warm jobs cold too.
    report(
        medians(
            {
                "tiff (baseline)": tiff,
                "dicom media": dicom_job(image, "media", {}),
                "dicom select": dicom_job(image, "select", {"mode": "edgePro"}),
            },
            args.runs,
        )
    )
    report(
        medians(
            {"tiff (baseline)": tiff, "dicom select cold": dicom_job(image, "select", {"mode": "edgePro"}, cold=True)},
            args.runs,
        )
    )


def report(ms: dict[str, tuple[float, float]]) -> None:
    base, base_cpu = ms.pop("tiff (baseline)")
    print(f"{'tiff (baseline)':<20}{base:9.2f}{1.0:8.2f}{base_cpu:9.2f}{1.0:8.2f}")
    for label, (value, value_cpu) in ms.items():
        verdict = "ok" if value / base <= TARGET else "SLOW"
        print(
            f"{label:<20}{value:9.2f}{value / base:8.2f}{value_cpu:9.2f}{value_cpu / base_cpu:8.2f}"
            f"{TARGET:7.1f} {verdict}"
        )


if __name__ == "__main__":
    main()
