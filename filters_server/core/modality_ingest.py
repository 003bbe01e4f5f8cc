"""Ingest from a Modality session: an image of a live session, fetched, validated and checked.

The server fetches the image's PNG from the Modality API and streams it into storage through
the same validator as uploads (:func:`filters_server.core.ingest.store_png`), checks that its
dimensions are the ImageInfo's, and that ``pixelHash`` matches the decoded pixels. Every
failure is a domain error: the Modality API not knowing the image is
:class:`UpstreamNotFound`; it being unreachable, or sending garbage, a corrupt PNG, other
dimensions or other pixels is :class:`UpstreamFailed`.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from backends import Storage
from filters_server import imaging
from filters_server.clients.modality import (
    ModalityBadId,
    ModalityClient,
    ModalityNotFound,
    ModalityUnavailable,
    verify_pixel_hash,
)
from filters_server.core.errors import InvalidInput, UpstreamFailed, UpstreamNotFound
from filters_server.core.index import StoredMedia
from filters_server.core.ingest import Budget, counted, store_png
from filters_server.core.pixel_budget import PixelBudget, job_bytes
from filters_server.core.pngcheck import InvalidPng, PngRejected
from filters_server.core.workers import WorkerPool

log = logging.getLogger(__name__)


@contextlib.contextmanager
def modality_errors(ref: dict[str, str]) -> Iterator[None]:
    """The Modality client's errors as domain errors."""
    try:
        yield
    except ModalityBadId as exc:
        raise InvalidInput(f"Not a usable Modality id ({exc}).") from None
    except ModalityNotFound:
        raise UpstreamNotFound(
            f"The Modality API has no session {ref['sessionId']!r} with image {ref['imageId']!r}."
        ) from None
    except ModalityUnavailable as exc:
        # The details (URLs, errors) go to the log, not to the client.
        log.warning("Modality API unavailable: %s", exc)
        raise UpstreamFailed("The Modality API could not be reached or answered unexpectedly.") from None


async def fetch_media(
    client: ModalityClient, ref: dict[str, str], storage: Storage, key: str, *, max_pixels: int, max_bytes: int
) -> StoredMedia:
    """Stream the image's PNG from the Modality API into storage, validating it on the way."""
    with modality_errors(ref):
        async with client.stream_media(ref["sessionId"], ref["imageId"]) as stream:
            # No idle wait of ours: the Modality client bounds each read itself.
            chunks = counted(aiter(stream), Budget(max_bytes, "The modality image", idle_timeout=math.inf))
            try:
                return await store_png(storage, key, chunks, max_pixels=max_pixels)
            except InvalidPng as exc:
                log.warning("corrupt PNG from the Modality API: %s", exc)
                raise UpstreamFailed(f"The Modality API sent a corrupt PNG: {exc}.") from None
            except PngRejected as exc:  # not 16-bit grayscale, or over --max-pixels: the same kind of answer
                raise type(exc)(f"The modality image is unusable: {exc}.") from None


def check_dimensions(raw: dict[str, Any], media: StoredMedia) -> None:
    """The PNG must be the image the ImageInfo describes."""
    folded = {key.lower(): value for key, value in raw.items() if isinstance(key, str)}
    width, height = folded.get("width"), folded.get("height")
    if (
        isinstance(width, (int, float))
        and isinstance(height, (int, float))
        and (width, height) != (media.png.width, media.png.height)
    ):
        raise UpstreamFailed(
            f"The Modality API's media is {media.png.width}x{media.png.height} pixels, "
            f"its ImageInfo says {width}x{height}."
        )


async def check_pixel_hash(
    storage: Storage, workers: WorkerPool, pixels: PixelBudget, key: str, media: StoredMedia, raw: dict[str, Any]
) -> None:
    """Decode the stored PNG in the worker pool and compare with ``pixelHash`` (if there is one)."""
    need = job_bytes("pixelHash", media.png.width, media.png.height)
    with workers.reserve() as slot, pixels.hold(need):  # before reading the source: refusing costs nothing
        source = await storage.get_bytes(key)
        try:
            matches = await slot.run(_pixel_hash_matches, source, raw)
        except ValueError as exc:
            raise UpstreamFailed(f"The Modality API's PNG cannot be decoded: {exc}.") from None
    if matches is False:
        raise UpstreamFailed("pixelHash mismatch: the pixels received differ from those the Modality API hashed.")


def _pixel_hash_matches(source: bytes, raw: dict[str, Any]) -> bool | None:
    """Worker thread. None when the ImageInfo has no usable pixelHash (nothing to check)."""
    pixels: np.ndarray = imaging.decode_png16(source)
    return verify_pixel_hash(raw, pixels)
