"""Ingest: the validated PNG stream into storage, the one path every image takes in.

The media goes to storage chunk by chunk while :mod:`filters_server.core.pngcheck` validates
the same bytes, so memory use does not depend on the file size and a bad file is rejected as
soon as its bytes show it; the backend then drops the partial object (atomic streamed writes).
Used by uploads (:mod:`filters_server.api.multipart`) and by images fetched from a Modality API.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from backends import Storage
from filters_server.core.errors import InputTooLarge
from filters_server.core.index import StoredMedia
from filters_server.core.pngcheck import PngValidator

VALIDATE_BATCH = 1024 * 1024  # bytes handed to the validator per thread hop


class Budget:
    """Counts body bytes across all parts against a limit; bounds each wait for bytes."""

    def __init__(self, limit: int, what: str, idle_timeout: float) -> None:
        self.limit = limit
        self.what = what
        self.used = 0
        self.idle_timeout = idle_timeout

    def take(self, count: int) -> None:
        self.check(self.used + count)

    def check(self, used: int) -> None:
        """``used`` bytes have been taken in all: :class:`InputTooLarge` if over the limit."""
        self.used = used
        if self.used > self.limit:
            raise InputTooLarge(f"{self.what} exceeds the limit of {self.limit} bytes.")


async def counted(chunks: AsyncIterator[bytes], budget: Budget) -> AsyncIterator[bytes]:
    """``chunks`` unchanged, each taken from ``budget`` (:class:`InputTooLarge` once it is exceeded)."""
    async for chunk in chunks:
        budget.take(len(chunk))
        yield chunk


async def store_png(storage: Storage, key: str, chunks: AsyncIterator[bytes], *, max_pixels: int) -> StoredMedia:
    """Stream ``chunks`` into storage under ``key`` while validating them as a 16-bit PNG.

    Raises :class:`~filters_server.core.pngcheck.PngRejected` as soon as the bytes show a
    problem; the backend then drops the partial object.
    """
    validator = PngValidator(max_pixels=max_pixels)
    stored = await storage.put(key, _validated_chunks(chunks, validator))
    assert validator.info is not None  # finish() succeeded inside the stream
    return StoredMedia(validator.info, stored)


async def _validated_chunks(chunks: AsyncIterator[bytes], validator: PngValidator) -> AsyncIterator[bytes]:
    """``chunks``, validated in a worker thread one batch behind, so that inflating a batch overlaps
    receiving the next one and writing this one. Nothing is published before the last batch is
    validated and ``finish()`` has passed: the backend commits only when this stream ends cleanly."""
    loop = asyncio.get_running_loop()
    batch: list[bytes] = []
    size = 0
    pending: asyncio.Future[None] | None = None  # the batch being validated (the validator is sequential)
    try:
        async for chunk in chunks:
            batch.append(chunk)
            size += len(chunk)
            if size >= VALIDATE_BATCH:
                if pending is not None:
                    await pending  # a defect in the previous batch surfaces here
                # Inflating and CRCs release the GIL: off the event loop, one thread hop per MiB.
                pending = loop.run_in_executor(None, validator.feed, b"".join(batch))
                for piece in batch:
                    yield piece
                batch, size = [], 0
        if pending is not None:
            await pending
        pending = None
        if batch:
            await loop.run_in_executor(None, validator.feed, b"".join(batch))
            for piece in batch:
                yield piece
        validator.finish()  # truncation must fail before storage commits the object
    finally:
        if pending is not None:
            # The consumer gave up (a storage error, a cancelled request): let the thread finish
            # on its own, and keep its outcome from being reported as never retrieved.
            pending.add_done_callback(lambda done: done.cancelled() or done.exception())
