"""Handlers of the Images API: parse, call, respond."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from backends import ObjectNotFound

from . import keys
from .auth import current_user
from .index import ResourceNotFound
from .intake import StoredPng, receive_upload
from .media import Representation, serve
from .metrics import METRICS
from .problems import Problem
from .resources import Resource, media_key, new_id, parse_id
from .sessions import ensure_session_active

routes = web.RouteTableDef()


def resource_url(request: web.Request, resource: Resource) -> str:
    settings = request.app[keys.SETTINGS]
    origin = settings.public_url.rstrip("/") if settings.public_url else str(request.url.origin())
    return f"{origin}{settings.base_path}/images/{resource.id}/media"


def resource_json(request: web.Request, resource: Resource, status: int = 200) -> web.Response:
    response = web.json_response(resource.representation(resource_url(request, resource)), status=status)
    response.headers["Cache-Control"] = "no-store"
    return response


async def lookup(request: web.Request, *, check_session: bool = True) -> Resource:
    """The caller's resource named by the path, or 404 (unknown, expired and foreign alike).

    A resource bound to a Modality session is also checked to still have a live session
    (410, and removed, once it has ended); ``check_session=False`` skips that (DELETE).
    """
    resource_id = parse_id(request.match_info["id"])
    resource = None
    if resource_id is not None:
        try:
            resource = await request.app[keys.INDEX].get(current_user(request), resource_id)
        except ResourceNotFound:
            pass
    if resource is None:
        raise Problem(404, "No image resource with this id exists (it may have expired or been deleted).")
    if check_session:
        await ensure_session_active(request.app[keys.INDEX], request.app.get(keys.SESSIONS), resource)
    return resource


@dataclasses.dataclass(frozen=True)
class NewResource:
    """What an intake produced for a reserved id: its canonical ImageInfo and stored media."""

    image_info: dict[str, Any]
    media: StoredPng
    modality_session: dict[str, str] | None = None


async def create_resource(request: web.Request,
                          intake: Callable[[str], Awaitable[NewResource]]) -> web.Response:
    """Reserve an id, let ``intake`` store the media under ``media_key(id)``, commit; answer 201.

    The order is the one invariant 1 asks for (expiry marker -> media -> metadata), and on any
    failure or cancellation nothing of the attempt stays behind.
    """
    settings = request.app[keys.SETTINGS]
    index = request.app[keys.INDEX]
    resource_id = new_id()
    created_on = index.clock()
    expires = created_on + settings.ttl_seconds
    metrics = request.app[METRICS]
    await index.reserve(resource_id, expires)
    try:
        with metrics.uploads_in_flight.track_inprogress():
            new = await intake(resource_id)
        resource = Resource(
            id=resource_id, owner=current_user(request), created_on=created_on, expires=expires,
            image_info=new.image_info, media_type="image/png", media_size=new.media.stored.size,
            media_etag=new.media.stored.etag, width=new.media.png.width, height=new.media.png.height,
            modality_session=new.modality_session)
        await index.commit(resource)
    except BaseException:
        await asyncio.shield(index.discard(resource_id, expires))
        raise
    metrics.bytes_stored.labels("media").inc(resource.media_size)
    response = resource_json(request, resource, status=201)
    response.headers["Location"] = f"{settings.base_path}/images/{resource_id}"
    return response


@routes.post("/images")
async def create_image(request: web.Request) -> web.Response:
    settings = request.app[keys.SETTINGS]
    storage = request.app[keys.INDEX].storage

    async def intake(resource_id: str) -> NewResource:
        upload = await receive_upload(
            request, storage, media_key(resource_id), max_upload_bytes=settings.max_upload_bytes,
            max_pixels=settings.max_pixels, max_json_bytes=settings.max_json_bytes,
            max_parts=settings.max_parts, body_timeout=settings.body_timeout_seconds)
        return NewResource(upload.image_info, upload.media)

    return await create_resource(request, intake)


# "/images/modality" is its own resource: GET or DELETE on it is 405 (Allow: POST), not a lookup of id "modality".
RESOURCE_PATH = "/images/{id:(?!modality$)[^/]+}"


@routes.get(RESOURCE_PATH)
async def get_image(request: web.Request) -> web.Response:
    return resource_json(request, await lookup(request))


@routes.delete(RESOURCE_PATH)
async def delete_image(request: web.Request) -> web.Response:
    resource = await lookup(request, check_session=False)  # deleting needs no live session
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
