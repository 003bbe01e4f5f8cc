"""Local-disk storage: temp file, fsync, rename, fsync the directory.

Objects live under ``<root>/objects/<key>``; writes go to ``<root>/tmp/`` on
the same filesystem and are renamed into place only once complete and synced,
so a crash leaves either the old state or a stray temp file, which
:meth:`LocalStorage.start` removes. The directory that received the rename (and
the parent of every directory made for it) is fsynced too, so a write that
returned survives a power failure. Blocking calls run in the default executor
or through aiofiles, never on the event loop.

A full disk or used-up quota (``ENOSPC``, ``EDQUOT``) is :class:`StorageFull`,
with the temp file removed; :meth:`LocalStorage.ping` fails while free space is
under ``min_free_bytes`` or the last write found no room (until a probe write
succeeds again), so readiness reports it.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import errno
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from typing import BinaryIO, TypeVar

import aiofiles
import aiofiles.os

from . import ObjectInfo, ObjectNotFound, StorageFull, validate_key

_T = TypeVar("_T")
_WRITE_BUFFER = 1024 * 1024  # coalesce small network chunks into fewer thread hops
_READ_CHUNK = 1024 * 1024
_NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT})
_PROBE_BYTES = 4096
_RACE_ATTEMPTS = 16  # tries of an install whose directory a concurrent delete pruned


class LocalStorage:
    def __init__(self, root: str, *, shared: bool = False, min_free_bytes: int = 0) -> None:
        """``shared``: several processes use this directory at once (``--processes``), so none may
        trust a private index, and none may clear ``tmp/`` at start (another may be writing there).
        ``min_free_bytes``: :meth:`ping` fails below this much free space."""
        self.shared = shared
        self.root = os.path.abspath(root)
        self.min_free_bytes = min_free_bytes
        self._objects = os.path.join(self.root, "objects")
        self._tmp = os.path.join(self.root, "tmp")
        self._out_of_room = False  # the last write failed for lack of space

    async def _run(self, func: Callable[..., _T], *args: object) -> _T:
        return await asyncio.get_running_loop().run_in_executor(None, partial(func, *args))

    def _path(self, key: str) -> str:
        return os.path.join(self._objects, *validate_key(key).split("/"))

    async def start(self) -> None:
        await self._run(self._prepare if self.shared else self.recover)

    def recover(self) -> None:
        """Clear what crashed writers left. Only while no other process uses the directory."""
        self._prepare()
        # Anything in tmp/ is a write that never completed: it was never visible.
        shutil.rmtree(self._tmp, ignore_errors=True)
        os.makedirs(self._tmp, exist_ok=True)

    def _prepare(self) -> None:
        os.makedirs(self._objects, exist_ok=True)
        os.makedirs(self._tmp, exist_ok=True)

    async def close(self) -> None:
        return None

    async def ping(self) -> None:
        await aiofiles.os.stat(self._objects)
        await self._run(self._check_room)

    def _check_room(self) -> None:
        st = os.statvfs(self._objects)
        free = st.f_bavail * st.f_frsize
        if free < self.min_free_bytes:
            raise StorageFull(f"only {free} bytes free on the storage disk (less than {self.min_free_bytes})")
        if self._out_of_room:  # a quota statvfs cannot see: ready again once a small write succeeds
            probe = os.path.join(self._tmp, "probe-" + uuid.uuid4().hex)
            try:
                with open(probe, "wb") as out:
                    out.write(b"\0" * _PROBE_BYTES)
                    out.flush()
                    os.fsync(out.fileno())
            except OSError as exc:
                if exc.errno in _NO_ROOM:
                    raise StorageFull(f"no room on the storage disk: {exc.strerror}") from None
                raise
            finally:
                _unlink_quietly(probe)
            self._out_of_room = False

    async def put(self, key: str, chunks: AsyncIterator[bytes]) -> ObjectInfo:
        # Thread hops: one to open, one per MiB written, one to finish (sync, rename, stat). Each
        # hop waits for the GIL on a busy server, so a small object (metadata, a marker) is one hop
        # in all through put_bytes.
        path = self._path(key)
        tmp = os.path.join(self._tmp, uuid.uuid4().hex)
        opened: builtins.list[BinaryIO] = []

        async def write() -> ObjectInfo:
            out = await self._run(_open_for_writing, tmp)
            opened.append(out)
            buffer = bytearray()
            async for chunk in chunks:
                buffer += chunk
                if len(buffer) >= _WRITE_BUFFER:
                    await self._run(out.write, bytes(buffer))
                    buffer.clear()
            return await self._run(self._finish, key, out, bytes(buffer), tmp, path)

        return await self._landed(key, tmp, write(), opened)

    async def put_bytes(self, key: str, data: bytes) -> ObjectInfo:
        path = self._path(key)
        tmp = os.path.join(self._tmp, uuid.uuid4().hex)
        return await self._landed(key, tmp, self._run(self._write_whole, key, data, tmp, path), [])

    async def _landed(
        self, key: str, tmp: str, writing: Awaitable[ObjectInfo], opened: builtins.list[BinaryIO]
    ) -> ObjectInfo:
        """``writing`` (a write of ``key`` through the temp file ``tmp``), awaited. Cancelled or
        failed, the temp file (and ``opened``, its handle if one was opened) must not outlive the
        attempt, and a full disk is StorageFull."""
        try:
            info = await writing
        except BaseException as exc:
            await asyncio.shield(self._run(_discard, opened[0] if opened else None, tmp))
            self._raise_if_full(key, exc)
            raise
        self._out_of_room = False
        return info

    def _raise_if_full(self, key: str, exc: BaseException) -> None:
        """A write that failed for lack of space is StorageFull (and readiness hears of it)."""
        if isinstance(exc, OSError) and exc.errno in _NO_ROOM:
            self._out_of_room = True
            raise StorageFull(f"no room on the storage disk for {key}: {exc.strerror}") from exc

    def _write_whole(self, key: str, data: bytes, tmp: str, path: str) -> ObjectInfo:
        return self._finish(key, _open_for_writing(tmp), data, tmp, path)

    def _finish(self, key: str, out: BinaryIO, tail: bytes, tmp: str, path: str) -> ObjectInfo:
        """Write the last bytes, make the file durable, rename it into place and stat it."""
        with out:
            out.write(tail)
            out.flush()
            os.fsync(out.fileno())
        self._install(tmp, path)
        try:
            return _info(key, os.stat(path))
        except FileNotFoundError:  # deleted the moment it landed, as stat() would report it
            raise ObjectNotFound(key) from None

    def _install(self, tmp: str, path: str) -> None:
        # A delete prunes the directories it leaves empty, so a directory made or seen a moment ago
        # can vanish before the mkdir of its child or the rename lands in it: start over.
        directory = os.path.dirname(path)
        for attempt in range(_RACE_ATTEMPTS):
            try:
                self._make_dirs(directory)
                os.replace(tmp, path)
                break
            except FileNotFoundError:
                if attempt == _RACE_ATTEMPTS - 1 or not os.path.exists(tmp):
                    raise
        try:
            _fsync_dir(directory)  # the rename itself is durable only once its directory is
        except FileNotFoundError:  # a delete of this very key has already pruned it: nothing to keep
            pass

    def _make_dirs(self, directory: str) -> None:
        """``os.makedirs``, with each new directory's entry made durable in its parent."""
        missing: builtins.list[str] = []
        while not os.path.isdir(directory):
            missing.append(directory)
            directory = os.path.dirname(directory)
        for new in reversed(missing):
            try:
                os.mkdir(new)
            except FileExistsError:  # another write made it meanwhile
                continue
            _fsync_dir(os.path.dirname(new))

    async def get_bytes(self, key: str) -> bytes:
        # One thread hop for open, read and close (aiofiles makes three): metadata reads on
        # shared storage (--processes) do this on every lookup.
        try:
            return await self._run(_read_whole, self._path(key))
        except (FileNotFoundError, NotADirectoryError):
            raise ObjectNotFound(key) from None

    async def stat(self, key: str) -> ObjectInfo:
        try:
            st = await aiofiles.os.stat(self._path(key))
        except (FileNotFoundError, NotADirectoryError):
            raise ObjectNotFound(key) from None
        return _info(key, st)

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        try:
            f = await aiofiles.open(self._path(key), "rb")
        except (FileNotFoundError, NotADirectoryError):
            raise ObjectNotFound(key) from None
        # An awaited aiofiles handle is not an async context manager: close it
        # ourselves, also when the consumer stops early (aclose/GeneratorExit).
        try:
            await f.seek(start)
            remaining = None if end is None else end - start
            while remaining is None or remaining > 0:
                size = _READ_CHUNK if remaining is None else min(_READ_CHUNK, remaining)
                chunk = await f.read(size)
                if not chunk:
                    break
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk
        finally:
            await f.close()

    async def list(self, prefix: str, *, start_after: str | None = None) -> AsyncIterator[str]:
        for key in await self._run(self._list_sorted, prefix, start_after):
            yield key

    def _list_sorted(self, prefix: str, start_after: str | None) -> builtins.list[str]:  # list(): a method here
        # Walk only the deepest directory the prefix names completely.
        head = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        top = os.path.join(self._objects, *head.split("/")) if head else self._objects
        keys: builtins.list[str] = []
        for dirpath, _dirs, files in os.walk(top):
            rel = os.path.relpath(dirpath, self._objects).replace(os.sep, "/")
            base = "" if rel == "." else rel + "/"
            keys.extend(base + name for name in files if (base + name).startswith(prefix))
        keys.sort()
        if start_after is not None:
            keys = [k for k in keys if k > start_after]
        return keys

    async def delete(self, key: str) -> None:
        await self._run(self._delete, self._path(key))

    def _delete(self, path: str) -> None:
        _unlink_quietly(path)
        self._prune_empty_parents(os.path.dirname(path))

    def _prune_empty_parents(self, directory: str) -> None:
        while directory.startswith(self._objects + os.sep):
            try:
                os.rmdir(directory)
            except OSError:
                return
            directory = os.path.dirname(directory)

    async def delete_prefix(self, prefix: str) -> int:
        if not validate_key(prefix).endswith("/"):
            raise ValueError("delete_prefix takes a prefix ending with '/'")
        return await self._run(self._delete_tree, self._path(prefix.rstrip("/")))

    def _delete_tree(self, directory: str) -> int:
        count = sum(len(files) for _d, _s, files in os.walk(directory))
        shutil.rmtree(directory, ignore_errors=True)
        self._prune_empty_parents(os.path.dirname(directory))
        return count

    def local_path(self, key: str) -> str | None:
        return self._path(key)


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _info(key: str, st: os.stat_result) -> ObjectInfo:
    return ObjectInfo(key, st.st_size, f"{st.st_mtime_ns:x}-{st.st_size:x}", st.st_mtime)


def _open_for_writing(path: str) -> BinaryIO:
    return open(path, "wb")  # closed by _finish or _discard, in another thread hop


def _discard(out: BinaryIO | None, tmp: str) -> None:
    """Close and remove the temp file of a write that did not complete."""
    if out is not None:
        with contextlib.suppress(OSError):
            out.close()
    _unlink_quietly(tmp)


def _read_whole(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()
