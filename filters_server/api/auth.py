"""HTTP Basic authentication: the middleware in front of every API route.

The checking itself (equal cost for unknown names, hashing off the event loop, the cache of
verified credentials, throttling of failures) is :mod:`filters_server.core.authentication`;
users and their secrets are :mod:`filters_server.core.users`. A refused attempt raises a
domain exception that the error table answers (429 throttled, 503 busy).
"""

from __future__ import annotations

import json
from typing import TypeVar

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler
from aiohttp_basicauth import BasicAuthMiddleware

from filters_server.api.problems import PROBLEM_JSON
from filters_server.core.authentication import Authenticator

USER_KEY = web.RequestKey("user", str)  # request[USER_KEY]: the authenticated user name
PUBLIC_ATTR = "__basic_auth_ignore__"
REQUESTED_WITH = "X-Requested-With"
SCRIPT_REQUEST = "XMLHttpRequest"  # the value scripts send (jQuery's convention), so no dialog pops up


class UsersAuth(BasicAuthMiddleware):
    """aiohttp-basicauth with many users, constant-time checks and problem+json challenges."""

    def __init__(self, authenticator: Authenticator, realm: str = "dsio-filters") -> None:
        super().__init__(force=True, realm=realm)
        self.authenticator = authenticator

    async def check_credentials(self, username: str, password: str, request: web.Request) -> bool:
        ok = await self.authenticator.verify(username, password, request.remote or "-")
        if ok:
            request[USER_KEY] = username
        return ok

    def challenge(self) -> web.Response:
        body = {
            "type": "about:blank",
            "title": "Unauthorized",
            "status": 401,
            "detail": "Valid HTTP Basic credentials are required.",
        }
        return web.Response(
            status=401,
            body=json.dumps(body).encode(),
            content_type=PROBLEM_JSON,
            headers={hdrs.WWW_AUTHENTICATE: f'Basic realm="{self.realm}", charset="UTF-8"'},
        )

    async def __call__(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        # Decide by the matched route, not by whatever wrapper reaches us.
        if getattr(request.match_info.handler, PUBLIC_ATTR, False):
            return await handler(request)
        if await self.authenticate(request):
            return await handler(request)
        response = self.challenge()
        if request.headers.get(REQUESTED_WITH) == SCRIPT_REQUEST:
            # A page's own fetch() (the viewer): without the Basic challenge the browser shows the
            # page's message instead of its own login dialog. Every other client gets the challenge.
            del response.headers[hdrs.WWW_AUTHENTICATE]
        return response


H = TypeVar("H", bound=Handler)


def public(handler: H) -> H:
    """Mark a handler as reachable without credentials."""
    setattr(handler, PUBLIC_ATTR, True)
    return handler


def current_user(request: web.Request) -> str:
    return request[USER_KEY]
