"""HTTP Basic authentication: users, password hashes, the middleware.

Users come from ``--users`` (``name:password,...``) and ``--users-file`` (one
``name:password`` or ``name:<hash>`` a line, ``#`` comments). A hash is
``pbkdf2_sha256$<iterations>$<salt, base64>$<key, base64>`` as printed by
``filters-server --hash-password PASSWORD``.

Every comparison is constant-time, and an unknown user costs the same work as
a known one, so neither names nor passwords leak through timing. Verified
PBKDF2 results are remembered (keyed by an HMAC of the credentials under a
per-process secret), so only the first request of a client pays the hash.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable

from aiohttp import hdrs, web
from aiohttp_basicauth import BasicAuthMiddleware

from .problems import PROBLEM_JSON

HASH_SCHEME = "pbkdf2_sha256"
HASH_ITERATIONS = 240_000
USER_KEY = web.RequestKey("user", str)  # request[USER_KEY]: the authenticated user name
PUBLIC_ATTR = "__basic_auth_ignore__"


def hash_password(password: str, *, iterations: int = HASH_ITERATIONS, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    key = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return "$".join([HASH_SCHEME, str(iterations), base64.b64encode(salt).decode(), base64.b64encode(key).decode()])


class Credential:
    """One user's secret: a plain password or a PBKDF2 hash."""

    def __init__(self, secret: str) -> None:
        self._hashed = secret.startswith(HASH_SCHEME + "$")
        if self._hashed:
            try:
                _scheme, iterations, salt, key = secret.split("$")
                self._iterations = int(iterations)
                self._salt = base64.b64decode(salt, validate=True)
                self._key = base64.b64decode(key, validate=True)
            except ValueError as exc:
                raise ValueError("malformed password hash") from exc
        else:
            self._key = secret.encode()

    def matches(self, password: str) -> bool:
        if self._hashed:
            candidate = hashlib.pbkdf2_hmac("sha256", password.encode(), self._salt, self._iterations)
        else:
            candidate = password.encode()
        return hmac.compare_digest(candidate, self._key)


def parse_users(spec: str | None) -> dict[str, Credential]:
    """``name:password,name:password`` -> credentials."""
    return _parse_lines((spec or "").split(","), "--users")


def read_users_file(path: str) -> dict[str, Credential]:
    with open(path, encoding="utf-8") as handle:
        return _parse_lines(handle, path)


def _parse_lines(lines: Iterable[str], source: str) -> dict[str, Credential]:
    users: dict[str, Credential] = {}
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, secret = line.partition(":")
        if not sep or not name or not secret:
            raise ValueError(f"{source}: entry {number} is not name:password")
        users[name] = Credential(secret)
    return users


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
        body = {"type": "about:blank", "title": "Unauthorized", "status": 401,
                "detail": "Valid HTTP Basic credentials are required."}
        return web.Response(status=401, body=json.dumps(body).encode(), content_type=PROBLEM_JSON,
                            headers={hdrs.WWW_AUTHENTICATE: f'Basic realm="{self.realm}", charset="UTF-8"'})

    async def __call__(self, request: web.Request, handler):  # type: ignore[override]
        # Decide by the matched route, not by whatever wrapper reaches us.
        if getattr(request.match_info.handler, PUBLIC_ATTR, False):
            return await handler(request)
        return await super().__call__(request, handler)


def public(handler):  # type: ignore[no-untyped-def]
    """Mark a handler as reachable without credentials."""
    setattr(handler, PUBLIC_ATTR, True)
    return handler


def current_user(request: web.Request) -> str:
    return request[USER_KEY]
