"""Serving stored bytes over HTTP: full, single range, multipart/byteranges, 304, 416.

Works from any backend through ``Storage.read``; when the backend has a local
file, whole files and single ranges go out with ``sendfile``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import AsyncIterator
from typing import BinaryIO

from aiohttp import hdrs, web

from backends import ObjectNotFound, Storage, StorageError
from filters_server.api import appkeys as keys
from filters_server.api import ranges
from filters_server.api.problems import problem_response

log = logging.getLogger(__name__)


class Representation:
    """The stored object to serve and its validators."""

    def __init__(
        self,
        storage: Storage,
        key: str,
        *,
        size: int,
        etag: str,
        last_modified: float,
        content_type: str,
        extra_headers: dict[str, str] | None = None,
    ) -> None:
        self.storage = storage
        self.key = key
        self.size = size
        self.etag = f'"{etag}"'
        self.last_modified = last_modified
        self.content_type = content_type
        self.extra_headers = extra_headers or {}

    def headers(self) -> dict[str, str]:
        return {
            hdrs.ETAG: self.etag,
            hdrs.LAST_MODIFIED: ranges.http_date(self.last_modified),
            hdrs.ACCEPT_RANGES: "bytes",
            hdrs.CACHE_CONTROL: "private, no-cache",
            **self.extra_headers,
        }


async def serve(request: web.Request, rep: Representation) -> web.StreamResponse:
    decision = ranges.plan(
        request.method,
        request.headers,
        etag=rep.etag,
        last_modified=rep.last_modified,
        size=rep.size,
        max_ranges=request.app[keys.SETTINGS].max_ranges,
    )
    headers = rep.headers()
    if decision.status == 304:
        return web.Response(status=304, headers=headers)
    if decision.status == 416:
        headers[hdrs.CONTENT_RANGE] = f"bytes */{rep.size}"
        return problem_response(
            416, f"No requested range lies within the {rep.size} bytes of this media.", headers=headers
        )
    if decision.status == 200:
        return await _send(request, rep, 200, headers, rep.content_type, [(0, rep.size)])
    if len(decision.ranges) == 1:
        start, end = decision.ranges[0]
        headers[hdrs.CONTENT_RANGE] = f"bytes {start}-{end - 1}/{rep.size}"
        return await _send(request, rep, 206, headers, rep.content_type, [(start, end)])
    return await _send_multipart(request, rep, headers, decision.ranges)


async def _send(
    request: web.Request,
    rep: Representation,
    status: int,
    headers: dict[str, str],
    content_type: str,
    pieces: list[tuple[int, int]],
) -> web.StreamResponse:
    ((start, end),) = pieces
    response = web.StreamResponse(status=status, headers=headers)
    response.content_type = content_type
    response.content_length = end - start
    if request.method == hdrs.METH_HEAD:
        await response.prepare(request)
        await response.write_eof()
        return response
    path = rep.storage.local_path(rep.key)
    if path is not None:
        return await _sendfile(request, response, path, start, end - start)
    chunks = rep.storage.read(rep.key, start, end)
    first = await _first_chunk(chunks)  # a missing object or unreachable storage must fail before headers go out
    await _prepare(request, response, chunks)
    try:
        await _pump(response, first, chunks)
    except StorageError as exc:
        return _cut(request, response, rep, exc)
    await response.write_eof()
    return response


def _cut(
    request: web.Request, response: web.StreamResponse, rep: Representation, exc: StorageError
) -> web.StreamResponse:
    """Storage failed after the status line went out: no problem document can follow any more.

    Closing the connection makes the client see a truncated body at once (Content-Length
    unmet) instead of waiting for bytes that never come, or reading a second response
    written into the first. The prepared response is returned so aiohttp finishes quietly.
    """
    log.warning("storage failed while sending %s (%s); connection closed mid-body", rep.key, exc)
    if request.transport is not None:
        request.transport.close()
    return response


async def _prepare(request: web.Request, response: web.StreamResponse, opened: AsyncIterator[bytes]) -> None:
    """Send the headers; if that fails (client gone), release the storage read already opened."""
    try:
        await response.prepare(request)
    except BaseException:
        await _close(opened)
        raise


async def _close(chunks: AsyncIterator[bytes]) -> None:
    """Release a storage read early: the backends' streams are async generators (with aclose)."""
    aclose = getattr(chunks, "aclose", None)
    if aclose is not None:
        await aclose()


