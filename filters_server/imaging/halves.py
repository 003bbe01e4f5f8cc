"""Pixel work shared with a helper thread: row-wise steps done as two halves at once, and a
helper lent to one caller (the PNG decoder hands it segments).

OpenCV spreads its filters (bilateral, pyramids) over the CPUs itself, but a per-pixel table
lookup, numpy's ufuncs and OpenCV's arithmetic run on one thread. For the steps where every output
row depends only on the same input row, :func:`by_halves` computes the bottom half in a helper
thread while the caller computes the top half (both release the GIL): the same pixels, in about
half the time when a CPU is free. When every helper is busy with other jobs' halves, the caller
does the whole step itself rather than wait, so a loaded server runs as before.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np

MIN_ROWS = 64  # fewer rows than this: not worth a hand-off
HELPERS = max(1, (os.cpu_count() or 1) - 1)


def _start() -> None:
    """A fresh pool: at import, and in a forked child (--processes), whose copy of the parent's
    pool would name threads that do not exist there and never run what it is given."""
    global _pool, _free
    _pool = ThreadPoolExecutor(max_workers=HELPERS, thread_name_prefix="pixels-half")
    _free = threading.BoundedSemaphore(HELPERS)


_pool: ThreadPoolExecutor
_free: threading.BoundedSemaphore
_start()
os.register_at_fork(after_in_child=_start)


@contextmanager
def helper() -> Iterator[ThreadPoolExecutor | None]:
    """A helper thread for the caller's own use until the block ends, or None when every helper is
    busy: the caller then does all the work itself rather than wait (and must have waited for
    whatever it gave the helper before the block ends)."""
    if not _free.acquire(blocking=False):
        yield None
        return
    try:
        yield _pool
    finally:
        _free.release()


def by_halves(step: Callable[..., object], *arrays: np.ndarray) -> None:
    """``step(*arrays)``, done as ``step`` on the top rows and on the bottom rows of every array.

    ``step`` must treat each row on its own (elementwise work, or row-local with the same rows of
    every array) and write its results into the arrays; the arrays share their number of rows.
    """
    rows = arrays[0].shape[0]
    if rows < MIN_ROWS:
        step(*arrays)
        return
    with helper() as pool:
        if pool is None:
            step(*arrays)
            return
        middle = rows // 2
        bottom = pool.submit(step, *(array[middle:] for array in arrays))
        try:
            step(*(array[:middle] for array in arrays))
        finally:
            bottom.result()  # bounded: the helper runs only this, on half the rows
