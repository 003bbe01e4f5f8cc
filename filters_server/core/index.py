"""The lifetime-aware resource index: "does this id exist for this user, until when".

On a private backend (memory, local disk) this process is the only writer, so
the in-memory map is authoritative once loaded at start. On a shared backend
(S3) the backend is the source of truth: every lookup reads the metadata
through, so a replica never serves what another has deleted (invariant 3).
Expired resources are invisible at once and removed by :class:`Sweeper`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from backends import ObjectNotFound, Storage, StorageUnavailable

from .resources import (EXPIRY, IMAGES, META_NAME, Resource, expiry_key, meta_key, parse_expiry_key,
                        resource_prefix)

Clock = Callable[[], float]
log = logging.getLogger(__name__)
_LOAD_CONCURRENCY = 16


class ResourceNotFound(LookupError):
    """Unknown, expired, or someone else's: all look the same (invariant 5)."""


class ResourceIndex:
    def __init__(self, storage: Storage, clock: Clock) -> None:
        self.storage = storage
        self.clock = clock
        self._cache: dict[str, Resource] = {}

    def __len__(self) -> int:
        return len(self._cache)

    async def load(self) -> int:
        """Rebuild the map from the metadata in storage (private backends only)."""
        if self.storage.shared:
            return 0
        keys = [key async for key in self.storage.list(IMAGES) if key.endswith("/" + META_NAME)]
        limit = asyncio.Semaphore(_LOAD_CONCURRENCY)

        async def load_one(key: str) -> None:
            async with limit:
                try:
                    resource = Resource.from_json(await self.storage.get_bytes(key))
                except (ObjectNotFound, ValueError, TypeError, KeyError):
                    log.warning("ignoring unreadable metadata %s", key)
                    return
                self._cache[resource.id] = resource

        await asyncio.gather(*(load_one(key) for key in keys))
        return len(self._cache)

    async def reserve(self, resource_id: str, expires: float) -> None:
        """Write the expiry marker first, so even a crashed upload's bytes get swept."""
        await self.storage.put_bytes(expiry_key(expires, resource_id), b"")

    async def commit(self, resource: Resource) -> None:
        """Make a resource visible: its metadata is the last object written."""
        await self.storage.put_bytes(meta_key(resource.id), resource.to_json())
        self._cache[resource.id] = resource

    async def get(self, owner: str, resource_id: str) -> Resource:
        resource = self._cache.get(resource_id)
        if self.storage.shared:
            try:
                resource = Resource.from_json(await self.storage.get_bytes(meta_key(resource_id)))
            except ObjectNotFound:
                self._cache.pop(resource_id, None)
                resource = None
        if resource is None or resource.owner != owner or resource.expired(self.clock()):
            raise ResourceNotFound(resource_id)
        return resource

    async def remove(self, resource: Resource) -> None:
        """Remove a resource's metadata first (invisible at once), then everything else."""
        self._cache.pop(resource.id, None)
        await self.storage.delete(meta_key(resource.id))
        await self.discard(resource.id, resource.expires)

    async def discard(self, resource_id: str, expires: float) -> None:
        """Remove every object of a resource and its marker; harmless if already gone."""
        self._cache.pop(resource_id, None)
        await self.storage.delete_prefix(resource_prefix(resource_id))
        await self.storage.delete(expiry_key(expires, resource_id))

    async def sweep(self, batch: int = 1000) -> int:
        """Remove every resource whose expiry has passed; return how many.

        Works in batches so memory stays bounded however much is due; with
        several replicas sweeping at once, deletes are idempotent.
        """
        now = self.clock()
        removed = 0
        while True:
            due: list[tuple[float, str]] = []
            async for key in self.storage.list(EXPIRY):
                expires, resource_id = parse_expiry_key(key)
                if expires > now or len(due) >= batch:
                    break  # keys are time-ordered: nothing later is due
                due.append((expires, resource_id))
            for expires, resource_id in due:
                await self.discard(resource_id, expires)
            removed += len(due)
            if len(due) < batch:
                return removed


class Sweeper:
    """Runs :meth:`ResourceIndex.sweep` every ``interval`` seconds until cancelled."""

    def __init__(self, index: ResourceIndex, interval: float,
                 on_swept: Callable[[int], object] | None = None) -> None:
        self.index = index
        self.interval = interval
        self.on_swept = on_swept
        self.removed_total = 0

    async def run(self) -> None:
        while True:
            try:
                removed = await self.index.sweep()
            except asyncio.CancelledError:
                raise
            except StorageUnavailable as exc:  # an outage: one line per attempt, no traceback
                log.warning("sweep skipped, storage unavailable: %s", exc)
            except Exception:  # keep sweeping after anything else, loudly
                log.exception("sweep failed")
            else:
                self.removed_total += removed
                if removed:
                    log.info("swept %d expired resources", removed)
                    if self.on_swept is not None:
                        self.on_swept(removed)
            await asyncio.sleep(self.interval)
