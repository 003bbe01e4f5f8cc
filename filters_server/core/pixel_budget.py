"""A budget of pixel memory across the filter jobs in flight.

A PNG of a few hundred kilobytes can hold 100 megapixels, and a filter's working memory grows
with the pixels, not the file: one supreme job on such an image peaks at about 1.7 GB, and the
worker pool runs one job per CPU. So each job holds an estimate of its peak memory (its pixels
times a per-filter factor) from this budget while it runs. A job that does not fit beside the
ones running is refused at once (:class:`PixelMemoryBusy`: 503 with ``Retry-After``, like a
full worker pool); a job larger than the whole budget can never run
(:class:`ImageTooLargeForMemory`: 413).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from filters_server.core.errors import ImageTooLargeForMemory, PixelMemoryBusy

# Peak memory of one job in bytes per pixel, the decoded source included: peak RSS above the
# loaded PNG, measured on 2000 x 2000 and 4000 x 4000 images (PNG and GIF outputs alike), rounded
# up from the larger figure (the smaller image's; fixed buffers weigh more there).
# tests/hardening/test_pixel_budget.py measures each job again and fails if its estimate is short.
BYTES_PER_PIXEL = {
    # media (the stored image re-encoded as DICOM) and pixelHash (decode and hash): 5.0-5.1 and 4.9
    # since the PNG decoder holds the inflated rows beside the image while it decodes (the hash now
    # byte-swaps a megabyte at a time; it made two whole copies, 6.0 on 2000 x 2000 before).
    "media": 6,
    "unmap": 13,  # measured 12.0-12.2 (2000 x 2000), 11.0 (4000 x 4000)
    # select, supreme, ae: 21.0-21.1 and 17.1 since the PNG decoder lends segments to a helper
    # thread (about 4 MB more whatever the size: that thread's allocator arena); 19.9 and 17.0 before.
    "select": 22,  # edgePro; the other modes need less
    "supreme": 22,
    "ae": 22,
    "pixelHash": 6,
}


def job_bytes(work: str, width: int, height: int) -> int:
    """The estimated peak memory of ``work`` (a filter name or ``pixelHash``) on a ``width`` x ``height`` image."""
    return width * height * BYTES_PER_PIXEL.get(work, max(BYTES_PER_PIXEL.values()))  # unknown: assume the worst


class PixelBudget:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.in_use = 0

    @contextlib.contextmanager
    def hold(self, nbytes: int) -> Iterator[None]:
        """Hold ``nbytes`` of the budget for the block, or refuse at once."""
        if nbytes > self.max_bytes:
            raise ImageTooLargeForMemory(
                f"The image needs about {nbytes} bytes of memory to filter; this server allows {self.max_bytes}."
            )
        if self.in_use + nbytes > self.max_bytes:
            raise PixelMemoryBusy()
        self.in_use += nbytes
        try:
            yield
        finally:
            self.in_use -= nbytes
