"""Reading a ``POST /images`` multipart body, and the validated PNG stream into storage.

The media goes to storage chunk by chunk while :mod:`pngcheck` validates the
same bytes (:func:`store_png`, shared with ``POST /images/modality``), so memory
use does not depend on the file size and a bad file is rejected as soon as its
bytes show it. Parts may come in either order (the .NET SDK sends the media
first); part names are matched ignoring case.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import BodyPartReader, MultipartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from backends import ObjectInfo, Storage

from .pngcheck import PngInfo, PngRejected, PngValidator
from .jsonbody import parse_json
from .problems import Problem, body_timeout_problem
from .schemas import IMAGE_INFO

INFO_PART_NAMES = frozenset({"imageinfo"})
MEDIA_PART_NAMES = frozenset({"imagemedia", "media"})
MEDIA_TYPES = frozenset({"image/png", "application/octet-stream"})
CHUNK_SIZE = 256 * 1024
VALIDATE_BATCH = 1024 * 1024
MAX_PARTS = 8  # default of --max-parts
BODY_TIMEOUT_SECONDS = 30.0  # default of --body-timeout-seconds


@dataclasses.dataclass(frozen=True)
class StoredPng:
    """A validated 16-bit grayscale PNG, completely written to storage."""

    png: PngInfo
    stored: ObjectInfo


@dataclasses.dataclass(frozen=True)
class Upload:
    image_info: dict[str, Any]
    media: StoredPng


class Budget:
    """Counts body bytes across all parts against ``--max-upload-bytes``; bounds each wait for bytes."""

    def __init__(self, limit: int, what: str = "The upload", idle_timeout: float = BODY_TIMEOUT_SECONDS) -> None:
        self.limit = limit
        self.what = what
        self.used = 0
        self.idle_timeout = idle_timeout

    def take(self, count: int) -> None:
        self.used += count
        if self.used > self.limit:
            raise Problem(413, f"{self.what} exceeds the limit of {self.limit} bytes.")


async def store_png(storage: Storage, key: str, chunks: AsyncIterator[bytes], *,
                    max_pixels: int) -> StoredPng:
    """Stream ``chunks`` into storage under ``key`` while validating them as a 16-bit PNG.

    Raises :class:`PngRejected` (with the HTTP ``status`` it deserves) as soon as the bytes
    show a problem; the backend then drops the partial object. The one path every image
    takes into storage, whether uploaded or fetched from a Modality API.
    """
    validator = PngValidator(max_pixels=max_pixels)
    stored = await storage.put(key, _validated_chunks(chunks, validator))
    assert validator.info is not None  # finish() succeeded inside the stream
    return StoredPng(validator.info, stored)


async def _validated_chunks(chunks: AsyncIterator[bytes], validator: PngValidator) -> AsyncIterator[bytes]:
    loop = asyncio.get_running_loop()
    batch: list[bytes] = []
    size = 0
    async for chunk in chunks:
        batch.append(chunk)
        size += len(chunk)
        if size >= VALIDATE_BATCH:
            # Inflating and CRCs release the GIL: off the event loop, one thread hop per MiB.
            await loop.run_in_executor(None, validator.feed, b"".join(batch))
            for piece in batch:
                yield piece
            batch, size = [], 0
    if batch:
        await loop.run_in_executor(None, validator.feed, b"".join(batch))
        for piece in batch:
            yield piece
    validator.finish()  # truncation must fail before storage commits the object


async def counted(chunks: AsyncIterator[bytes], budget: Budget) -> AsyncIterator[bytes]:
    """``chunks`` unchanged, each taken from ``budget`` (413 once it is exceeded)."""
    async for chunk in chunks:
        budget.take(len(chunk))
        yield chunk


async def receive_upload(request: web.Request, storage: Storage, key: str, *, max_upload_bytes: int,
                         max_pixels: int, max_json_bytes: int, max_parts: int = MAX_PARTS,
                         body_timeout: float = BODY_TIMEOUT_SECONDS) -> Upload:
    """Consume the request body; store the media under ``key``; raise Problem on bad input.

    A client that sends no bytes for ``body_timeout`` seconds gets 408, so a trickle
    cannot hold a handler (and a storage upload) open for ever. On any exception the
    caller removes ``key`` (the media may be stored already).
    """
    if request.content_type != "multipart/form-data":
        raise Problem(415, "POST /images takes multipart/form-data with an imageInfo and an imageMedia part.")
    if request.content_length is not None and request.content_length > max_upload_bytes:
        raise Problem(413, f"The upload exceeds the limit of {max_upload_bytes} bytes.")
    try:
        reader = await request.multipart()
    except (ValueError, AssertionError, KeyError) as exc:
        raise Problem(400, f"Malformed multipart body: {exc}.") from None

    budget = Budget(max_upload_bytes, idle_timeout=body_timeout)
    image_info: dict[str, Any] | None = None
    stored: StoredPng | None = None
    parts = 0
    while True:
        part = await _next_part(reader, budget)
        if part is None:
            break
        parts += 1
        if parts > max_parts:
            raise Problem(400, f"Too many parts: at most {max_parts} are read.")
        name = (part.name or "").lower()
        if name in INFO_PART_NAMES:
            if image_info is not None:
                raise Problem(400, "More than one imageInfo part.")
            raw = await _read_bounded(part, budget, max_json_bytes)
            image_info = parse_json(raw, IMAGE_INFO, "imageInfo", charset=part.get_charset(None))
        elif name in MEDIA_PART_NAMES:
            if stored is not None:
                raise Problem(400, "More than one imageMedia part.")
            declared = (part.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if declared and declared not in MEDIA_TYPES:
                raise Problem(415, f"The imageMedia part is declared as {declared!r}; a 16-bit grayscale "
                                   "PNG (image/png) is required.")
            try:
                stored = await store_png(storage, key, _chunks(part, budget), max_pixels=max_pixels)
            except PngRejected as exc:
                raise Problem(exc.status, str(exc)) from None
        else:
            await _drain(part, budget)
    if stored is None:
        raise Problem(400, "The imageMedia part is missing.")
    if image_info is None:
        raise Problem(400, "The imageInfo part is missing.")
    return Upload(image_info, stored)


def _describe(exc: Exception) -> str:
    if isinstance(exc, HttpProcessingError):
        return exc.message.splitlines()[0] if exc.message else type(exc).__name__
    return str(exc)


async def _next_part(reader: MultipartReader, budget: Budget) -> BodyPartReader | None:
    try:
        async with asyncio.timeout(budget.idle_timeout):
            part = await reader.next()
    except TimeoutError:
        raise body_timeout_problem(budget.idle_timeout) from None
    except (ValueError, AssertionError, RuntimeError, HttpProcessingError) as exc:
        # HttpProcessingError: a part header aiohttp's parser refuses (e.g. control characters).
        raise Problem(400, f"Malformed multipart body: {_describe(exc)}.") from None
    if part is not None and not isinstance(part, BodyPartReader):
        raise Problem(400, "Nested multipart parts are not accepted.")
    return part


async def _chunks(part: BodyPartReader, budget: Budget) -> AsyncIterator[bytes]:
    while True:
        try:
            async with asyncio.timeout(budget.idle_timeout):
                chunk = await part.read_chunk(CHUNK_SIZE)
        except TimeoutError:
            raise body_timeout_problem(budget.idle_timeout) from None
        except (ValueError, AssertionError, HttpProcessingError) as exc:
            raise Problem(400, f"Malformed multipart body: {_describe(exc)}.") from None
        if not chunk:
            return
        budget.take(len(chunk))
        yield chunk


async def _read_bounded(part: BodyPartReader, budget: Budget, limit: int) -> bytes:
    data = bytearray()
    async for chunk in _chunks(part, budget):
        data += chunk
        if len(data) > limit:
            raise Problem(413, f"The imageInfo part exceeds {limit} bytes.")
    return bytes(data)


async def _drain(part: BodyPartReader, budget: Budget) -> None:
    async for _chunk in _chunks(part, budget):
        pass
