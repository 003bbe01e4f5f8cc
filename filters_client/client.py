"""The asynchronous client: :class:`FiltersClient`.

One ``aiohttp.ClientSession`` (keep-alive connection pool) per client. Every call goes through
:meth:`FiltersClient._call`, which owns retries (see :mod:`filters_client.retry`), timeouts and
turning answers into typed errors. Bodies are streamed both ways: uploads from files or
iterators, media and filter outputs to files, never held whole in memory unless bytes are asked for.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import ssl
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Container,
    Iterable,
    Mapping,
)
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, TypeVar, overload
from urllib.parse import quote

import aiohttp

from . import errors, files
from .models import (
    Filter,
    ImageInfo,
    ImageResource,
    OutputFormat,
    SelectMode,
    Task,
    media_type,
)
from .retry import (
    GATEWAY_STATUSES,
    RETRY_STATUSES,
    Replay,
    RetryPolicy,
    parse_retry_after,
)
from .settings import Credentials, Timeouts, resolve_credentials, resolve_url

if TYPE_CHECKING:  # typing.Self is 3.11+
    from typing import Self

T = TypeVar("T")

PathArg = str | os.PathLike[str]
#: What an upload can come from: a path, bytes, a binary file object, or an (async) iterable of chunks.
Media = PathArg | bytes | bytearray | memoryview | IO[bytes] | AsyncIterable[bytes] | Iterable[bytes]
Accept = OutputFormat | str

_ERROR_BODY_LIMIT = 64 * 1024


class FiltersClient:
    """Asynchronous client of the DSIO Intraoral Filters API v1.

    ``async with FiltersClient() as client:`` reads the URL and credentials from the arguments,
    else ``DSIO_FILTERS_URL`` / ``DSIO_FILTERS_USER`` / ``DSIO_FILTERS_PASSWORD``, else the netrc
    entry of the URL's host.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        user: str | None = None,
        password: str | None = None,
        netrc_file: PathArg | None = None,
        env: Mapping[str, str] | None = None,
        ca_file: PathArg | None = None,
        verify: bool = True,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        connections: int = 16,
        user_agent: str | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        if ca_file is not None and not verify:
            raise ValueError("ca_file and verify=False contradict each other")
        self.url = resolve_url(url, env)
        self.credentials: Credentials | None = resolve_credentials(
            self.url, user, password, env=env, netrc_file=netrc_file
        )
        self.timeouts = timeouts or Timeouts()
        self.retry = retry or RetryPolicy()
        self._ca_file = None if ca_file is None else os.fspath(ca_file)
        self._verify = verify
        self._connections = connections
        self._user_agent = user_agent or "dsio-filters-client"
        self._sleep = sleep or asyncio.sleep  # injectable: tests synchronise retries on events
        self._session: aiohttp.ClientSession | None = None

    # --- life cycle ----------------------------------------------------------------------------
    async def __aenter__(self) -> Self:
        self._open_session()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _open_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            tls: ssl.SSLContext | bool = True
            if not self._verify:
                tls = False
            elif self._ca_file is not None:
                tls = ssl.create_default_context(cafile=self._ca_file)
            headers = {"User-Agent": self._user_agent}
            if self.credentials is not None:
                headers["Authorization"] = aiohttp.encode_basic_auth(self.credentials.user, self.credentials.password)
            t = self.timeouts
            self._session = aiohttp.ClientSession(
                headers=headers,
                connector=aiohttp.TCPConnector(limit=self._connections, ssl=tls),
                timeout=aiohttp.ClientTimeout(total=t.total, sock_connect=t.connect, sock_read=t.read),
                raise_for_status=False,
            )
        return self._session

    def _url(self, path: str) -> str:
        return f"{self.url}/{path.lstrip('/')}"

    # --- calls ---------------------------------------------------------------------------------
    async def check(self) -> dict[str, Any]:
        """``GET {base}/``: the service root (no credentials needed). Raises if the service does not answer."""
        return await self._call("GET", "/", _read_json_object, replay=Replay.ALWAYS)

    async def upload(
        self, media: Media, image_info: ImageInfo | Mapping[str, Any], *, filename: str = "image.png"
    ) -> ImageResource:
        """``POST /images``: create an image resource from a 16-bit grayscale PNG and its ImageInfo.

        The media is streamed, never read whole. Paths, bytes and seekable files are sent again
        when the server answered 429/503 or could not be reached; one-shot streams (iterators, pipes)
        are never retried (see :class:`~filters_client.retry.Replay`).
        """
        info = image_info.to_json() if isinstance(image_info, ImageInfo) else dict(image_info)
        source, replay = _media_source(media)

        @contextlib.asynccontextmanager
        async def body() -> AsyncIterator[aiohttp.MultipartWriter]:
            async with source() as payload:
                with aiohttp.MultipartWriter("form-data") as form:
                    part = form.append_json(info)
                    part.set_content_disposition("form-data", name="imageInfo")
                    part = form.append(payload, {"Content-Type": "image/png"})
                    part.set_content_disposition("form-data", name="imageMedia", filename=filename)
                    yield form

        return await self._call("POST", "images", _read_resource, replay=replay, body=body, ok=(201,))

    async def create_from_modality(self, session_id: str, image_id: str) -> ImageResource:
        """``POST /images/modality``: a resource from an image of a live Modality API session."""
        return await self._call(
            "POST",
            "images/modality",
            _read_resource,
            replay=Replay.REFUSED_ONLY,
            json_body={"sessionId": session_id, "imageId": image_id},
            ok=(201,),
        )

    async def get(self, image_id: str) -> ImageResource:
        """``GET /images/{id}``."""
        return await self._call("GET", _image(image_id), _read_resource, replay=Replay.ALWAYS)

    async def delete(self, image_id: str, *, missing_ok: bool = False) -> bool:
        """``DELETE /images/{id}``; True if deleted, False if it was not there (with ``missing_ok``)."""
        try:
            await self._call("DELETE", _image(image_id), _discard, replay=Replay.ALWAYS, ok=(200, 204))
        except errors.NotFound:
            if missing_ok:
                return False
            raise
        return True

    async def media(self, image_id: str) -> bytes:
        """``GET /images/{id}/media`` into memory (see :meth:`download_media` for files)."""
        return await self._call("GET", f"{_image(image_id)}/media", _read_bytes, replay=Replay.ALWAYS)

    async def download_media(self, image_id: str, path: PathArg, *, resume: bool = True) -> Path:
        """``GET /images/{id}/media`` streamed to ``path``.

        The body goes to ``path + ".part"`` (its ETag beside it in ``.part.etag``) and is renamed
        when complete. A partial file left by an interrupted download is resumed with
        ``Range: bytes=N-`` and ``If-Range: <etag>``: if the media changed the server sends it
        whole and the part is rewritten. A connection lost mid-body is resumed the same way.
        """
        dest = files.fspath(path)
        part = dest.with_name(dest.name + ".part")
        tag_file = dest.with_name(dest.name + ".part.etag")
        await asyncio.to_thread(dest.parent.mkdir, parents=True, exist_ok=True)
        if not resume:
            await files.remove(part, tag_file)

        async def headers() -> dict[str, str]:
            size = await files.file_size(part)
            etag = (await files.read_text(tag_file) or "").strip()
            if size and etag:
                return {"Range": f"bytes={size}-", "If-Range": etag}
            return {}

        async def read(response: aiohttp.ClientResponse) -> bool:
            if response.status == 416:  # the part already holds the whole file, or more than it
                total = _content_range_total(response.headers.get("Content-Range"))
                if total is not None and total == await files.file_size(part):
                    return True
                await files.remove(part, tag_file)
                return False
            if response.status == 206:
                start = _content_range_start(response.headers.get("Content-Range"))
                if start != await files.file_size(part):
                    raise errors.ProtocolError(f"the server resumed at byte {start}, not where the part ends")
                await files.append_body(response, part)
                return True
            # The whole file: drop any old part, note the ETag first, so a break from here on resumes.
            etag = response.headers.get("ETag", "")
            await files.remove(part, tag_file)
            if etag:
                await files.write_text(tag_file, etag)
            await files.append_body(response, part)
            return True

        for _ in range(2):  # a second time only when an unusable part was thrown away
            if await self._call(
                "GET", f"{_image(image_id)}/media", read, replay=Replay.ALWAYS, headers=headers, ok=(200, 206, 416)
            ):
                await asyncio.to_thread(os.replace, part, dest)
                await files.remove(tag_file)
                return dest
        raise errors.ProtocolError("the server refused to resume the media download twice")

    @overload
    async def apply(self, image_id: str, filter: Filter, *, accept: Accept = ..., to: None = None) -> bytes: ...
    @overload
    async def apply(self, image_id: str, filter: Filter, *, accept: Accept = ..., to: PathArg) -> Path: ...

    async def apply(
        self, image_id: str, filter: Filter, *, accept: Accept = OutputFormat.PNG, to: PathArg | None = None
    ) -> bytes | Path:
        """``POST /images/{id}/filters/{name}``: the output in memory, or streamed to the file ``to``.

        A file is written under a temporary name and renamed when complete, so it never exists
        half-written. Filters are deterministic, so the request is retried like a GET.
        """
        body = filter.body()
        headers = {"Accept": media_type(accept)}
        path = f"{_image(image_id)}/filters/{filter.name}"
        if to is None:
            return await self._call("POST", path, _read_bytes, replay=Replay.ALWAYS, json_body=body, headers=headers)
        dest = files.fspath(to)

        async def write(response: aiohttp.ClientResponse) -> Path:
            await files.write_body(response, dest)
            return dest

        return await self._call("POST", path, write, replay=Replay.ALWAYS, json_body=body, headers=headers)

    @overload
    async def unmap(self, image_id: str, *, accept: Accept = ..., to: None = None) -> bytes: ...
    @overload
    async def unmap(self, image_id: str, *, accept: Accept = ..., to: PathArg) -> Path: ...

    async def unmap(
        self, image_id: str, *, accept: Accept = OutputFormat.PNG, to: PathArg | None = None
    ) -> bytes | Path:
        """The original sensor values (the LUT inverted)."""
        return await self.apply(image_id, Filter.unmap(), accept=accept, to=to)

    @overload
    async def select(
        self, image_id: str, mode: SelectMode | str = ..., *, accept: Accept = ..., to: None = None
    ) -> bytes: ...
    @overload
    async def select(
        self, image_id: str, mode: SelectMode | str = ..., *, accept: Accept = ..., to: PathArg
    ) -> Path: ...

    async def select(
        self,
        image_id: str,
        mode: SelectMode | str = SelectMode.EDGE_PRO,
        *,
        accept: Accept = OutputFormat.PNG,
        to: PathArg | None = None,
    ) -> bytes | Path:
        """The Select filter in one of its enhancement modes."""
        return await self.apply(image_id, Filter.select(mode), accept=accept, to=to)

    @overload
    async def supreme(
        self, image_id: str, task: Task | str = ..., sharpness: float = ..., *, accept: Accept = ..., to: None = None
    ) -> bytes: ...
    @overload
    async def supreme(
        self, image_id: str, task: Task | str = ..., sharpness: float = ..., *, accept: Accept = ..., to: PathArg
    ) -> Path: ...

    async def supreme(
        self,
        image_id: str,
        task: Task | str = Task.GENERAL,
        sharpness: float = 70.0,
        *,
        accept: Accept = OutputFormat.PNG,
        to: PathArg | None = None,
    ) -> bytes | Path:
        """The Supreme filter for a clinical task, sharpness 0-100."""
        return await self.apply(image_id, Filter.supreme(task, sharpness), accept=accept, to=to)

    @overload
    async def ae(
        self, image_id: str, task: Task | str = ..., sharpness: float = ..., *, accept: Accept = ..., to: None = None
    ) -> bytes: ...
    @overload
    async def ae(
        self, image_id: str, task: Task | str = ..., sharpness: float = ..., *, accept: Accept = ..., to: PathArg
    ) -> Path: ...

    async def ae(
        self,
        image_id: str,
        task: Task | str = Task.GENERAL,
        sharpness: float = 70.0,
        *,
        accept: Accept = OutputFormat.PNG,
        to: PathArg | None = None,
    ) -> bytes | Path:
        """The AE filter (every task but hygiene), sharpness 0-100."""
        return await self.apply(image_id, Filter.ae(task, sharpness), accept=accept, to=to)

    # --- the one place requests are sent ---------------------------------------------------------
    async def _call(
        self,
        method: str,
        path: str,
        read: Callable[[aiohttp.ClientResponse], Awaitable[T]],
        *,
        replay: Replay,
        ok: Container[int] = (200,),
        json_body: Any = None,
        body: Callable[[], contextlib.AbstractAsyncContextManager[Any]] | None = None,
        headers: Mapping[str, str] | Callable[[], Awaitable[Mapping[str, str]]] | None = None,
    ) -> T:
        """Send, retry as ``replay`` allows, and hand an accepted answer to ``read``.

        ``read`` runs inside the retry loop: a connection that breaks while it reads the body is
        retried too (for ``Replay.ALWAYS``), and ``read`` must cope with being called again.
        """
        session = self._open_session()
        url = self._url(path)
        attempt = 0
        while True:
            error: errors.FiltersError
            try:
                sent_headers = dict(await headers() if callable(headers) else headers or {})
                async with contextlib.AsyncExitStack() as stack:
                    data = await stack.enter_async_context(body()) if body is not None else None
                    kwargs: dict[str, Any] = {"headers": sent_headers}
                    if data is not None:
                        kwargs["data"] = data
                    elif json_body is not None:
                        kwargs["json"] = json_body
                    async with session.request(method, url, **kwargs) as response:
                        if response.status in ok:
                            return await read(response)
                        error = await _error_from(response, method, url)
            except errors.FiltersError:
                raise
            except (aiohttp.ClientConnectorCertificateError, aiohttp.ClientSSLError) as exc:
                raise errors.TLSError(f"TLS failed for {url}: {exc}", method=method, url=url) from exc
            except aiohttp.ClientConnectorError as exc:
                error = errors.ConnectionFailed(f"cannot connect to {url}: {exc}", method=method, url=url)
                error.__cause__ = exc
            # asyncio.TimeoutError is not the builtin TimeoutError before 3.11
            except (asyncio.TimeoutError, aiohttp.ServerTimeoutError) as exc:  # noqa: UP041
                error = errors.Timeout(f"{method} {url} timed out ({self.timeouts})", method=method, url=url)
                error.__cause__ = exc
            except aiohttp.ClientError as exc:  # (local file errors are not the network's: they propagate)
                error = errors.ConnectionFailed(
                    f"{method} {url} failed: {type(exc).__name__}: {exc}", method=method, url=url
                )
                error.__cause__ = exc
            if attempt >= self.retry.retries or not _may_retry(replay, error):
                raise error
            delay = self.retry.delay(attempt, error.retry_after)
            if delay is None:
                raise error
            attempt += 1
            await self._sleep(delay)


