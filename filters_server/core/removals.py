"""What the other processes removed: a count in memory that the ``--processes`` share.

Under ``--processes N`` the processes share one local-disk store, and nothing one of them deletes
may be served by another. Reading every resource's metadata from disk on every lookup (what
replicas on S3 must do) made two processes serve metadata at about half the rate of one. Instead
each process keeps the resources it has read, as a single process does, and trusts one only while
no process has removed anything since it was read: every process counts its removals in its own
slot of a small array of shared memory (one writer per slot, so no lock), and the sum of the slots
is the store's removal generation. A removal is counted before the deleting request is answered,
so a request that starts after a DELETE was answered, in any process, sees a new generation and
checks the store again. Deletes are rare next to reads, so most lookups touch no storage at all.
"""

from __future__ import annotations

import mmap

_SLOT_BYTES = 8  # one unsigned 64-bit count per process


def shared_slots(processes: int) -> memoryview:
    """Zeroed shared memory for the counts of ``processes`` processes: made before they are forked,
    so that each inherits the same pages."""
    return memoryview(mmap.mmap(-1, _SLOT_BYTES * processes)).cast("Q")


class Removals:
    """One process's view of the shared counts: its own slot to count in, all of them to read."""

    def __init__(self, slots: memoryview, mine: int) -> None:
        if not 0 <= mine < len(slots):
            raise ValueError(f"slot {mine} of {len(slots)}")
        self._slots = slots
        self._mine = mine

    def generation(self) -> int:
        """The removals every process has counted so far: it only grows, with any of them."""
        return sum(self._slots)

    def count(self) -> None:
        """This process has removed a resource (or some of its objects)."""
        self._slots[self._mine] += 1
