"""Bounds on the bytes of stored filter results: per image, and in all on private storage.

Every filter variant of an image is cached under it, so without a bound an image of a few
megabytes grows ten times over. After each result is stored, the least recently used results
go until the image's results fit ``per_image`` bytes, and (private storage: this process is the
only writer, so it knows every result) until all results fit ``total`` bytes. The result just
stored always stays, whatever its size. On shared storage (S3, local disk with ``--processes``)
other processes' reads are not seen and the store is not listed as a whole, so only the
per-image bound holds there, and
"least recently used" is "least recently stored" (the objects' Last-Modified). 0 means no bound.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Callable

from backends import ObjectNotFound, Storage
from filters_server.core.layout import IMAGES, RESULTS, resource_prefix


@dataclasses.dataclass(frozen=True)
class _Entry:
    resource_id: str
    size: int


def resource_of(key: str) -> str:
    return key.split("/", 2)[1]  # images/<id>/results/<name>


class ResultBounds:
    def __init__(
        self,
        storage: Storage,
        *,
        per_image: int = 0,
        total: int = 0,
        on_evicted: Callable[[int], object] | None = None,
    ) -> None:
        self.storage = storage
        self.per_image = per_image
        self.total = total if not storage.shared else 0
        self.on_evicted = on_evicted
        self._entries: OrderedDict[str, _Entry] = OrderedDict()  # least recently used first
        self._bytes_of: dict[str, int] = {}  # resource id -> bytes of its results
        self.stored_bytes = 0  # every result this process knows of

    async def load(self) -> None:
        """Learn the results already stored (private storage), oldest first."""
        if self.storage.shared:
            return
        found = []
        async for key in self.storage.list(IMAGES):
            if f"/{RESULTS}" in key:
                try:
                    found.append(await self.storage.stat(key))
                except ObjectNotFound:
                    continue
        for info in sorted(found, key=lambda info: info.last_modified):
            self._add(info.key, info.size)

    def used(self, key: str) -> None:
        """A stored result was just served: it is now the most recently used."""
        if key in self._entries:
            self._entries.move_to_end(key)

    def forget_resource(self, resource_id: str) -> None:
        """The resource and its results are gone."""
        for key in [key for key, entry in self._entries.items() if entry.resource_id == resource_id]:
            self._drop(key)

    async def stored(self, key: str, size: int) -> None:
        """``key`` was just stored: account for it, then evict what the bounds no longer admit."""
        if self.storage.shared:
            await self._bound_shared(key)
            return
        self._add(key, size)
        resource_id = resource_of(key)
        if self.per_image:
            while self._bytes_of.get(resource_id, 0) > self.per_image:
                victim = next(k for k, entry in self._entries.items() if entry.resource_id == resource_id)
                if victim == key:
                    break
                await self._evict(victim)
        if self.total:
            while self.stored_bytes > self.total:
                victim = next(iter(self._entries))
                if victim == key:
                    break
                await self._evict(victim)

    async def _bound_shared(self, key: str) -> None:
        if not self.per_image:
            return
        prefix = resource_prefix(resource_of(key)) + RESULTS
        infos = []
        async for other in self.storage.list(prefix):
            if other != key:
                try:
                    infos.append(await self.storage.stat(other))
                except ObjectNotFound:
                    continue
        try:
            used = (await self.storage.stat(key)).size + sum(info.size for info in infos)
        except ObjectNotFound:
            return
        for info in sorted(infos, key=lambda info: info.last_modified):
            if used <= self.per_image:
                return
            await self.storage.delete(info.key)
            used -= info.size
            if self.on_evicted is not None:
                self.on_evicted(info.size)

    def _add(self, key: str, size: int) -> None:
        self._drop(key)
        entry = _Entry(resource_of(key), size)
        self._entries[key] = entry
        self._bytes_of[entry.resource_id] = self._bytes_of.get(entry.resource_id, 0) + size
        self.stored_bytes += size

    def _drop(self, key: str) -> _Entry | None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self.stored_bytes -= entry.size
            left = self._bytes_of[entry.resource_id] - entry.size
            if left:
                self._bytes_of[entry.resource_id] = left
            else:
                del self._bytes_of[entry.resource_id]
        return entry

    async def _evict(self, key: str) -> None:
        entry = self._drop(key)  # off the books first: a concurrent eviction never picks it twice
        await self.storage.delete(key)
        if entry is not None and self.on_evicted is not None:
            self.on_evicted(entry.size)
