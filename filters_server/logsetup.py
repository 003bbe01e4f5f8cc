"""The process's logging: text or JSON lines, written by a thread, malformed-request noise tamed.

* Every record is handed to a :class:`logging.handlers.QueueHandler`; a
  :class:`logging.handlers.QueueListener` thread formats and writes it, so the event loop never
  blocks on a slow stderr or log shipper. Records cross the queue unformatted (they stay in this
  process), so the audit log's fields are formatted off the loop too.
* ``--log-format json``: one JSON object a line; the audit log's records
  (:mod:`filters_server.api.audit`) become JSON fields rather than one message string.
* aiohttp logs each request it cannot parse at ERROR with a traceback ("Error handling request"),
  so anyone could flood the log: :class:`MalformedRequestFilter` makes those one line each,
  without traceback, at most ``per_second`` lines a second, and counts what it held back.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import queue
import time
from collections.abc import Callable

from aiohttp.http_exceptions import HttpProcessingError

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
        }
        audit = getattr(record, "audit", None)
        if isinstance(audit, dict):
            entry.update(audit)
        else:
            entry["message"] = record.getMessage()
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


class _InProcessQueueHandler(logging.handlers.QueueHandler):
    """A queue handler that leaves formatting to the listener thread (the stdlib's formats here)."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        return record


class MalformedRequestFilter(logging.Filter):
    """On ``aiohttp.server``: requests that could not be parsed are one rate-limited line each."""

    def __init__(self, per_second: int = 5, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.per_second = per_second
        self.suppressed = 0  # held back since the last line written
        self._clock = clock
        self._second = -1
        self._written = 0

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if not isinstance(error, HttpProcessingError):
            return True
        second = int(self._clock())
        if second != self._second:
            self._second, self._written = second, 0
        if self._written >= self.per_second:
            self.suppressed += 1
            return False
        self._written += 1
        reason = error.message.splitlines()[0].rstrip(": ") if error.message else ""
        original = record.getMessage()
        record.msg = "%s: %s %s%s"
        record.args = (
            original,
            type(error).__name__,
            reason,
            f" ({self.suppressed} similar lines suppressed)" if self.suppressed else "",
        )
        record.exc_info = None
        record.exc_text = None
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        self.suppressed = 0
        return True


def configure_logging(level: str, fmt: str) -> logging.handlers.QueueListener:
    """Root logging through a queue to a writer thread; stop the returned listener at exit."""
    writer = logging.StreamHandler()
    writer.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    listener = logging.handlers.QueueListener(records, writer, respect_handler_level=True)
    logging.basicConfig(level=level.upper(), handlers=[_InProcessQueueHandler(records)], force=True)
    install_malformed_request_filter()
    listener.start()
    return listener


def install_malformed_request_filter(per_second: int = 5) -> MalformedRequestFilter:
    server_log = logging.getLogger("aiohttp.server")
    for existing in list(server_log.filters):
        if isinstance(existing, MalformedRequestFilter):
            server_log.removeFilter(existing)
    malformed = MalformedRequestFilter(per_second)
    server_log.addFilter(malformed)
    return malformed
