"""API users and their secrets: plain passwords or PBKDF2 hashes, compared in constant time.

Users come from ``--users`` (``name:password,...``) and ``--users-file`` (one
``name:password`` or ``name:<hash>`` a line, ``#`` comments). A hash is
``pbkdf2_sha256$<iterations>$<salt, base64>$<key, base64>`` as printed by
``filters-server --hash-password PASSWORD``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable

HASH_SCHEME = "pbkdf2_sha256"
HASH_ITERATIONS = 240_000


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
