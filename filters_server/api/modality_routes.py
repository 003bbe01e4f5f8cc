"""``POST /images/modality``: an image resource made from an image of a live Modality session.

The body names the image (``{"sessionId", "imageId"}``, keys in any case). The server fetches
its ImageInfo from the Modality API, streams its PNG into storage through the same validator as
uploads (:mod:`filters_server.core.modality_ingest`), checks ``pixelHash`` against the decoded pixels, and commits
the resource with its ``modalitySession``. From then on every lookup checks that the session is
still active (:mod:`filters_server.core.sessions`).

Status codes where the spec is silent: 400 for a bad body or an id the Modality API could not
be asked about, and for a raw image (``lutInfo`` null: no filter can run without the map); 404
when the Modality API does not know the session or image; 415 when its media is not a 16-bit
grayscale PNG; 502 when the Modality API is unreachable, answers garbage, sends a corrupt PNG,
or sends pixels that do not match ``pixelHash``; 501 without ``--modality-url``.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from filters_server.api import appkeys as keys
from filters_server.api.auth import current_user
from filters_server.api.image_routes import created
from filters_server.api.jsonbody import read_json_body
from filters_server.api.resource_lookup import media_url
from filters_server.api.schemas import IMAGE_INFO, MODALITY_SESSION, load_or_raise
from filters_server.core.errors import InvalidInput, NotConfigured, UpstreamFailed
from filters_server.core.modality_ingest import check_dimensions, check_pixel_hash, fetch_media, modality_errors

routes = web.RouteTableDef()
log = logging.getLogger(__name__)


@routes.post("/images/modality")
async def create_modality_image(request: web.Request) -> web.Response:
    ref = await read_reference(request)  # a malformed body is 400 whether or not we could serve it
    client = request.app.get(keys.MODALITY)
    if client is None:
        raise NotConfigured("Modality resources need --modality-url (the DSIO Modality API to read images from).")
    with modality_errors(ref):
        raw_info = await client.get_image_info(ref["sessionId"], ref["imageId"])
    image_info = canonical_image_info(raw_info)
    settings = request.app[keys.SETTINGS]
    index = request.app[keys.INDEX]
    async with index.reservation(current_user(request), settings.ttl_seconds) as slot:
        url = media_url(request, slot.id)  # everything the answer needs, before the commit
        media = await fetch_media(
            client,
            ref,
            index.storage,
            slot.media_key,
            max_pixels=settings.max_pixels,
            max_bytes=settings.max_upload_bytes,
        )
        check_dimensions(raw_info, media)
        await check_pixel_hash(
            index.storage, request.app[keys.WORKERS], request.app[keys.PIXELS], slot.media_key, media, raw_info
        )
        resource = await slot.commit(image_info, media, modality_session=ref)
    return created(request, resource, url)


async def read_reference(request: web.Request) -> dict[str, str]:
    """The body's ``{"sessionId", "imageId"}`` (any key case), or 400/408/413."""
    ref = await read_json_body(request, MODALITY_SESSION, "modality session")
    return {"sessionId": ref["sessionId"], "imageId": ref["imageId"]}


def canonical_image_info(raw: dict[str, Any]) -> dict[str, Any]:
    """The Modality ImageInfo -> the Filters API's ImageInfo (acquisitionInfo.binning + lutInfo)."""
    folded = {key.lower(): value for key, value in raw.items() if isinstance(key, str)}
    if folded.get("lutinfo") is None:
        raise InvalidInput(
            "The modality image has no lutInfo: it is a raw image (acquired with applyLut "
            "false), and filters need its contrast map."
        )
    try:
        return load_or_raise(IMAGE_INFO, raw, "ImageInfo from the Modality API")
    except ValueError as exc:
        log.warning("unusable ImageInfo from the Modality API: %s", exc)
        raise UpstreamFailed(f"The Modality API sent an unusable ImageInfo: {exc}.") from None
