"""The bounded worker pool for pixel work (decode, filter, encode).

Threads, not processes: OpenCV and numpy release the GIL in their kernels, and
a thread shares the decoded image without pickling megabytes. At most
``workers`` jobs run and ``queue_depth`` wait; one more is refused at once
(:class:`~filters_server.core.errors.PoolFull`, answered 503 with ``Retry-After``) instead of queueing
without bound, as imgproxy's workers and queue semaphores do.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from filters_server.core.errors import PoolFull

T = TypeVar("T")


class WorkerPool:
    def __init__(self, workers: int, queue_depth: int) -> None:
        self.workers = workers
        self.capacity = workers + queue_depth
        self.in_flight = 0
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pixels")

    @property
    def busy(self) -> int:
        """Jobs running right now (at most ``workers``)."""
        return min(self.in_flight, self.workers)

    @property
    def queued(self) -> int:
        return max(0, self.in_flight - self.workers)

    @contextlib.contextmanager
    def reserve(self) -> Iterator[Slot]:
        """A place in the pool, taken at once or :class:`PoolFull`; held until the block ends.

        Take it before anything expensive a job needs (reading its source from storage), so a
        full pool costs a refused request nothing.
        """
        if self.in_flight >= self.capacity:
            raise PoolFull()
        self.in_flight += 1
        try:
            yield Slot(self)
        finally:
            self.in_flight -= 1

    async def run(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Reserve a place and run ``func`` in it."""
        with self.reserve() as slot:
            return await slot.run(func, *args, **kwargs)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


class Slot:
    """A reserved place in a :class:`WorkerPool`: runs jobs in a worker thread without queueing again."""

    def __init__(self, pool: WorkerPool) -> None:
        self._pool = pool

    async def run(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        # Shielded: a client that goes away must not free a slot whose thread still runs.
        future = loop.run_in_executor(self._pool._executor, functools.partial(func, *args, **kwargs))
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            await asyncio.wait([future])
            raise
