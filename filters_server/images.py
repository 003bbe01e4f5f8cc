"""Handlers of the Images API: parse, call, respond."""

from __future__ import annotations

import asyncio

from aiohttp import web

from backends import ObjectNotFound

from . import keys
from .auth import current_user
from .index import ResourceNotFound
from .intake import receive_upload
from .media import Representation, serve
from .problems import Problem
from .resources import Resource, media_key, new_id, parse_id
from .schemas import MODALITY_SESSION, load_or_raise

routes = web.RouteTableDef()


def resource_url(request: web.Request, resource: Resource) -> str:
    settings = request.app[keys.SETTINGS]
    origin = settings.public_url.rstrip("/") if settings.public_url else str(request.url.origin())
    return f"{origin}{settings.base_path}/images/{resource.id}/media"


def resource_json(request: web.Request, resource: Resource, status: int = 200) -> web.Response:
    response = web.json_response(resource.representation(resource_url(request, resource)), status=status)
    response.headers["Cache-Control"] = "no-store"
    return response


async def lookup(request: web.Request) -> Resource:
    """The caller's resource named by the path, or 404 (unknown, expired and foreign alike)."""
    resource_id = parse_id(request.match_info["id"])
    if resource_id is not None:
        try:
            return await request.app[keys.INDEX].get(current_user(request), resource_id)
        except ResourceNotFound:
            pass
    raise Problem(404, "No image resource with this id exists (it may have expired or been deleted).")


@routes.post("/images")
async def create_image(request: web.Request) -> web.Response:
    settings = request.app[keys.SETTINGS]
    index = request.app[keys.INDEX]
    resource_id = new_id()
    created_on = index.clock()
    expires = created_on + settings.ttl_seconds
    await index.reserve(resource_id, expires)
    try:
        upload = await receive_upload(
            request, index.storage, media_key(resource_id), max_upload_bytes=settings.max_upload_bytes,
            max_pixels=settings.max_pixels, max_json_bytes=settings.max_json_bytes,
            max_parts=settings.max_parts, body_timeout=settings.body_timeout_seconds)
        resource = Resource(
            id=resource_id, owner=current_user(request), created_on=created_on, expires=expires,
            image_info=upload.image_info, media_type="image/png", media_size=upload.stored.size,
            media_etag=upload.stored.etag, width=upload.png.width, height=upload.png.height)
        await index.commit(resource)
    except BaseException:
        # Nothing of a rejected or interrupted upload may stay behind.
        await asyncio.shield(index.discard(resource_id, expires))
        raise
    response = resource_json(request, resource, status=201)
    response.headers["Location"] = f"{settings.base_path}/images/{resource_id}"
    return response


# "/images/modality" is its own resource: GET or DELETE on it is 405 (Allow: POST), not a lookup of id "modality".
RESOURCE_PATH = "/images/{id:(?!modality$)[^/]+}"


@routes.post("/images/modality")
async def create_modality_image(request: web.Request) -> web.Response:
    """Without a Modality API to ask, no session can be found: the spec's 404, after the spec's 400."""
    try:
        document = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise Problem(400, "The body is not a JSON ModalitySession.") from None
    try:
        load_or_raise(MODALITY_SESSION, document, "ModalitySession")
    except ValueError as exc:
        raise Problem(400, str(exc) + ".") from None
    raise Problem(404, "No Modality API is configured on this server, so the modality session cannot be found.")


@routes.get(RESOURCE_PATH)
async def get_image(request: web.Request) -> web.Response:
    return resource_json(request, await lookup(request))


@routes.delete(RESOURCE_PATH)
async def delete_image(request: web.Request) -> web.Response:
    resource = await lookup(request)
    await request.app[keys.INDEX].remove(resource)
    return web.Response(status=204)


@routes.get("/images/{id}/media")
async def get_media(request: web.Request) -> web.StreamResponse:
    resource = await lookup(request)
    rep = Representation(request.app[keys.INDEX].storage, media_key(resource.id), size=resource.media_size,
                         etag=resource.media_etag, last_modified=resource.created_on,
                         content_type=resource.media_type)
    try:
        return await serve(request, rep)
    except ObjectNotFound:
        raise Problem(410, "The media of this image resource can no longer be read from storage.") from None
