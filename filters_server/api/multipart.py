"""Reading a ``POST /images`` multipart body: the imageInfo part and the media part.

The media part goes through :func:`filters_server.core.ingest.store_png` straight into storage,
so memory use does not depend on the file size. Parts may come in either order (the .NET SDK
sends the media first); part names are matched ignoring case.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import warnings
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import BodyPartReader, MultipartReader, StreamReader, web
from aiohttp.http_exceptions import HttpProcessingError

from backends import Storage
from filters_server import imaging
from filters_server.api.jsonbody import parse_json
from filters_server.api.problems import Problem
from filters_server.api.schemas import IMAGE_INFO
from filters_server.core.errors import BodyStalled, InputTooLarge, UploadTooSlow
from filters_server.core.index import StoredMedia
from filters_server.core.ingest import Budget, store_png

INFO_PART_NAMES = frozenset({"imageinfo"})
DICOM_PART_NAME = "dicom"  # optional: patient/study attributes for DICOM outputs (docs/dicom.md)
MEDIA_PART_NAMES = frozenset({"imagemedia", "media"})
MEDIA_TYPES = frozenset({"image/png", "application/octet-stream"})
CHUNK_SIZE = 256 * 1024
# Text before the first boundary (and the first part's headers) is read line by line on the event
# loop: real clients send none, so a little is plenty and more is refused before it costs CPU.
PREAMBLE_LIMIT = 64 * 1024


@dataclasses.dataclass(frozen=True)
class Upload:
    image_info: dict[str, Any]
    media: StoredMedia
    dicom: dict[str, Any] | None = None


async def receive_upload(
    request: web.Request,
    storage: Storage,
    key: str,
    *,
    max_upload_bytes: int,
    max_pixels: int,
    max_json_bytes: int,
    max_parts: int,
    body_timeout: float,
    max_seconds: float = math.inf,
) -> Upload:
    """Consume the request body; store the media under ``key``; raise on bad input.

    A client that sends no bytes for ``body_timeout`` seconds, or has not sent the whole body
    after ``max_seconds``, gets 408, so neither a pause nor a trickle can hold a handler (and a
    storage upload) open for ever. On any exception the caller removes ``key`` (the media may
    be stored already).
    """
    try:
        async with asyncio.timeout(max_seconds if math.isfinite(max_seconds) else None):
            return await _receive(
                request,
                storage,
                key,
                max_upload_bytes=max_upload_bytes,
                max_pixels=max_pixels,
                max_json_bytes=max_json_bytes,
                max_parts=max_parts,
                body_timeout=body_timeout,
            )
    except TimeoutError:
        raise UploadTooSlow(max_seconds) from None


async def _receive(
    request: web.Request,
    storage: Storage,
    key: str,
    *,
    max_upload_bytes: int,
    max_pixels: int,
    max_json_bytes: int,
    max_parts: int,
    body_timeout: float,
) -> Upload:
    if request.content_type != "multipart/form-data":
        raise Problem(415, "POST /images takes multipart/form-data with an imageInfo and an imageMedia part.")
    if request.content_length is not None and request.content_length > max_upload_bytes:
        raise InputTooLarge(f"The upload exceeds the limit of {max_upload_bytes} bytes.")
    budget = Budget(max_upload_bytes, "The upload", idle_timeout=body_timeout)
    body = BoundedBody(request.content, budget)
    try:
        reader = MultipartReader(
            request.headers,
            body,  # type: ignore[arg-type]  # reads only what BoundedBody forwards
            max_field_size=request.protocol.max_field_size,
            max_headers=request.protocol.max_headers,
        )
    except (ValueError, AssertionError, KeyError) as exc:
        raise Problem(400, f"Malformed multipart body: {exc}.") from None

    image_info: dict[str, Any] | None = None
    stored: StoredMedia | None = None
    dicom: dict[str, Any] | None = None
    parts = 0
    body.preamble_limit = PREAMBLE_LIMIT
    while True:
        part = await _next_part(reader, budget)
        body.preamble_limit = None
        if part is None:
            break
        parts += 1
        if parts > max_parts:
            raise Problem(400, f"Too many parts: at most {max_parts} are read.")
        name = (part.name or "").lower()
        if name in INFO_PART_NAMES:
            if image_info is not None:
                raise Problem(400, "More than one imageInfo part.")
            raw = await _read_bounded(part, budget, max_json_bytes, "imageInfo")
            image_info = parse_json(raw, IMAGE_INFO, "imageInfo", charset=part.get_charset("") or None)
        elif name in MEDIA_PART_NAMES:
            if stored is not None:
                raise Problem(400, "More than one imageMedia part.")
            declared = (part.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if declared and declared not in MEDIA_TYPES:
                raise Problem(
                    415,
                    f"The imageMedia part is declared as {declared!r}; a 16-bit grayscale PNG (image/png) is required.",
                )
            stored = await store_png(storage, key, _chunks(part, budget), max_pixels=max_pixels)
        elif name == DICOM_PART_NAME:
            if dicom is not None:
                raise Problem(400, "More than one dicom part.")
            raw = await _read_bounded(part, budget, imaging.dicom_attributes.MAX_PART_BYTES, "dicom")
            dicom = imaging.parse_dicom_part(raw)
        else:
            await _drain(part, budget)
    if stored is None:
        raise Problem(400, "The imageMedia part is missing.")
    if image_info is None:
        raise Problem(400, "The imageInfo part is missing.")
    return Upload(image_info, stored, dicom)


class BoundedBody:
    """The request body as :class:`MultipartReader` reads it: every byte counted, the preamble capped.

    Counting here rather than per part also bounds what no part holds: text before the first
    boundary, part headers, boundaries and the epilogue.
    """

    def __init__(self, content: StreamReader, budget: Budget) -> None:
        self._content = content
        self._budget = budget
        self.preamble_limit: int | None = None  # bytes the next part's preamble and headers may take

    def _count(self, data: bytes) -> bytes:
        # Bytes received so far (read or buffered): unread_data() cannot make a byte count twice.
        self._budget.check(self._content.total_bytes)
        if self.preamble_limit is not None:
            self.preamble_limit -= len(data)
            if self.preamble_limit < 0:
                raise Problem(400, f"Malformed multipart body: more than {PREAMBLE_LIMIT} bytes before the first part.")
        return data

    async def readline(self, *, max_line_length: int | None = None) -> bytes:
        return self._count(await self._content.readline(max_line_length=max_line_length))

    async def read(self, n: int = -1) -> bytes:
        return self._count(await self._content.read(n))

    def at_eof(self) -> bool:
        return self._content.at_eof()

    def unread_data(self, data: bytes) -> None:
        if self.preamble_limit is not None:
            self.preamble_limit += len(data)
        with warnings.catch_warnings():  # aiohttp's own multipart reader still relies on it
            warnings.simplefilter("ignore", DeprecationWarning)
            self._content.unread_data(data)


def _describe(exc: Exception) -> str:
    if isinstance(exc, HttpProcessingError):
        return exc.message.splitlines()[0] if exc.message else type(exc).__name__
    return str(exc)


async def _next_part(reader: MultipartReader, budget: Budget) -> BodyPartReader | None:
    try:
        async with asyncio.timeout(budget.idle_timeout):
            part = await reader.next()
    except TimeoutError:
        raise BodyStalled(budget.idle_timeout) from None
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
            raise BodyStalled(budget.idle_timeout) from None
        except (ValueError, AssertionError, HttpProcessingError) as exc:
            raise Problem(400, f"Malformed multipart body: {_describe(exc)}.") from None
        if not chunk:
            return
        yield chunk  # counted against the budget as BoundedBody read it


async def _read_bounded(part: BodyPartReader, budget: Budget, limit: int, what: str) -> bytes:
    data = bytearray()
    async for chunk in _chunks(part, budget):
        data += chunk
        if len(data) > limit:
            raise InputTooLarge(f"The {what} part exceeds {limit} bytes.")
    return bytes(data)


async def _drain(part: BodyPartReader, budget: Budget) -> None:
    async for _chunk in _chunks(part, budget):
        pass
