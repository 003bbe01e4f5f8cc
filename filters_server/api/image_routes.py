"""Handlers of the Images API: parse, call the domain, respond."""

from __future__ import annotations

from aiohttp import web

from backends import ObjectNotFound
from filters_server.api import appkeys as keys
from filters_server.api.audit import CREATED_KEY
from filters_server.api.auth import current_user
from filters_server.api.media import Representation, serve
from filters_server.api.metrics import METRICS
from filters_server.api.multipart import receive_upload
from filters_server.api.negotiation import negotiate
from filters_server.api.resource_lookup import lookup, media_url, resource_json
from filters_server.api.result_responses import answer_output
from filters_server.core.errors import MediaGone
from filters_server.core.layout import media_key
from filters_server.core.resource import Resource
from filters_server.imaging.dicom import MEDIA_TYPE as DICOM

routes = web.RouteTableDef()

# "/images/modality" is its own resource: GET or DELETE on it is 405 (Allow: POST), not a lookup of id "modality".
RESOURCE_PATH = "/images/{id:(?!modality$)[^/]+}"


def created(request: web.Request, resource: Resource, url: str) -> web.Response:
    """The 201 answer to a creation; ``url`` was computed before the commit. The media is counted as stored."""
    request.app[METRICS].bytes_stored.labels("media").inc(resource.media_size)
    request[CREATED_KEY] = resource.id  # the audit record names what was created
    response = resource_json(request, resource, status=201, url=url)
    response.headers["Location"] = f"{request.app[keys.SETTINGS].base_path}/images/{resource.id}"
    return response


@routes.post("/images")
async def create_image(request: web.Request) -> web.Response:
    settings = request.app[keys.SETTINGS]
    index = request.app[keys.INDEX]
    async with index.reservation(current_user(request), settings.ttl_seconds) as slot:
        url = media_url(request, slot.id)  # everything the answer needs, before the commit
        with request.app[METRICS].uploads_in_flight.track_inprogress():
            upload = await receive_upload(
                request,
                index.storage,
                slot.media_key,
                max_upload_bytes=settings.max_upload_bytes,
                max_pixels=settings.max_pixels,
                max_json_bytes=settings.max_json_bytes,
                max_parts=settings.max_parts,
                body_timeout=settings.body_timeout_seconds,
                max_seconds=settings.max_upload_seconds,
            )
        resource = await slot.commit(upload.image_info, upload.media, dicom=upload.dicom)
    return created(request, resource, url)


@routes.get(RESOURCE_PATH)
async def get_image(request: web.Request) -> web.Response:
    return resource_json(request, await lookup(request))


@routes.delete(RESOURCE_PATH)
async def delete_image(request: web.Request) -> web.Response:
    resource = await lookup(request, check_session=False)  # deleting needs no live session
    await request.app[keys.INDEX].remove(resource)
    return web.Response(status=204)


# The media as stored (PNG), or re-encoded as DICOM when the client prefers that.
MEDIA_TYPES = ("image/png", DICOM)


@routes.get("/images/{id}/media")
async def get_media(request: web.Request) -> web.StreamResponse:
    resource = await lookup(request)
    if negotiate(request.headers.get("Accept"), MEDIA_TYPES) == DICOM:
        return await answer_output(request, resource, "media", {}, DICOM)
    rep = Representation(
        request.app[keys.INDEX].storage,
        media_key(resource.id),
        size=resource.media_size,
        etag=resource.media_etag,
        last_modified=resource.created_on,
        content_type=resource.media_type,
        extra_headers={"Vary": "Accept"},  # Accept: application/dicom gets another representation
    )
    try:
        return await serve(request, rep)
    except ObjectNotFound:
        raise MediaGone("The media of this image resource can no longer be read from storage.") from None
