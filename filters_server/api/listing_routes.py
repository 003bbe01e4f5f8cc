"""``GET /images``: the caller's own live image resources, newest first, a page at a time (an extension).

Pages are joined by an opaque cursor, not an offset, so a page never repeats or skips a resource
when others are created or deleted between two requests. The cursor is the position of the last
resource of the page (its expiry in milliseconds and its id); nothing in it is secret, and a
cursor of another user's resource reveals nothing, since only the caller's resources are listed.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from filters_server.api import appkeys as keys
from filters_server.api.auth import current_user
from filters_server.api.origin import server_origin
from filters_server.api.resource_lookup import media_url
from filters_server.core.errors import InvalidInput
from filters_server.core.index import Position
from filters_server.core.resource import parse_id

routes = web.RouteTableDef()

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
_CURSOR = re.compile(r"(\d{1,15})_([0-9a-f-]{36})")


def encode_cursor(spot: Position) -> str:
    return f"{spot[0]}_{spot[1]}"


def decode_cursor(text: str) -> Position:
    match = _CURSOR.fullmatch(text)
    resource_id = parse_id(match.group(2)) if match else None
    if match is None or resource_id is None:
        raise InvalidInput("Query parameter 'cursor' is not one this server made; use the 'next' URL of a page.")
    return int(match.group(1)), resource_id


def parse_limit(text: str | None) -> int:
    if text is None:
        return DEFAULT_LIMIT
    if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
        raise InvalidInput(f"Query parameter 'limit' must be an integer from 1 to {MAX_LIMIT}, got {text!r}.")
    return int(text)


@routes.get("/images")
async def list_images(request: web.Request) -> web.Response:
    limit = parse_limit(request.query.get("limit"))
    cursor = request.query.get("cursor")
    listing = await request.app[keys.INDEX].owned(
        current_user(request), limit, decode_cursor(cursor) if cursor is not None else None
    )
    body: dict[str, Any] = {
        "items": [resource.representation(media_url(request, resource.id)) for resource in listing.items],
        "next": None if listing.resume is None else _next_url(request, limit, encode_cursor(listing.resume)),
    }
    response = web.json_response(body)
    response.headers["Cache-Control"] = "no-store"
    return response


def _next_url(request: web.Request, limit: int, cursor: str) -> str:
    return f"{server_origin(request)}{request.app[keys.SETTINGS].base_path}/images?limit={limit}&cursor={cursor}"