def _may_retry(replay: Replay, error: errors.FiltersError) -> bool:
    if replay is Replay.NEVER or isinstance(error, errors.TLSError):
        return False
    if error.status is not None:
        return error.status in RETRY_STATUSES or (replay is Replay.ALWAYS and error.status in GATEWAY_STATUSES)
    if replay is Replay.ALWAYS:
        return True
    # REFUSED_ONLY: a failure to connect sent nothing; anything later may have created the resource.
    return isinstance(error.__cause__, aiohttp.ClientConnectorError)


async def _error_from(response: aiohttp.ClientResponse, method: str, url: str) -> errors.FiltersError:
    body = await response.content.read(_ERROR_BODY_LIMIT)
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    return errors.from_answer(
        response.status,
        response.reason,
        response.headers.get("Content-Type", ""),
        body,
        method=method,
        url=url,
        retry_after=retry_after,
    )


def _image(image_id: str) -> str:
    return "images/" + quote(image_id, safe="")


async def _read_json_object(response: aiohttp.ClientResponse) -> dict[str, Any]:
    raw = await response.read()
    try:
        value = json.loads(raw)
    except ValueError:
        raise errors.ProtocolError(
            f"expected JSON from {response.method} {response.url}, got "
            f"{response.headers.get('Content-Type', 'no type')}"
        ) from None
    if not isinstance(value, dict):
        raise errors.ProtocolError(f"expected a JSON object from {response.method} {response.url}")
    return value


