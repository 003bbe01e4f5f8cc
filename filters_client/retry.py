"""When to try a request again, and how long to wait first.

Waits grow exponentially with full jitter (a random wait up to the exponential cap, so many
clients refused at once do not come back at once). A ``Retry-After`` from the server (seconds or
an HTTP date) is honoured: the wait is at least what it asks, plus a little jitter.
"""

from __future__ import annotations

import dataclasses
import enum
import random
from datetime import datetime
from email.utils import parsedate_to_datetime

from .models import UTC

RETRY_STATUSES = frozenset({429, 503})  # the server says "not now": nothing was done
GATEWAY_STATUSES = frozenset({502, 504})  # a proxy in between failed: retried for idempotent calls only


class Replay(enum.Enum):
    """How safe it is to send a request again.

    ALWAYS: idempotent (GET, HEAD, DELETE, and the filter POSTs, which are deterministic):
      retried on connection errors, timeouts, 502/504 and 429/503.
    REFUSED_ONLY: creates something (POST /images from a path or bytes, POST /images/modality):
      retried only when the server certainly created nothing: 429/503 answers and failures to
      connect. A connection lost mid-request is not retried, since the server may have created
      the resource and a retry would leave a duplicate behind.
    NEVER: the body is a one-shot stream that cannot be read again.
    """

    ALWAYS = "always"
    REFUSED_ONLY = "refused-only"
    NEVER = "never"


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    retries: int = 3  # tries after the first
    backoff: float = 0.5  # seconds: the first wait is up to this, then doubling
    max_backoff: float = 30.0
    max_retry_after: float = 120.0  # a server asking for longer is not waited for: the error is raised

    def backoff_delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Wait before retry number ``attempt`` (0-based): uniform in [0, min(cap, backoff * 2**attempt)]."""
        cap = min(self.max_backoff, self.backoff * (2**attempt))
        return (rng or random).uniform(0, cap)

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random | None = None) -> float | None:
        """Seconds to wait before retry ``attempt``; None when the server asks for more than we wait."""
        if retry_after is None:
            return self.backoff_delay(attempt, rng)
        if retry_after > self.max_retry_after:
            return None
        return retry_after + (rng or random).uniform(0, min(self.backoff, 1.0))


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After: 5`` or ``Retry-After: Wed, 21 Oct 2026 07:28:00 GMT`` -> seconds (>= 0); None if absent/bad."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
