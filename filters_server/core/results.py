"""The result cache: filter outputs computed once, stored under their resource, answered by ETag.

A result is stored under its resource (``images/<id>/results/<name>``), so it shares the
resource's lifetime and goes with it on delete or expiry. Outputs are deterministic, so a
result's ETag is derived from the source media's ETag and the canonical request: it is known
before any work, a conditional repeat costs nothing, and a recomputed result carries the same
ETag. The first answer goes out before the cache write (an fsync on local disk) has finished;
repeats that arrive meanwhile are answered from memory. See docs/architecture.md, "A filter
request".
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from backends import ObjectInfo, ObjectNotFound
from filters_server import imaging
from filters_server.core.background import BackgroundTasks
from filters_server.core.decoded import DecodedImages
from filters_server.core.errors import MediaGone, UnusableImageInfo
from filters_server.core.index import ResourceIndex
from filters_server.core.layout import media_key, result_key
from filters_server.core.pixel_budget import PixelBudget, job_bytes
from filters_server.core.resource import Resource
from filters_server.core.result_bounds import ResultBounds
from filters_server.core.workers import WorkerPool
from filters_server.imaging.dicom import MEDIA_TYPE as DICOM_MEDIA_TYPE


def filter_lut(resource: Resource) -> imaging.Lut:
    """The resource's contrast map, checked: a filter cannot run without a usable one."""
    info = resource.image_info.get("lutInfo")
    if not info:
        raise UnusableImageInfo("The resource's imageInfo has no lutInfo, so no filter can be applied.")
    lut = imaging.Lut(
        gamma=info["gamma"],
        slope=info["slope"],
        offset=info["offset"],
        total_grays=info["totalGrays"],
        minimum_gray=info["minimumGray"],
        maximum_gray=info["maximumGray"],
    )
    try:
        imaging.check_lut(lut)
    except imaging.DegenerateLut as exc:
        raise UnusableImageInfo(f"The resource's imageInfo.lutInfo makes the map degenerate: {exc}.") from None
    return lut


@dataclasses.dataclass(frozen=True)
class FilterJob:
    """One filter request on one resource, in canonical form: what is computed, cached and tagged."""

    resource: Resource
    name: str
    params: Mapping[str, Any]
    media_type: str
    lut: imaging.Lut

    @property
    def result_name(self) -> str:
        canonical = json.dumps(self.params, sort_keys=True, separators=(",", ":"))
        digest = hashlib.blake2b(canonical.encode(), digest_size=8).hexdigest()
        return f"{self.name}-{digest}.{imaging.OUTPUT_FORMATS[self.media_type]}"

    @property
    def key(self) -> str:
        return result_key(self.resource.id, self.result_name)

    @property
    def etag(self) -> str:
        """Unquoted; the same for every computation of this job on this media."""
        return hashlib.blake2b(f"{self.resource.media_etag}/{self.result_name}".encode(), digest_size=16).hexdigest()


@dataclasses.dataclass(frozen=True)
class Cached:
    """A result already computed: still in memory (being stored), or in storage."""

    body: bytes | None = None
    stored: ObjectInfo | None = None


class ResultCache:
    def __init__(
        self,
        index: ResourceIndex,
        decoded: DecodedImages,
        workers: WorkerPool,
        background: BackgroundTasks,
        on_stored: Callable[[int], object] | None = None,
        pixels: PixelBudget | None = None,
        bounds: ResultBounds | None = None,
    ) -> None:
        self.index = index
        self.decoded = decoded
        self.workers = workers
        self.pixels = pixels or PixelBudget(2**63)
        self.bounds = bounds or ResultBounds(index.storage)
        self.background = background
        self.on_stored = on_stored
        self._being_stored: dict[str, bytes] = {}  # key -> output whose cache write has not finished

    def job(self, resource: Resource, name: str, params: Mapping[str, Any], media_type: str) -> FilterJob:
        return FilterJob(resource, name, params, media_type, filter_lut(resource))

    async def find(self, job: FilterJob) -> Cached | None:
        body = self._being_stored.get(job.key)
        if body is not None:
            return Cached(body=body)
        try:
            stored = await self.index.storage.stat(job.key)
        except ObjectNotFound:
            return None
        self.bounds.used(job.key)
        return Cached(stored=stored)

    async def compute(self, job: FilterJob) -> bytes:
        """Decode (unless a decoded source is at hand), filter and encode in the worker pool; store behind."""
        resource = job.resource
        # The pool's place and the job's pixel memory first: when either is short the answer is
        # at once, before megabytes are read from storage.
        need = job_bytes(job.name, resource.width, resource.height)
        with self.workers.reserve() as slot, self.pixels.hold(need):
            image = self.decoded.get(resource.id, resource.media_etag)
            source = None
            if image is None:
                try:
                    source = await self.index.storage.get_bytes(media_key(resource.id))
                except ObjectNotFound:
                    raise MediaGone("The media of this image resource can no longer be read from storage.") from None
            try:
                decoded, output = await slot.run(_filter_job, job, source, image)
            except ValueError as exc:  # undecodable stored media: the resource is unusable
                raise MediaGone(f"The media of this image resource cannot be decoded: {exc}.") from None
        self.decoded.put(resource.id, resource.media_etag, decoded)
        self._being_stored[job.key] = output
        self.background.spawn(self._store(job, output))
        return output

    async def _store(self, job: FilterJob, output: bytes) -> None:
        try:
            await self.index.storage.put_bytes(job.key, output)
        finally:
            self._being_stored.pop(job.key, None)
        if self.on_stored is not None:
            self.on_stored(len(output))
        # A delete that ran meanwhile must not leave this result behind (nothing outlives its resource).
        if not await self.index.exists(job.resource):
            await self.index.storage.delete(job.key)
            return
        await self.bounds.stored(job.key, len(output))


def _filter_job(job: FilterJob, source: bytes | None, image: np.ndarray | None) -> tuple[np.ndarray, bytes]:
    """One worker call: decode unless already decoded, then filter and encode."""
    if image is None:
        assert source is not None
        image = imaging.decode_png16(source)
    resource = job.resource
    pixels, white = imaging.filter_pixels(job.name, image, job.lut, binned=resource.binned, params=job.params)
    dicom = None
    if job.media_type == DICOM_MEDIA_TYPE:
        dicom = imaging.DicomContext(
            resource.id, resource.created_on, job.name, job.lut, resource.binned, job.params, resource.dicom or {}
        )
    return image, imaging.render(pixels, job.media_type, white=white, dicom=dicom)
