"""The server process's allocator settings: a filter job's freed arrays serve the next job.

Measured in child processes, since the settings are for the whole process.
"""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the allocator settings are glibc's")

# Jobs like the server's: each in a pool thread, each keeping its decoded source (the decoded
# cache holds the latest ones) and freeing its full-size float arrays at the end.
_JOBS = r"""
import resource, sys
from concurrent.futures import ThreadPoolExecutor
import numpy as np
from filters_server.allocator import tune_allocator

assert tune_allocator()

def job(i):
    image = np.full((1708, 2400), i, np.uint16)
    x = image.astype(np.float32)
    y = x * 2
    z = y + x
    return image

pool, kept = ThreadPoolExecutor(2), []
def run(jobs):
    for i in range(jobs):
        kept.append(pool.submit(job, i).result())
        del kept[:-2]
run(6)  # the arena grows to what the jobs need
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
run(6)
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 6)
"""


def test_tuning_reports_success_on_glibc() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "from filters_server.allocator import tune_allocator; print(tune_allocator())"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "True"


def test_a_jobs_freed_arrays_are_reused_by_the_next_job_without_new_pages() -> None:
    """Without the settings each such job touched ~1,400 fresh pages (5 MiB of page faults)."""
    result = subprocess.run([sys.executable, "-c", _JOBS], capture_output=True, text=True, check=True)
    assert float(result.stdout) < 100  # page faults per job
