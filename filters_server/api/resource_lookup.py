"""What a request's path names: the caller's own live resource, and how it is answered as JSON."""

from __future__ import annotations

from aiohttp import web

from filters_server.api import appkeys as keys
from filters_server.api.auth import current_user
from filters_server.api.origin import server_origin
from filters_server.core.errors import ResourceNotFound
from filters_server.core.resource import Resource, parse_id
from filters_server.core.sessions import ensure_session_active


async def lookup(request: web.Request, *, check_session: bool = True) -> Resource:
    """The caller's resource named by the path; :class:`ResourceNotFound` for unknown, expired and foreign alike.

    A resource bound to a Modality session is also checked to still have a live session
    (:class:`SessionEnded`, and removed, once it has ended); ``check_session=False`` skips that (DELETE).
    """
    resource_id = parse_id(request.match_info["id"])
    if resource_id is None:
        raise ResourceNotFound()
    resource = await request.app[keys.INDEX].get(current_user(request), resource_id)
    if check_session:
        await ensure_session_active(request.app[keys.INDEX], request.app.get(keys.SESSIONS), resource)
    return resource


def media_url(request: web.Request, resource_id: str) -> str:
    """The ``url`` of a resource's media: never fails, never echoes a Host that is not allowed."""
    return f"{server_origin(request)}{request.app[keys.SETTINGS].base_path}/images/{resource_id}/media"


def resource_json(
    request: web.Request, resource: Resource, status: int = 200, *, url: str | None = None
) -> web.Response:
    """The ImageResource; ``url`` when it was computed already (before a commit: nothing may fail after it)."""
    response = web.Response(
        body=resource.representation_json(url or media_url(request, resource.id)),
        status=status,
        content_type="application/json",
        charset="utf-8",
    )
    response.headers["Cache-Control"] = "no-store"
    return response