async def _first_chunk(chunks: AsyncIterator[bytes]) -> bytes:
    try:
        return await anext(chunks)
    except StopAsyncIteration:
        return b""


async def _pump(response: web.StreamResponse, first: bytes, chunks: AsyncIterator[bytes]) -> None:
    try:
        if first:
            await response.write(first)
        async for chunk in chunks:
            await response.write(chunk)
    finally:
        await _close(chunks)


async def _sendfile(
    request: web.Request, response: web.StreamResponse, path: str, offset: int, count: int
) -> web.StreamResponse:
    loop = asyncio.get_running_loop()
    try:
        handle = await loop.run_in_executor(None, open, path, "rb")
    except (FileNotFoundError, NotADirectoryError):
        raise ObjectNotFound(path) from None
    try:
        await response.prepare(request)
        transport = request.transport
        if count and transport is not None and not os.environ.get("AIOHTTP_NOSENDFILE"):
            writer = response._payload_writer  # flush headers before the kernel takes over
            if writer is not None:
                await writer.drain()
            try:
                await loop.sendfile(transport, handle, offset, count)
            except NotImplementedError:
                await _copy_file(response, handle, offset, count)
        elif count:
            await _copy_file(response, handle, offset, count)
    finally:
        await loop.run_in_executor(None, handle.close)
    await response.write_eof()
    return response


async def _copy_file(response: web.StreamResponse, handle: BinaryIO, offset: int, count: int) -> None:
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, handle.seek, offset)
    while count > 0:
        chunk = await loop.run_in_executor(None, handle.read, min(count, 1024 * 1024))
        if not chunk:
            break
        count -= len(chunk)
        await response.write(chunk)


async def _pump_pieces(
    response: web.StreamResponse,
    heads: list[bytes],
    pieces: tuple[tuple[int, int], ...],
    first: bytes,
    chunks: AsyncIterator[bytes],
) -> None:
    """Write each piece (sorted, disjoint) with its head, from one stream of the span they cover."""
    offset = pieces[0][0]  # where pending's first byte lies in the object
    pending = memoryview(first)
    number = 0
    try:
        await response.write(heads[0])
        while True:
            start, end = pieces[number]
            if offset < start:  # bytes between two pieces: read, not sent
                skip = min(len(pending), start - offset)
                pending, offset = pending[skip:], offset + skip
            if offset >= start and pending:
                take = min(len(pending), end - offset)
                await response.write(pending[:take])
                pending, offset = pending[take:], offset + take
            if offset >= end:
                await response.write(b"\r\n")
                number += 1
                if number == len(pieces):
                    return
                await response.write(heads[number])
            elif not pending:
                pending = memoryview(await anext(chunks, b""))
                if not pending:
                    raise StorageError("the object ended before its last range")
    finally:
        await _close(chunks)


async def _send_multipart(
    request: web.Request, rep: Representation, headers: dict[str, str], pieces: tuple[tuple[int, int], ...]
) -> web.StreamResponse:
    boundary = uuid.uuid4().hex
    heads = [
        (
            f"--{boundary}\r\nContent-Type: {rep.content_type}\r\n"
            f"Content-Range: bytes {start}-{end - 1}/{rep.size}\r\n\r\n"
        ).encode()
        for start, end in pieces
    ]
    tail = f"--{boundary}--\r\n".encode()
    length = sum(len(h) + (end - start) + 2 for h, (start, end) in zip(heads, pieces, strict=False)) + len(tail)
    headers[hdrs.CONTENT_TYPE] = f"multipart/byteranges; boundary={boundary}"
    response = web.StreamResponse(status=206, headers=headers)
    response.content_length = length
    if request.method == hdrs.METH_HEAD:
        await response.prepare(request)
        await response.write_eof()
        return response
    # One read over the whole span, the pieces sliced out as it flows: a delete after the first byte
    # cannot cut the answer short (an open file on disk, one GET on S3), as a read per piece could.
    chunks = rep.storage.read(rep.key, pieces[0][0], pieces[-1][1])
    first = await _first_chunk(chunks)  # as in _send: fail before the headers when storage does
    await _prepare(request, response, chunks)
    try:
        await _pump_pieces(response, heads, pieces, first, chunks)
    except StorageError as exc:
        return _cut(request, response, rep, exc)
    await response.write(tail)
    await response.write_eof()
    return response
