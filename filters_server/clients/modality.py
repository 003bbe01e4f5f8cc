"""Client for the parts of the DSIO Intraoral Modality API v1 that the filters server uses.

``POST /images/modality`` names an image by (sessionId, imageId) in a live Modality session; the
server fetches its ``ImageInfo`` and streams its PNG media from here, and later asks whether the
session still exists (the resource lives only as long as the session).

Errors are exceptions, so handlers can map them to HTTP answers in one place:

* :class:`ModalityNotFound` - the Modality API answered 404 for the session or the image.
* :class:`ModalityUnavailable` - anything that means "the Modality API cannot be used right now":
  connection refused, TLS failure, timeout, 5xx, rejected credentials, a redirect, a body that is
  not what the spec promises (invalid JSON, wrong content type, oversized JSON).
* :class:`ModalityBadId` - an id that is not a safe URL path segment; nothing is sent.

All three derive from :class:`ModalityError`.

``pixelHash`` (HashInfo) is, per the spec, a hash "of the pixel data extracted from the image", i.e.
of the *decoded* pixels, not of the PNG file: it can only be checked after decoding. The spec does
not fix the byte layout; :class:`PixelHashCheck` accepts row-major uint16 samples in either byte
order (little-endian as a .NET ``ushort[]`` on x86 and the bundled simulator hash them; big-endian
as the PNG scanlines store them).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import re
import ssl
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import numpy as np

__all__ = [
    "MediaStream",
    "ModalityBadId",
    "ModalityClient",
    "ModalityError",
    "ModalityNotFound",
    "ModalityUnavailable",
    "PixelHashCheck",
    "verify_pixel_hash",
]

MAX_JSON_BYTES = 1 << 20  # an ImageInfo is ~2 KB; anything near this is not an ImageInfo
DEFAULT_CHUNK_SIZE = 64 * 1024
# UUIDs and other opaque tokens; no '/', no '%', no leading dot, so never '..' or '.'.
_SAFE_ID = re.compile(r"[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,127}")


class ModalityError(Exception):
    """Base class of every error this client raises."""


class ModalityNotFound(ModalityError):
    """The Modality API does not know the session or the image (HTTP 404)."""


class ModalityUnavailable(ModalityError):
    """The Modality API is unreachable or misbehaving; ``status`` is its HTTP status if any."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ModalityBadId(ModalityError, ValueError):
    """A session or image id that cannot be a single URL path segment."""


def _segment(value: str, what: str) -> str:
    if not isinstance(value, str) or not _SAFE_ID.fullmatch(value) or ".." in value:
        raise ModalityBadId(f"invalid {what}: {value!r}")
    return value


def _basic(user: str, password: str) -> str:
    # Built by hand: aiohttp.BasicAuth is deprecated in 3.14, encode_basic_auth() is not in 3.10.
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def _media_type(response: aiohttp.ClientResponse) -> str:
    return response.headers.get("Content-Type", "").partition(";")[0].strip().lower()


class MediaStream:
    """An image download in progress: iterate it for chunks of at most ``chunk_size`` bytes."""

    def __init__(self, response: aiohttp.ClientResponse, chunk_size: int) -> None:
        self._response = response
        self._chunk_size = chunk_size
        self.content_type: str = _media_type(response)
        self.content_length: int | None = response.content_length

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_chunked(self._chunk_size):
                yield chunk
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise ModalityUnavailable(f"image download failed: {exc!r}") from exc


