"""Storage backends: one async protocol, several implementations.

The application only ever sees :class:`Storage`. Keys are ``/``-separated
strings made by the application from server-generated ids (never from client
input), e.g. ``images/<uuid>/media``. Every backend guarantees:

* **Atomic streamed writes**: :meth:`Storage.put` consumes an async iterator of
  chunks; the object becomes visible only once completely written. If the
  iterator raises (a validator rejecting the stream, a client disconnect) or
  the task is cancelled, nothing is left behind and the exception propagates.
* **Ranged reads**: :meth:`Storage.read` streams ``[start, end)``.
* **Sorted listing**: :meth:`Storage.list` yields keys under a prefix in
  lexicographic order, optionally starting after a key, so callers can scan
  time-ordered key spaces without listing everything.
* **Idempotent deletes**: deleting what is not there is not an error.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Protocol, runtime_checkable
from urllib.parse import urlsplit

__all__ = [
    "ObjectInfo",
    "ObjectNotFound",
    "Storage",
    "StorageError",
    "StorageFull",
    "StorageUnavailable",
    "open_storage",
    "validate_key",
]


class StorageError(Exception):
    """Base class of every error a backend raises on purpose."""


class ObjectNotFound(StorageError, KeyError):
    """The key does not exist (or no longer exists)."""


class StorageUnavailable(StorageError):
    """The backend cannot be reached or failed; the request may be retried."""


class StorageFull(StorageUnavailable):
    """The backend has no room for the write (a full disk, a used-up quota); nothing partial was left."""


@dataclasses.dataclass(frozen=True)
class ObjectInfo:
    """What a backend knows about a stored object."""

    key: str
    size: int
    etag: str  # opaque, quoted-free strong validator of the content
    last_modified: float  # POSIX seconds


@runtime_checkable
class Storage(Protocol):
    """The async storage protocol every backend implements."""

    #: True when several server processes may share this storage (S3): the
    #: in-memory index is then a cache that must be validated against it.
    shared: bool

    async def start(self) -> None:
        """Open clients, run start-up recovery (remove partial writes)."""

    async def close(self) -> None:
        """Release clients and files."""

    async def ping(self) -> None:
        """Raise :class:`StorageUnavailable` unless the backend answers."""

    async def put(self, key: str, chunks: AsyncIterator[bytes]) -> ObjectInfo:
        """Atomically store the stream under ``key`` (replacing any object)."""

    async def put_bytes(self, key: str, data: bytes) -> ObjectInfo:
        """Atomically store a small object."""

    async def get_bytes(self, key: str) -> bytes:
        """Return a whole (small) object; :class:`ObjectNotFound` if absent."""

    async def stat(self, key: str) -> ObjectInfo:
        """Describe an object; :class:`ObjectNotFound` if absent."""

    def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """Stream bytes ``[start, end)`` of an object (``end=None``: to its end).

        Raises :class:`ObjectNotFound` on first iteration if absent.
        """

    def list(self, prefix: str, *, start_after: str | None = None) -> AsyncIterator[str]:
        """Yield keys beginning with ``prefix`` in lexicographic order."""

    async def delete(self, key: str) -> None:
        """Remove one object; absent is fine."""

    async def delete_prefix(self, prefix: str) -> int:
        """Remove every object under ``prefix`` (must end with ``/``); return the count."""

    def local_path(self, key: str) -> str | None:
        """A filesystem path holding the object, if the backend has one (for sendfile)."""


_KEY_ALPHABET = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=")


def validate_key(key: str) -> str:
    """Reject keys that could escape a prefix or a directory.

    Keys are built by the server, so a bad one is a programming error; this is
    the last line of defence for "keys never from client input" (docs/architecture.md).
    """
    if (
        not key
        or key.startswith("/")
        or not set(key) <= _KEY_ALPHABET
        # One trailing "/" marks a prefix; anything else empty is a bad segment.
        or any(part in ("", ".", "..") for part in key.removesuffix("/").split("/"))
    ):
        raise ValueError(f"invalid storage key: {key!r}")
    return key


def open_storage(url: str, **options: object) -> Storage:
    """Create the backend a storage URL names.

    ``memory://``, ``file:///abs/path`` or ``file:relative/path``,
    ``s3://bucket/prefix`` (needs the ``[s3]`` extra). ``options`` go to the
    backend's constructor (S3 endpoint, region, ...); unknown ones are ignored
    by backends that take none.
    """
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        from .memory import MemoryStorage

        return MemoryStorage()
    if scheme == "file":
        from .local import LocalStorage

        min_free = options.get("min_free_bytes")
        return LocalStorage(
            file_url_path(url),
            shared=bool(options.get("shared", False)),
            min_free_bytes=min_free if isinstance(min_free, int) else 0,
        )
    if scheme == "s3":
        try:
            from .s3 import S3Storage
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ValueError("s3:// storage needs the [s3] extra (aiobotocore)") from exc
        return S3Storage.from_url(url, **options)  # type: ignore[arg-type]  # options are typed per backend
    raise ValueError(f"unsupported storage URL {url!r}: use memory://, file:PATH or s3://bucket/prefix")


def file_url_path(url: str) -> str:
    """``file:///abs`` -> ``/abs``; ``file:rel/dir`` -> ``rel/dir``."""
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise ValueError(f"file URLs name a local path, not a host: {url!r}")
    if not parts.path:
        raise ValueError(f"file URL without a path: {url!r}")
    return parts.path
