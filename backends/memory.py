"""In-process storage: for tests and the in-process test server."""

from __future__ import annotations

import asyncio
import bisect
import builtins
import hashlib
import time
from collections.abc import AsyncIterator

from . import ObjectInfo, ObjectNotFound, validate_key

_READ_CHUNK = 256 * 1024


class MemoryStorage:
    """Objects in a dict; keys kept sorted for ordered listing."""

    shared = False

    def __init__(self) -> None:
        self._objects: dict[str, tuple[bytes, ObjectInfo]] = {}
        self._sorted: list[str] = []

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def ping(self) -> None:
        return None

    async def put(self, key: str, chunks: AsyncIterator[bytes]) -> ObjectInfo:
        validate_key(key)
        parts = [bytes(chunk) async for chunk in chunks]
        return self._commit(key, b"".join(parts))

    async def put_bytes(self, key: str, data: bytes) -> ObjectInfo:
        validate_key(key)
        return self._commit(key, bytes(data))

    def _commit(self, key: str, data: bytes) -> ObjectInfo:
        info = ObjectInfo(key, len(data), hashlib.blake2b(data, digest_size=16).hexdigest(), time.time())
        if key not in self._objects:
            bisect.insort(self._sorted, key)
        self._objects[key] = (data, info)
        return info

    async def get_bytes(self, key: str) -> bytes:
        return self._get(key)[0]

    async def stat(self, key: str) -> ObjectInfo:
        return self._get(key)[1]

    def _get(self, key: str) -> tuple[bytes, ObjectInfo]:
        try:
            return self._objects[key]
        except KeyError:
            raise ObjectNotFound(key) from None

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        data = self._get(key)[0]
        stop = len(data) if end is None else min(end, len(data))
        view = memoryview(data)
        for offset in range(start, stop, _READ_CHUNK):
            yield bytes(view[offset : min(offset + _READ_CHUNK, stop)])
            await asyncio.sleep(0)

    async def list(self, prefix: str, *, start_after: str | None = None) -> AsyncIterator[str]:
        lo = bisect.bisect_right(self._sorted, start_after) if start_after else bisect.bisect_left(self._sorted, prefix)
        for key in list(self._sorted[lo:]):
            if key < prefix:
                continue
            if not key.startswith(prefix):
                break
            yield key

    async def delete(self, key: str) -> None:
        if self._objects.pop(key, None) is not None:
            self._sorted.remove(key)

    async def delete_prefix(self, prefix: str) -> int:
        if not validate_key(prefix).endswith("/"):
            raise ValueError("delete_prefix takes a prefix ending with '/'")
        keys = [key async for key in self.list(prefix)]
        for key in keys:
            await self.delete(key)
        return len(keys)

    def local_path(self, key: str) -> str | None:
        return None

    # Test helpers: what a test asserts "nothing left behind" against.
    def keys(self) -> builtins.list[str]:  # the class's own list() shadows the builtin here
        return list(self._sorted)
