"""Writing response bodies to files without blocking the event loop, never leaving a partial file
under the final name: bodies go to a temporary name beside it and are renamed when complete."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

import aiofiles
import aiofiles.os
from aiohttp import ClientResponse

from .shielding import finish

CHUNK = 1024 * 1024  # fewer thread hops per file; at most one chunk a file in flight
_serial = itertools.count()


def temp_name(dest: Path) -> Path:
    """A hidden name beside ``dest`` (same file system, so the rename is atomic), unique per process and call."""
    return dest.with_name(f".{dest.name}.{os.getpid()}-{next(_serial)}.part")


async def body_chunks(response: ClientResponse) -> AsyncIterator[bytes]:
    async for chunk in response.content.iter_chunked(CHUNK):
        yield chunk


async def write_body(response: ClientResponse, dest: Path) -> int:
    """Stream the body to ``dest`` via a temporary file; returns the bytes written.

    On any failure or cancellation the temporary file is removed and ``dest`` is untouched.
    """
    tmp = temp_name(dest)
    written = 0
    try:
        # Plain file calls in threads, one hop each for open, every chunk, and close + rename.
        handle = await finish(asyncio.to_thread(_create, tmp))  # never lose an opened file
        try:
            async for chunk in body_chunks(response):
                await asyncio.to_thread(handle.write, chunk)
                written += len(chunk)
        finally:
            await asyncio.shield(asyncio.to_thread(handle.close))
        await asyncio.to_thread(os.replace, tmp, dest)
    except BaseException:
        await _remove_quietly(tmp)
        raise
    return written


def _create(path: Path) -> BinaryIO:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("wb")


async def append_body(response: ClientResponse, part: Path) -> int:
    """Append the body to ``part`` (created if absent); what came before a break stays there."""
    written = 0
    async with aiofiles.open(part, "ab") as handle:
        async for chunk in body_chunks(response):
            await handle.write(chunk)
            written += len(chunk)
    return written


async def _remove_quietly(path: Path) -> None:
    # Shielded: a cancelled caller must still not leave the temporary file behind.
    with contextlib.suppress(OSError):
        await asyncio.shield(aiofiles.os.remove(path))


async def file_size(path: Path) -> int | None:
    try:
        return (await aiofiles.os.stat(path)).st_size
    except FileNotFoundError:
        return None


async def read_text(path: Path) -> str | None:
    try:
        async with aiofiles.open(path, encoding="utf-8") as handle:
            return str(await handle.read())
    except FileNotFoundError:
        return None


async def write_text(path: Path, text: str) -> None:
    async with aiofiles.open(path, "w", encoding="utf-8") as handle:
        await handle.write(text)


async def remove(*paths: Path) -> None:
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            await aiofiles.os.remove(path)


def fspath(path: str | os.PathLike[str]) -> Path:
    return Path(os.fspath(path))