class ModalityClient:
    """One long-lived HTTP session to a Modality API service.

    Use ``async with ModalityClient(...) as client:`` or call :meth:`start` / :meth:`close`
    (e.g. from an aiohttp ``cleanup_ctx``). ``base_url`` includes the base path, e.g.
    ``https://localhost:43809/api/dsio/modality/v1``. ``timeout`` bounds JSON requests as a
    whole, and media downloads per connect and per read (a large image may take longer overall).
    """

    def __init__(
        self,
        base_url: str,
        *,
        user: str | None,
        password: str | None,
        verify_tls: bool = True,
        ca_file: str | None = None,
        timeout: float = 30.0,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._headers = {"Authorization": _basic(user, password or "")} if user is not None else {}
        self._verify_tls = verify_tls
        self._ca_file = ca_file
        self._timeout = timeout
        self._chunk_size = chunk_size
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        if self._session is not None:
            return
        tls: ssl.SSLContext | bool = self._verify_tls
        if self._verify_tls and self._ca_file:
            # Reads the CA file: keep it off the event loop.
            tls = await asyncio.get_running_loop().run_in_executor(
                None, lambda: ssl.create_default_context(cafile=self._ca_file)
            )
        self._session = aiohttp.ClientSession(
            headers=self._headers,
            connector=aiohttp.TCPConnector(ssl=tls),
            timeout=aiohttp.ClientTimeout(total=self._timeout),
            raise_for_status=False,
        )

    async def close(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    async def __aenter__(self) -> ModalityClient:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # API ---------------------------------------------------------------------------------

    async def get_image_info(self, session_id: str, image_id: str) -> dict[str, Any]:
        """The image's ImageInfo as the Modality API sent it (raw camelCase JSON object)."""
        path = f"/acquisition/{_segment(session_id, 'session id')}/images/{_segment(image_id, 'image id')}"
        return await self._get_json(path, "session or image")

    async def session_active(self, session_id: str) -> bool:
        """True while the session exists; False once the Modality API answers 404 for it."""
        try:
            await self._get_json(f"/acquisition/{_segment(session_id, 'session id')}", "session")
        except ModalityNotFound:
            return False
        return True

    @contextlib.asynccontextmanager
    async def stream_media(self, session_id: str, image_id: str) -> AsyncIterator[MediaStream]:
        """Open the image's PNG media; iterate the yielded :class:`MediaStream` for its bytes.

        The response is checked (status, ``image/png``) before anything is yielded, so a
        ``ModalityNotFound``/``ModalityUnavailable`` comes from ``async with`` itself; read
        errors come from the iteration. The connection is released when the block exits.
        """
        path = f"/acquisition/{_segment(session_id, 'session id')}/images/{_segment(image_id, 'image id')}/media"
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=self._timeout, sock_read=self._timeout)
        async with self._request(path, timeout=timeout, accept="image/png") as response:
            await self._check_status(response, "session or image")
            if _media_type(response) != "image/png":
                raise ModalityUnavailable(
                    f"media has content type {response.headers.get('Content-Type')!r}, expected image/png",
                    status=response.status,
                )
            yield MediaStream(response, self._chunk_size)

    # Plumbing ----------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _request(
        self,
        path: str,
        *,
        timeout: aiohttp.ClientTimeout | None = None,  # noqa: ASYNC109 - aiohttp's own per-request timeout
        accept: str,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        if self._session is None:
            raise RuntimeError("ModalityClient.start() has not been called")
        url = self.base_url + path
        kwargs: dict[str, Any] = {"headers": {"Accept": accept}, "allow_redirects": False}
        if timeout is not None:
            kwargs["timeout"] = timeout
        try:
            response = await self._session.get(url, **kwargs)
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise ModalityUnavailable(f"GET {url} failed: {exc!r}") from exc
        try:
            yield response
        finally:
            # Returns the connection to the pool if the body was read, else closes it.
            response.release()

    @staticmethod
    async def _check_status(response: aiohttp.ClientResponse, what: str) -> None:
        status = response.status
        if status == 200:
            return
        if status == 404:
            raise ModalityNotFound(f"{what} not found ({response.url.path})")
        if status in (401, 403):
            raise ModalityUnavailable("the Modality API rejected the configured credentials", status=status)
        raise ModalityUnavailable(f"unexpected HTTP {status} from {response.url}", status=status)

    async def _get_json(self, path: str, what: str) -> dict[str, Any]:
        async with self._request(path, accept="application/json") as response:
            await self._check_status(response, what)
            media_type = _media_type(response)
            if not (media_type in ("application/json", "text/json") or media_type.endswith("+json")):
                raise ModalityUnavailable(f"expected JSON, got content type {media_type!r}", status=response.status)
            body = bytearray()
            try:
                async for chunk in response.content.iter_chunked(DEFAULT_CHUNK_SIZE):
                    body += chunk
                    if len(body) > MAX_JSON_BYTES:
                        raise ModalityUnavailable("JSON answer is implausibly large", status=response.status)
            except (TimeoutError, aiohttp.ClientError) as exc:
                raise ModalityUnavailable(f"reading {path} failed: {exc!r}") from exc
        try:
            value = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ModalityUnavailable(f"invalid JSON from {path}: {exc}") from exc
        if not isinstance(value, dict):
            raise ModalityUnavailable(f"expected a JSON object from {path}, got {type(value).__name__}")
        return value


# pixelHash ---------------------------------------------------------------------------------

_ALGORITHMS = {"MD5": "md5", "SHA256": "sha256"}


_HASH_BLOCK_BYTES = 1 << 20  # rows byte-swapped at a time for the big-endian hash


class PixelHashCheck:
    """Incremental check of ImageInfo.pixelHash against decoded pixels.

    Feed :meth:`update` the decoded uint16 image, whole or as consecutive blocks of whole rows,
    top to bottom (so a row-streaming decoder never needs the full image); then ask
    :meth:`matches`. Both byte orders are hashed because the spec does not fix one.
    """

    def __init__(self, alg: str, expected: str) -> None:
        name = _ALGORITHMS[alg.upper()]
        self.alg = alg.upper()
        self.expected = expected.strip().lower()
        self._little = hashlib.new(name, usedforsecurity=False)
        self._big = hashlib.new(name, usedforsecurity=False)

    @classmethod
    def from_image_info(cls, image_info: dict[str, Any]) -> PixelHashCheck | None:
        """None when the ImageInfo has no usable pixelHash (absent, null, unknown algorithm)."""
        info = {k.lower(): v for k, v in image_info.items()}
        hash_info = info.get("pixelhash")
        if not isinstance(hash_info, dict):
            return None
        fields = {k.lower(): v for k, v in hash_info.items()}
        alg, value = fields.get("alg"), fields.get("hash")
        if not isinstance(alg, str) or alg.upper() not in _ALGORITHMS or not isinstance(value, str):
            return None
        return cls(alg, value)

    def update(self, rows: np.ndarray) -> None:
        samples = np.ascontiguousarray(rows, dtype="<u2").reshape(-1)
        # The hashes read the array's own memory, and the big-endian copy is made a megabyte at a
        # time (a hash is of a byte stream: any split gives the same digest), so checking a
        # 100-megapixel image costs a megabyte beside it, not two more copies of it.
        step = _HASH_BLOCK_BYTES // samples.itemsize
        for start in range(0, samples.size, step):
            block = samples[start : start + step]
            self._little.update(block.data)
            self._big.update(block.astype(">u2").data)

    @property
    def byte_order(self) -> str | None:
        """'little' or 'big' for the layout that matched, None if neither did."""
        if self._little.hexdigest() == self.expected:
            return "little"
        if self._big.hexdigest() == self.expected:
            return "big"
        return None

    def matches(self) -> bool:
        return self.byte_order is not None


def verify_pixel_hash(image_info: dict[str, Any], pixels: np.ndarray) -> bool | None:
    """One-shot check of decoded ``pixels``; None when there is no usable pixelHash to check."""
    check = PixelHashCheck.from_image_info(image_info)
    if check is None:
        return None
    check.update(pixels)
    return check.matches()
