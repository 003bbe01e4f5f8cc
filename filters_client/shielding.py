"""Clean-up that a cancellation must not cut short."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


async def finish(awaitable: Awaitable[T]) -> T:
    """Await to the end even if cancelled meanwhile; the cancellation is raised afterwards.

    For short work whose result must not be lost (a file just opened, a resource just created,
    its deletion). Bounded by that work's own timeouts.
    """
    task = asyncio.ensure_future(awaitable)
    cancelled = False
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.cancelled():
                raise
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError
    return task.result()
