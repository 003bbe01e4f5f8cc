"""API users and their secrets: plain passwords or PBKDF2 hashes, compared in constant time.

Users come from ``--users`` (``name:password,...``) and ``--users-file`` (one
``name:password`` or ``name:<hash>`` a line, ``#`` comments). A hash is
``pbkdf2_sha256$<iterations>$<salt, base64>$<key, base64>`` as printed by
``filters-server --hash-password PASSWORD``.

An unknown user name is checked against a *stand-in* credential of the same kind as most of the
table's (same scheme, same iteration count), so a wrong name costs what a wrong password costs
and timing does not tell which names exist (:func:`stand_in_for`).
"""

from __future__ import annotations

import base64
import collections
import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping

HASH_SCHEME = "pbkdf2_sha256"
HASH_ITERATIONS = 240_000
PLAIN = 0  # the "iteration count" of a plain password in a table's census


def hash_password(password: str, *, iterations: int = HASH_ITERATIONS, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    key = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return "$".join([HASH_SCHEME, str(iterations), base64.b64encode(salt).decode(), base64.b64encode(key).decode()])


class Credential:
    """One user's secret: a plain password or a PBKDF2 hash."""

    def __init__(self, secret: str) -> None:
        self.hashed = secret.startswith(HASH_SCHEME + "$")
        self.iterations = PLAIN
        if self.hashed:
            try:
                _scheme, iterations, salt, key = secret.split("$")
                self.iterations = int(iterations)
                self._salt = base64.b64decode(salt, validate=True)
                self._key = base64.b64decode(key, validate=True)
            except ValueError as exc:
                raise ValueError("malformed password hash") from exc
            if self.iterations <= 0 or not self._key:
                raise ValueError("malformed password hash")
        else:
            # Digests of equal length on both sides: the comparison's time depends on neither
            # the stored password's length nor the candidate's.
            self._key = hashlib.sha256(secret.encode()).digest()

    def matches(self, password: str) -> bool:
        """Whether ``password`` is this secret (CPU-bound for hashes: call it off the event loop)."""
        if self.hashed:
            candidate = hashlib.pbkdf2_hmac(
                "sha256", password.encode(), self._salt, self.iterations, dklen=len(self._key)
            )
        else:
            candidate = hashlib.sha256(password.encode()).digest()
        return hmac.compare_digest(candidate, self._key)


def stand_in_for(users: Mapping[str, Credential]) -> Credential:
    """A credential nobody knows, costing what most of ``users`` cost to check.

    The most common kind in the table wins (plain, or a hash with its iteration count); a tie
    goes to the costlier. With one iteration count for every hash (the usual case: all made by
    ``--hash-password``), unknown names and wrong passwords cost exactly the same.
    """
    census = collections.Counter(credential.iterations for credential in users.values())
    iterations = max(census, key=lambda kind: (census[kind], kind)) if census else PLAIN
    if iterations == PLAIN:
        return Credential(secrets.token_urlsafe(24))
    # A random key under a random salt: no password hashes to it, and making it costs no PBKDF2.
    salt, key = (base64.b64encode(secrets.token_bytes(n)).decode() for n in (16, 32))
    return Credential("$".join([HASH_SCHEME, str(iterations), salt, key]))


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