async def _read_resource(response: aiohttp.ClientResponse) -> ImageResource:
    data = await _read_json_object(response)
    try:
        return ImageResource.from_json(data)
    except (ValueError, TypeError) as exc:
        raise errors.ProtocolError(f"not an ImageResource: {exc}") from None


async def _read_bytes(response: aiohttp.ClientResponse) -> bytes:
    return await response.read()


async def _discard(response: aiohttp.ClientResponse) -> None:
    await response.release()


def _content_range_start(value: str | None) -> int | None:
    """``bytes 100-199/200`` -> 100."""
    if not value or not value.startswith("bytes ") or "-" not in value:
        return None
    try:
        return int(value[6:].split("-", 1)[0])
    except ValueError:
        return None


def _content_range_total(value: str | None) -> int | None:
    """``bytes */200`` or ``bytes 0-9/200`` -> 200."""
    if not value or "/" not in value:
        return None
    try:
        return int(value.rsplit("/", 1)[1])
    except ValueError:
        return None


# --- upload sources --------------------------------------------------------------------------------
MediaSource = Callable[[], contextlib.AbstractAsyncContextManager[Any]]


def _media_source(media: Media) -> tuple[MediaSource, Replay]:
    """A factory giving a fresh payload for each attempt, and how safe a re-send is."""
    if isinstance(media, (bytes, bytearray, memoryview)):
        data = bytes(media)

        @contextlib.asynccontextmanager
        async def from_bytes() -> AsyncIterator[Any]:
            yield data

        return from_bytes, Replay.REFUSED_ONLY
    if isinstance(media, (str, os.PathLike)):
        path = os.fspath(media)

        @contextlib.asynccontextmanager
        async def from_path() -> AsyncIterator[Any]:
            handle = await asyncio.to_thread(open, path, "rb")
            try:
                yield handle  # aiohttp reads it in chunks in its executor
            finally:
                handle.close()  # read-only: nothing to flush, so closing does not block

        return from_path, Replay.REFUSED_ONLY
    if isinstance(media, (io.IOBase,)) or hasattr(media, "read"):
        handle: IO[bytes] = media  # type: ignore[assignment]  # duck-typed: anything with read() is a file here
        start = _tell(handle)

        @contextlib.asynccontextmanager
        async def from_file() -> AsyncIterator[Any]:
            if start is not None:
                handle.seek(start)
            yield handle

        return from_file, Replay.REFUSED_ONLY if start is not None else Replay.NEVER
    if isinstance(media, AsyncIterable):
        return _once(media), Replay.NEVER
    if isinstance(media, Iterable):
        return _once(_threaded(media)), Replay.NEVER
    raise TypeError(
        f"cannot upload a {type(media).__name__}: give a path, bytes, a binary file or an iterable of bytes"
    )


def _tell(handle: IO[bytes]) -> int | None:
    try:
        return handle.tell() if handle.seekable() else None
    except (OSError, AttributeError, ValueError):
        return None


def _once(stream: AsyncIterable[bytes]) -> MediaSource:
    @contextlib.asynccontextmanager
    async def from_stream() -> AsyncIterator[Any]:
        yield stream

    return from_stream


async def _threaded(chunks: Iterable[bytes]) -> AsyncIterator[bytes]:
    """A blocking iterator read in a thread, one chunk at a time, so the loop never waits on it."""
    iterator = iter(chunks)
    done = object()
    while True:
        chunk = await asyncio.to_thread(next, iterator, done)
        if chunk is done:
            return
        yield chunk  # type: ignore[misc]  # not the sentinel, so bytes: mypy cannot narrow an object() sentinel
