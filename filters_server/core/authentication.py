"""Checking credentials under attack: equal cost, off the event loop, bounded, cached, throttled.

* A wrong name costs what a wrong password costs (:func:`users.stand_in_for`).
* PBKDF2 runs on a small dedicated thread pool (``hashlib`` releases the GIL while hashing), so
  guessing clients never stall the event loop; at most ``threads + queue_depth`` checks are in
  flight, one more is refused at once (:class:`AuthenticationBusy`) instead of queueing forever.
* Verified credentials are remembered for ``cache_seconds`` in an LRU of ``cache_size`` entries,
  keyed by an HMAC of name and password under a per-process key (no password is kept), and
  forgotten whenever the users table changes: a correct password pays PBKDF2 once, not per request.
* Failures are counted per user name and per client address (:class:`LoginThrottle`); past the
  limit an attempt is refused before any checking (:class:`LoginThrottled`), and the trip is one
  WARNING line on the ``filters_server.security`` logger (name, address, count; never a password).
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import hashlib
import logging
import secrets
import time
from collections.abc import Callable, Mapping

from filters_server.core.errors import AuthenticationBusy, LoginThrottled
from filters_server.core.throttle import LoginThrottle
from filters_server.core.users import Credential, stand_in_for

security_log = logging.getLogger("filters_server.security")


class Authenticator:
    def __init__(
        self,
        users: Mapping[str, Credential],
        *,
        throttle: LoginThrottle,
        hash_threads: int = 2,
        queue_depth: int = 16,
        cache_size: int = 1024,
        cache_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.throttle = throttle
        self.cache_size = cache_size
        self.cache_seconds = cache_seconds
        self._clock = clock
        self._executor = concurrent.futures.ThreadPoolExecutor(hash_threads, thread_name_prefix="password-hash")
        self._slots = hash_threads + queue_depth
        self._in_flight = 0
        self._cache_key = secrets.token_bytes(32)
        # token -> (user name, monotonic expiry)
        self._verified: collections.OrderedDict[bytes, tuple[str, float]] = collections.OrderedDict()
        self.replace_users(users)

    @property
    def users(self) -> Mapping[str, Credential]:
        return self._users

    @property
    def cached(self) -> int:
        return len(self._verified)

    def replace_users(self, users: Mapping[str, Credential]) -> None:
        """Swap the users table (SIGHUP reload); every remembered verification is forgotten."""
        if not users:
            raise ValueError("no users configured: refusing to serve the API without authentication")
        self._users = dict(users)
        self._stand_in = stand_in_for(self._users)
        self._verified.clear()

    async def verify(self, name: str, password: str, address: str) -> bool:
        """Whether ``name``/``password`` is a user; raises when refused before checking."""
        refusal = self.throttle.refusal(name, address)
        if refusal is not None:
            raise LoginThrottled(refusal.retry_after)
        token = self._token(name, password)
        if self._remembered(token, name):
            self.throttle.succeeded(name)
            return True
        users = self._users
        credential = users.get(name)
        matched = await self._check(credential or self._stand_in, password)
        if matched and credential is not None:
            if users is self._users:  # not verified against a table replaced meanwhile
                self._remember(token, name)
            self.throttle.succeeded(name)
            return True
        self._failed(name, address)
        return False

    def remembers(self, name: str, password: str) -> bool:
        """Whether a verification of ``name``/``password`` is remembered and still valid."""
        entry = self._verified.get(self._token(name, password))
        return entry is not None and entry[0] == name and entry[1] > self._clock()

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def _check(self, credential: Credential, password: str) -> bool:
        if self._in_flight >= self._slots:
            raise AuthenticationBusy()
        self._in_flight += 1
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, credential.matches, password)
        finally:
            self._in_flight -= 1

    def _token(self, name: str, password: str) -> bytes:
        # Keyed BLAKE2b is a MAC like HMAC-SHA256, in one C call: a third of HMAC's cost per request.
        return hashlib.blake2b(f"{name}\0{password}".encode(), key=self._cache_key, digest_size=32).digest()

    def _remembered(self, token: bytes, name: str) -> bool:
        entry = self._verified.get(token)
        if entry is None:
            return False
        if entry[0] != name or entry[1] <= self._clock():
            del self._verified[token]
            return False
        self._verified.move_to_end(token)
        return True

    def _remember(self, token: bytes, name: str) -> None:
        self._verified[token] = (name, self._clock() + self.cache_seconds)
        self._verified.move_to_end(token)
        while len(self._verified) > self.cache_size:
            self._verified.popitem(last=False)

    def _failed(self, name: str, address: str) -> None:
        user_failures, address_failures = self.throttle.failed(name, address)
        for kind, failures, limit in (
            ("user", user_failures, self.throttle.users.limit),
            ("address", address_failures, self.throttle.addresses.limit),
        ):
            if failures == limit:
                security_log.warning(
                    "login throttled by %s: user=%s address=%s failures=%d within %gs",
                    kind,
                    _printable(name),
                    address,
                    failures,
                    self.throttle.users.window,
                )


def _printable(name: str) -> str:
    """A client-chosen name made safe for one log line: quoted, escaped, at most 64 characters."""
    return repr(name[:64] + ("..." if len(name) > 64 else ""))
