"""The lifetime-aware resource index: "does this id exist for this user, until when".

On a private backend (memory, local disk) this process is the only writer, so the in-memory
map is authoritative once loaded at start. On a shared backend (S3) the backend is the source
of truth: every lookup reads the metadata through, so a replica never serves what another has
deleted. Processes that share one local disk (``--processes``) also share a count of removals
(:mod:`filters_server.core.removals`): each keeps what it has read while the count stays as it
was, and checks the store again once any process has removed something. Expired resources are
invisible at once and removed by :class:`filters_server.core.sweeper.Sweeper`. The order of
writes and deletes is the one docs/architecture.md ("Storage invariants") describes.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import heapq
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from backends import ObjectInfo, ObjectNotFound, Storage
from filters_server.core.errors import LifetimeUsedUp, ResourceNotFound
from filters_server.core.layout import (
    EXPIRY,
    IMAGES,
    META_NAME,
    expiry_key,
    media_key,
    meta_key,
    parse_expiry_key,
    resource_prefix,
)
from filters_server.core.pngcheck import PngInfo
from filters_server.core.removals import Removals
from filters_server.core.resource import Resource, new_id

Clock = Callable[[], float]
log = logging.getLogger(__name__)
_LOAD_CONCURRENCY = 16
# A resource is committed only with at least this much lifetime left (or half its TTL, if shorter):
# its metadata must be written well before the sweeper may remove its expiry marker, else the
# metadata would outlive everything that makes it expire.
COMMIT_MARGIN_SECONDS = 60.0

# Listing an owner's resources on shared storage (S3) reads expiry markers (1 LIST call per 1000 live
# resources of every user) and then metadata objects (1 GET each) from the newest down until a page is full.
# Both are capped per request so one listing never costs more than this, however full the bucket is.
LIST_MAX_MARKERS = 100_000
LIST_MAX_METADATA_READS = 2_000

Position = tuple[int, str]  # (expires in ms, id): a resource's place in a listing, latest expiry first


def position(resource: Resource) -> Position:
    return int(resource.expires * 1000), resource.id


@dataclasses.dataclass(frozen=True)
class Listing:
    """One page of an owner's live resources, latest expiry (newest) first.

    ``resume`` is where the next page starts (exclusive), or None when nothing follows. A page on
    shared storage may hold fewer items than asked for while ``resume`` is set: the scan stopped
    at its per-request cap, not at the end.
    """

    items: list[Resource]
    resume: Position | None


@dataclasses.dataclass(frozen=True)
class StoredMedia:
    """A validated 16-bit grayscale PNG, completely written to storage."""

    png: PngInfo
    stored: ObjectInfo


@dataclasses.dataclass
class Reservation:
    """An id whose expiry marker is written; the media goes to ``media_key``, then :meth:`commit`."""

    index: ResourceIndex
    id: str
    owner: str
    created_on: float
    expires: float
    committed: Resource | None = None

    @property
    def media_key(self) -> str:
        return media_key(self.id)

    async def commit(
        self,
        image_info: dict[str, Any],
        media: StoredMedia,
        modality_session: dict[str, str] | None = None,
        dicom: dict[str, Any] | None = None,
    ) -> Resource:
        """Write the metadata (the last object of a resource): from now on it exists.

        :class:`LifetimeUsedUp` if the resource's expiry has passed or is too close (the
        reservation then removes everything).
        """
        margin = min(COMMIT_MARGIN_SECONDS, (self.expires - self.created_on) / 2)
        if self.expires - self.index.clock() < margin:
            raise LifetimeUsedUp()
        resource = Resource(
            id=self.id,
            owner=self.owner,
            created_on=self.created_on,
            expires=self.expires,
            image_info=image_info,
            media_type="image/png",
            media_size=media.stored.size,
            media_etag=media.stored.etag,
            width=media.png.width,
            height=media.png.height,
            modality_session=modality_session,
            dicom=dicom,
        )
        await self.index.commit(resource)
        self.committed = resource
        return resource


class ResourceIndex:
    def __init__(self, storage: Storage, clock: Clock, removals: Removals | None = None) -> None:
        """``removals``: the count shared by the processes of one shared store (``--processes``);
        without it a shared store is read through on every lookup."""
        self.storage = storage
        self.clock = clock
        self.removals = removals if storage.shared else None
        self._cache: dict[str, Resource] = {}
        self._read_at: dict[str, int] = {}  # shared store: the removal generation each entry was last seen at
        self.discard_listeners: list[Callable[[str], object]] = []  # told the id of each resource removed

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

    @contextlib.asynccontextmanager
    async def reservation(self, owner: str, ttl_seconds: float) -> AsyncIterator[Reservation]:
        """Reserve a new id for ``owner``: expiry marker first, so even a crashed upload's bytes get swept.

        The body stores the media under ``slot.media_key`` and calls ``slot.commit(...)``. If it
        raises (or is cancelled), or leaves without committing, everything of the attempt is
        removed before the exception goes on.
        """
        created_on = self.clock()
        slot = Reservation(self, new_id(), owner, created_on, created_on + ttl_seconds)
        await self.storage.put_bytes(expiry_key(slot.expires, slot.id), b"")
        try:
            yield slot
        except BaseException:
            await asyncio.shield(self.discard(slot.id, slot.expires))
            raise
        if slot.committed is None:
            await asyncio.shield(self.discard(slot.id, slot.expires))

    async def commit(self, resource: Resource) -> None:
        """Make a resource visible: its metadata is the last object written."""
        generation = self._generation()
        await self.storage.put_bytes(meta_key(resource.id), resource.to_json())
        self._keep(resource, generation)

    async def get(self, owner: str, resource_id: str, *, fresh: bool = False) -> Resource:
        """The owner's live resource, or :class:`ResourceNotFound` (unknown, expired, foreign alike).

        ``fresh``: on a shared store, ask the store even if no removal was counted since it was read.
        """
        resource = self._cache.get(resource_id)
        if self.storage.shared and (fresh or resource is None or not self._still_current(resource_id)):
            resource = await self._read_through(resource_id, resource)
        if resource is None or resource.owner != owner or resource.expired(self.clock()):
            raise ResourceNotFound()
        return resource

    def _generation(self) -> int | None:
        return self.removals.generation() if self.removals is not None else None

    def _keep(self, resource: Resource, generation: int | None) -> None:
        """Remember ``resource``, known to exist when the removal count was ``generation``."""
        if self.storage.shared and generation is None:
            return  # read through on every lookup: nothing to remember
        self._cache[resource.id] = resource
        if generation is not None:
            self._read_at[resource.id] = generation

    def _forget(self, resource_id: str) -> None:
        self._cache.pop(resource_id, None)
        self._read_at.pop(resource_id, None)

    def _still_current(self, resource_id: str) -> bool:
        """No process has removed anything since this process last saw ``resource_id`` in the store."""
        return self.removals is not None and self._read_at.get(resource_id) == self.removals.generation()

    async def _read_through(self, resource_id: str, known: Resource | None) -> Resource | None:
        """The resource as the shared store has it now (None if it is gone).

        The removal count is taken *before* asking the store, so a removal that happens meanwhile
        leaves the entry behind the count: the next lookup asks again. A resource never changes
        once written, so one already known only needs its metadata to still exist.
        """
        generation = self._generation()
        try:
            if known is not None:
                await self.storage.stat(meta_key(resource_id))
                resource = known
            else:
                resource = Resource.from_json(await self.storage.get_bytes(meta_key(resource_id)))
        except ObjectNotFound:
            self._forget(resource_id)
            return None
        self._keep(resource, generation)
        return resource

    async def owned(self, owner: str, limit: int, after: Position | None = None) -> Listing:
        """The owner's live resources, latest expiry first (newest first: every resource gets the same TTL).

        ``after`` is the ``resume`` of the previous page. Nobody else's resource is ever read into
        the answer. Private storage answers from the in-memory map; shared storage scans it (see
        :data:`LIST_MAX_MARKERS`, :data:`LIST_MAX_METADATA_READS` for the bound).
        """
        if self.storage.shared:
            return await self._scan_owned(owner, limit, after)
        now = self.clock()
        mine = (
            r
            for r in self._cache.values()
            if r.owner == owner and not r.expired(now) and (after is None or position(r) < after)
        )
        page = heapq.nlargest(limit + 1, mine, key=position)
        return Listing(page[:limit], position(page[limit - 1]) if len(page) > limit else None)

    async def _scan_owned(self, owner: str, limit: int, after: Position | None) -> Listing:
        now = self.clock()
        markers: list[Position] = []
        async for key in self.storage.list(EXPIRY, start_after=expiry_key(now, "")):
            expires, resource_id = parse_expiry_key(key)
            spot = (round(expires * 1000), resource_id)
            if after is not None and spot >= after:
                break  # markers are time-ordered: the rest were on earlier pages
            markers.append(spot)
            if len(markers) >= LIST_MAX_MARKERS:
                break
        markers.reverse()  # newest first
        found: list[Resource] = []
        reads = 0
        last: Position | None = None
        limiter = asyncio.Semaphore(_LOAD_CONCURRENCY)

        async def read(spot: Position) -> Resource | None:
            async with limiter:
                try:
                    return Resource.from_json(await self.storage.get_bytes(meta_key(spot[1])))
                except ObjectNotFound:  # an upload in progress or a resource being removed
                    return None

        while markers and len(found) <= limit and reads < LIST_MAX_METADATA_READS:
            batch, markers = markers[:_LOAD_CONCURRENCY], markers[_LOAD_CONCURRENCY:]
            reads += len(batch)
            for spot, resource in zip(batch, await asyncio.gather(*(read(s) for s in batch)), strict=True):
                if resource is not None and resource.owner == owner and not resource.expired(now):
                    found.append(resource)
                    if len(found) > limit:  # one more than a page: the page ends at the previous one
                        return Listing(found[:limit], position(found[limit - 1]))
                last = spot
        # Stopped at the read cap with markers left: the next page goes on from the last marker read.
        return Listing(found, last if markers else None)

    async def exists(self, resource: Resource) -> bool:
        """Whether ``resource`` still exists, asked of the store itself when it is shared (callers
        use it to avoid leaving objects behind a resource deleted meanwhile)."""
        try:
            await self.get(resource.owner, resource.id, fresh=True)
        except ResourceNotFound:
            return False
        return True

    async def remove(self, resource: Resource) -> None:
        """Remove a resource's metadata first (invisible at once), then everything else."""
        self._forget(resource.id)
        try:
            await self.storage.delete(meta_key(resource.id))
        finally:  # even if the delete failed: it may have happened, and the others must look again
            self._count_removal()
        await self.discard(resource.id, resource.expires)

    async def discard(self, resource_id: str, expires: float) -> None:
        """Remove every object of a resource and its marker; harmless if already gone."""
        self._forget(resource_id)
        try:
            await self.storage.delete_prefix(resource_prefix(resource_id))
            await self.storage.delete(expiry_key(expires, resource_id))
        finally:  # some objects may be gone even if a delete failed
            self._count_removal()
        for listener in self.discard_listeners:
            listener(resource_id)

    def _count_removal(self) -> None:
        if self.removals is not None:
            self.removals.count()

    async def sweep(self, batch: int = 1000) -> int:
        """Remove every resource whose expiry has passed; return how many.

        Works in batches so memory stays bounded however much is due; with several replicas
        sweeping at once, deletes are idempotent.
        """
        now = self.clock()
        if self.removals is not None:  # what other processes swept stays here until it expires
            for resource_id in [r.id for r in self._cache.values() if r.expired(now)]:
                self._forget(resource_id)
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
