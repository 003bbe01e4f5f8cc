"""Failed-login throttling: after N failures in a window, a key is refused until the window passes.

Keys are user names and client addresses, counted separately (one guesser spraying many names
is caught by its address; many guessers aiming at one name by the name). Memory is bounded: each
counter table keeps at most ``max_keys`` entries and forgets the least recently failed first.
"""

from __future__ import annotations

import collections
import dataclasses
import math
import time
from collections.abc import Callable


@dataclasses.dataclass
class _Window:
    started: float
    failures: int = 0


class FailureCounter:
    """Failures per key in fixed windows of ``window`` seconds starting at a key's first failure."""

    def __init__(self, limit: int, window: float, max_keys: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._clock = clock
        self._windows: collections.OrderedDict[str, _Window] = collections.OrderedDict()

    def __len__(self) -> int:
        return len(self._windows)

    def blocked_for(self, key: str) -> float:
        """Seconds until ``key`` may try again (0: it may now)."""
        entry = self._windows.get(key)
        if entry is None:
            return 0.0
        remaining = entry.started + self.window - self._clock()
        if remaining <= 0:
            del self._windows[key]
            return 0.0
        return remaining if entry.failures >= self.limit else 0.0

    def failed(self, key: str) -> int:
        """Count one failure of ``key``; the failures in its current window."""
        now = self._clock()
        entry = self._windows.get(key)
        if entry is None or entry.started + self.window <= now:
            entry = self._windows[key] = _Window(now)
        entry.failures += 1
        self._windows.move_to_end(key)
        while len(self._windows) > self.max_keys:
            self._windows.popitem(last=False)
        return entry.failures

    def reset(self, key: str) -> None:
        self._windows.pop(key, None)


@dataclasses.dataclass(frozen=True)
class Refusal:
    """Why an attempt is refused before any password is checked."""

    retry_after: int  # whole seconds, at least 1
    key_kind: str  # "user" or "address"


class LoginThrottle:
    """Per user name and per client address, each with its own limit and one window."""

    def __init__(
        self,
        *,
        per_user: int,
        per_address: int,
        window: float,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.users = FailureCounter(per_user, window, max_keys, clock)
        self.addresses = FailureCounter(per_address, window, max_keys, clock)

    def refusal(self, user: str, address: str) -> Refusal | None:
        for kind, counter, key in (("user", self.users, user), ("address", self.addresses, address)):
            wait = counter.blocked_for(key)
            if wait > 0:
                return Refusal(max(1, math.ceil(wait)), kind)
        return None

    def failed(self, user: str, address: str) -> tuple[int, int]:
        """Count a failure; the failures of the user name and of the address in their windows."""
        return self.users.failed(user), self.addresses.failed(address)

    def succeeded(self, user: str) -> None:
        self.users.reset(user)
