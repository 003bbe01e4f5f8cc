"""HTTP Basic authentication: the middleware in front of every API route.

Every comparison is constant-time, and an unknown user costs the same work as a known one,
so neither names nor passwords leak through timing. Verified PBKDF2 results are remembered
(keyed by an HMAC of the credentials under a per-process secret), so only the first request
of a client pays the hash. Users and their secrets are :mod:`filters_server.core.users`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from typing import TypeVar

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler
from aiohttp_basicauth import BasicAuthMiddleware

from filters_server.api.problems import PROBLEM_JSON
from filters_server.core.users import Credential, hash_password

USER_KEY = web.RequestKey("user", str)  # request[USER_KEY]: the authenticated user name
PUBLIC_ATTR = "__basic_auth_ignore__"
REQUESTED_WITH = "X-Requested-With"
SCRIPT_REQUEST = "XMLHttpRequest"  # the value scripts send (jQuery's convention), so no dialog pops up


class UsersAuth(BasicAuthMiddleware):
    """aiohttp-basicauth with many users, constant-time checks and problem+json challenges."""

    def __init__(self, users: dict[str, Credential], realm: str = "dsio-filters") -> None:
        if not users:
            raise ValueError("no users configured: refusing to serve the API without authentication")
        super().__init__(force=True, realm=realm)
        self._users = users
        self._dummy = Credential(hash_password(secrets.token_hex(8), iterations=1))
        self._cache_key = secrets.token_bytes(32)
        self._verified: dict[bytes, str] = {}

    async def check_credentials(self, username: str, password: str, request: web.Request) -> bool:
        token = hmac.new(self._cache_key, f"{username}\0{password}".encode(), hashlib.sha256).digest()
        if self._verified.get(token) == username:
            request[USER_KEY] = username
            return True
        credential = self._users.get(username)
        ok = (credential or self._dummy).matches(password) and credential is not None
        if ok:
            if len(self._verified) > 10_000:
                self._verified.clear()
            self._verified[token] = username
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
