"""A blocking facade over :class:`~filters_client.client.FiltersClient` for scripts and notebooks.

The async client lives on a private event loop in a daemon thread, so calls work the same
whether or not the caller already runs a loop (Jupyter does; ``asyncio.run`` would refuse there).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Coroutine, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, TypeVar, overload

from .client import Accept, FiltersClient, PathArg
from .models import Filter, ImageInfo, ImageResource, OutputFormat, SelectMode, Task
from .retry import RetryPolicy
from .settings import Timeouts

if TYPE_CHECKING:  # typing.Self is 3.11+
    from typing import Self

T = TypeVar("T")

#: What a synchronous upload can come from: a path, bytes, a binary file or an iterable of chunks.
SyncMedia = PathArg | bytes | bytearray | memoryview | IO[bytes] | Iterable[bytes]


class _LoopThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="dsio-filters-client", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result()
        except (KeyboardInterrupt, concurrent.futures.CancelledError):
            future.cancel()  # Ctrl-C in the caller cancels the request (its finally blocks clean up)
            raise

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()


class SyncFiltersClient:
    """Blocking twin of :class:`FiltersClient`: same arguments, same methods, no ``await``.

    Use as a context manager (``with SyncFiltersClient() as client:``) or call :meth:`close`.
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
    ) -> None:
        self._loop = _LoopThread()
        try:
            self._client = FiltersClient(
                url,
                user=user,
                password=password,
                netrc_file=netrc_file,
                env=env,
                ca_file=ca_file,
                verify=verify,
                timeouts=timeouts,
                retry=retry,
                connections=connections,
                user_agent=user_agent,
            )
        except BaseException:
            self._loop.stop()
            raise

    @property
    def url(self) -> str:
        return self._client.url

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        try:
            self._loop.run(self._client.close())
        finally:
            self._loop.stop()

    def check(self) -> dict[str, Any]:
        return self._loop.run(self._client.check())

    def upload(
        self, media: SyncMedia, image_info: ImageInfo | Mapping[str, Any], *, filename: str = "image.png"
    ) -> ImageResource:
        return self._loop.run(self._client.upload(media, image_info, filename=filename))

    def create_from_modality(self, session_id: str, image_id: str) -> ImageResource:
        return self._loop.run(self._client.create_from_modality(session_id, image_id))

    def get(self, image_id: str) -> ImageResource:
        return self._loop.run(self._client.get(image_id))

    def delete(self, image_id: str, *, missing_ok: bool = False) -> bool:
        return self._loop.run(self._client.delete(image_id, missing_ok=missing_ok))

    def media(self, image_id: str) -> bytes:
        return self._loop.run(self._client.media(image_id))

    def download_media(self, image_id: str, path: PathArg, *, resume: bool = True) -> Path:
        return self._loop.run(self._client.download_media(image_id, path, resume=resume))

    @overload
    def apply(self, image_id: str, filter: Filter, *, accept: Accept = ..., to: None = None) -> bytes: ...
    @overload
    def apply(self, image_id: str, filter: Filter, *, accept: Accept = ..., to: PathArg) -> Path: ...

    def apply(
        self, image_id: str, filter: Filter, *, accept: Accept = OutputFormat.PNG, to: PathArg | None = None
    ) -> bytes | Path:
        if to is None:
            return self._loop.run(self._client.apply(image_id, filter, accept=accept))
        return self._loop.run(self._client.apply(image_id, filter, accept=accept, to=to))

    @overload
    def unmap(self, image_id: str, *, accept: Accept = ..., to: None = None) -> bytes: ...
    @overload
    def unmap(self, image_id: str, *, accept: Accept = ..., to: PathArg) -> Path: ...

    def unmap(self, image_id: str, *, accept: Accept = OutputFormat.PNG, to: PathArg | None = None) -> bytes | Path:
        return self.apply(image_id, Filter.unmap(), accept=accept, to=to)

    @overload
    def select(
        self, image_id: str, mode: SelectMode | str = ..., *, accept: Accept = ..., to: None = None
    ) -> bytes: ...
    @overload
    def select(self, image_id: str, mode: SelectMode | str = ..., *, accept: Accept = ..., to: PathArg) -> Path: ...

    def select(
        self,
        image_id: str,
        mode: SelectMode | str = SelectMode.EDGE_PRO,
        *,
        accept: Accept = OutputFormat.PNG,
        to: PathArg | None = None,
    ) -> bytes | Path:
        return self.apply(image_id, Filter.select(mode), accept=accept, to=to)

    @overload
    def supreme(
        self, image_id: str, task: Task | str = ..., sharpness: float = ..., *, accept: Accept = ..., to: None = None
    ) -> bytes: ...
    @overload
    def supreme(
        self, image_id: str, task: Task | str = ..., sharpness: float = ..., *, accept: Accept = ..., to: PathArg
    ) -> Path: ...

    def supreme(
        self,
        image_id: str,
        task: Task | str = Task.GENERAL,
        sharpness: float = 70.0,
        *,
        accept: Accept = OutputFormat.PNG,
        to: PathArg | None = None,
    ) -> bytes | Path:
        return self.apply(image_id, Filter.supreme(task, sharpness), accept=accept, to=to)

    @overload
    def ae(
        self, image_id: str, task: Task | str = ..., sharpness: float = ..., *, accept: Accept = ..., to: None = None
    ) -> bytes: ...
    @overload
    def ae(
        self, image_id: str, task: Task | str = ..., sharpness: float = ..., *, accept: Accept = ..., to: PathArg
    ) -> Path: ...

    def ae(
        self,
        image_id: str,
        task: Task | str = Task.GENERAL,
        sharpness: float = 70.0,
        *,
        accept: Accept = OutputFormat.PNG,
        to: PathArg | None = None,
    ) -> bytes | Path:
        return self.apply(image_id, Filter.ae(task, sharpness), accept=accept, to=to)
