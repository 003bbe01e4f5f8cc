"""``POST /images/modality``: an image resource made from an image of a live Modality session.

The body names the image (``{"sessionId", "imageId"}``, keys in any case). The server fetches
its ImageInfo from the Modality API, streams its PNG into storage through the same validator as
uploads (:func:`intake.store_png`), checks ``pixelHash`` against the decoded pixels, and commits
the resource with its ``modalitySession``. From then on every lookup checks that the session is
still active (:mod:`sessions`).

Status codes where the spec is silent: 400 for a bad body or an id the Modality API could not
be asked about, and for a raw image (``lutInfo`` null: no filter can run without the map); 404
when the Modality API does not know the session or image; 415 when its media is not a 16-bit
grayscale PNG; 502 when the Modality API is unreachable, answers garbage, sends a corrupt PNG,
or sends pixels that do not match ``pixelHash``; 501 without ``--modality-url``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from aiohttp import web

from backends import Storage

from . import imaging, keys
from .images import NewResource, create_resource
from .intake import Budget, StoredPng, counted, store_png
from .jsonbody import read_json_body
from .modality import ModalityBadId, ModalityClient, ModalityNotFound, ModalityUnavailable, verify_pixel_hash
from .pngcheck import InvalidPng, PngRejected
from .problems import Problem
from .resources import media_key
from .schemas import IMAGE_INFO, MODALITY_SESSION, load_or_raise
from .workers import PoolSaturated

routes = web.RouteTableDef()
log = logging.getLogger(__name__)


@routes.post("/images/modality")
async def create_modality_image(request: web.Request) -> web.Response:
    ref = await read_reference(request)  # a malformed body is 400 whether or not we could serve it
    client = request.app.get(keys.MODALITY)
    if client is None:
        raise Problem(501, "Modality resources need --modality-url (the DSIO Modality API to read images from).")
    with modality_errors(ref):
        raw_info = await client.get_image_info(ref["sessionId"], ref["imageId"])
    image_info = canonical_image_info(raw_info)
    settings = request.app[keys.SETTINGS]
    storage = request.app[keys.INDEX].storage

    async def intake(resource_id: str) -> NewResource:
        key = media_key(resource_id)
        media = await fetch_media(client, ref, storage, key, max_pixels=settings.max_pixels,
                                  max_bytes=settings.max_upload_bytes)
        check_dimensions(raw_info, media)
        await check_pixel_hash(request.app, key, raw_info)
        return NewResource(image_info, media, modality_session=ref)

    return await create_resource(request, intake)


async def read_reference(request: web.Request) -> dict[str, str]:
    """The body's ``{"sessionId", "imageId"}`` (any key case), or 400/408/413."""
    ref = await read_json_body(request, MODALITY_SESSION, "modality session")
    return {"sessionId": ref["sessionId"], "imageId": ref["imageId"]}


@contextlib.contextmanager
def modality_errors(ref: dict[str, str]) -> Iterator[None]:
    """Map the Modality client's errors to this API's answers."""
    try:
        yield
    except ModalityBadId as exc:
        raise Problem(400, f"Not a usable Modality id ({exc}).") from None
    except ModalityNotFound:
        raise Problem(404, f"The Modality API has no session {ref['sessionId']!r} "
                           f"with image {ref['imageId']!r}.") from None
    except ModalityUnavailable as exc:
        # The details (URLs, errors) go to the log, not to the client.
        log.warning("Modality API unavailable: %s", exc)
        raise Problem(502, "The Modality API could not be reached or answered unexpectedly.") from None


def canonical_image_info(raw: dict[str, Any]) -> dict[str, Any]:
    """The Modality ImageInfo -> the Filters API's ImageInfo (acquisitionInfo.binning + lutInfo)."""
    folded = {key.lower(): value for key, value in raw.items() if isinstance(key, str)}
    if folded.get("lutinfo") is None:
        raise Problem(400, "The modality image has no lutInfo: it is a raw image (acquired with applyLut "
                           "false), and filters need its contrast map.")
    try:
        return load_or_raise(IMAGE_INFO, raw, "ImageInfo from the Modality API")
    except ValueError as exc:
        log.warning("unusable ImageInfo from the Modality API: %s", exc)
        raise Problem(502, f"The Modality API sent an unusable ImageInfo: {exc}.") from None


async def fetch_media(client: ModalityClient, ref: dict[str, str], storage: Storage, key: str, *,
                      max_pixels: int, max_bytes: int) -> StoredPng:
    """Stream the image's PNG from the Modality API into storage, validating it on the way."""
    with modality_errors(ref):
        async with client.stream_media(ref["sessionId"], ref["imageId"]) as stream:
            chunks = counted(aiter(stream), Budget(max_bytes, "The modality image"))
            try:
                return await store_png(storage, key, chunks, max_pixels=max_pixels)
            except InvalidPng as exc:
                log.warning("corrupt PNG from the Modality API: %s", exc)
                raise Problem(502, f"The Modality API sent a corrupt PNG: {exc}.") from None
            except PngRejected as exc:  # 415 not 16-bit grayscale, 413 over --max-pixels
                raise Problem(exc.status, f"The modality image is unusable: {exc}.") from None


def check_dimensions(raw: dict[str, Any], media: StoredPng) -> None:
    """The PNG must be the image the ImageInfo describes."""
    folded = {key.lower(): value for key, value in raw.items() if isinstance(key, str)}
    width, height = folded.get("width"), folded.get("height")
    if isinstance(width, (int, float)) and isinstance(height, (int, float)) \
            and (width, height) != (media.png.width, media.png.height):
        raise Problem(502, f"The Modality API's media is {media.png.width}x{media.png.height} pixels, "
                           f"its ImageInfo says {width}x{height}.")


async def check_pixel_hash(app: web.Application, key: str, raw: dict[str, Any]) -> None:
    """Decode the stored PNG in the worker pool and compare with ``pixelHash`` (if there is one)."""
    source = await app[keys.INDEX].storage.get_bytes(key)
    try:
        matches = await app[keys.WORKERS].run(_pixel_hash_matches, source, raw)
    except PoolSaturated:
        raise Problem(503, "All pixel workers are busy; retry shortly.", headers={"Retry-After": "1"}) from None
    except ValueError as exc:
        raise Problem(502, f"The Modality API's PNG cannot be decoded: {exc}.") from None
    if matches is False:
        raise Problem(502, "pixelHash mismatch: the pixels received differ from those the Modality API hashed.")


def _pixel_hash_matches(source: bytes, raw: dict[str, Any]) -> bool | None:
    """Worker thread. None when the ImageInfo has no usable pixelHash (nothing to check)."""
    return verify_pixel_hash(raw, imaging.decode_png16(source))
