"""The process's logging: text or JSON lines, written by a thread, malformed-request noise tamed.

* Every record is handed to a :class:`logging.handlers.QueueHandler`; a writer thread
  (:class:`BatchingQueueListener`) formats and writes it, so the event loop never blocks on a
  slow stderr or log shipper. Records cross the queue unformatted (they stay in this process), so
  the audit log's fields are formatted off the loop too. The thread wakes every
  ``BATCH_SECONDS`` and writes what accumulated with one write: waking it once per record cost
  more than the record itself (a thread wake-up and two GIL hand-offs per request).
* Making and formatting a record is kept cheap: records do not collect their thread and process
  (no format prints them), and the time is formatted once a second (:class:`TextFormatter`).
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
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from aiohttp.http_exceptions import HttpProcessingError

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
BATCH_SECONDS = 0.05  # how long a record may wait for the writer; lost with the process on kill -9


class TextFormatter(logging.Formatter):
    """``logging.Formatter`` that formats a record's time once a second, not once a record.

    The stdlib converts and formats the time of every record (``localtime`` and ``strftime``): half
    of what formatting an access record cost. Records arrive in time order, so a line's time
    changes once a second; the milliseconds are added per record as the stdlib adds them.
    """

    def __init__(self, fmt: str | None = None) -> None:
        super().__init__(fmt)
        self._stamp: tuple[int, str | None, str] = (-1, None, "")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        second = int(record.created)
        cached_second, cached_format, stamp = self._stamp
        if second != cached_second or datefmt != cached_format:
            stamp = time.strftime(datefmt or self.default_time_format, self.converter(record.created))
            self._stamp = (second, datefmt, stamp)
        if datefmt or not self.default_msec_format:
            return stamp
        return self.default_msec_format % (stamp, record.msecs)


class JsonFormatter(TextFormatter):
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


class _BatchedStream:
    """A stream that keeps what a batch writes; the writer thread sends it on with one write()."""

    def __init__(self, target: TextIO) -> None:
        self.target = target
        self._parts: list[str] = []

    def write(self, text: str) -> int:
        self._parts.append(text)
        return len(text)

    def flush(self) -> None:
        """StreamHandler flushes after every record; the batch is flushed by :meth:`send`."""

    def send(self) -> None:
        if self._parts:
            text = "".join(self._parts)
            self._parts.clear()
            self.target.write(text)
            self.target.flush()


class BatchingQueueListener(logging.handlers.QueueListener):
    """A queue listener that drains the queue every ``interval`` seconds, writing each batch at once."""

    def __init__(self, records: queue.SimpleQueue[Any], *handlers: logging.Handler, interval: float) -> None:
        super().__init__(records, *handlers, respect_handler_level=True)
        self.records = records  # typed: the base class only knows a put/get queue
        self.interval = interval

    def _monitor(self) -> None:
        while True:
            time.sleep(self.interval)
            stopping = False
            while True:
                try:
                    record = self.records.get_nowait()
                except queue.Empty:
                    break
                if record is None:  # the sentinel stop() enqueues
                    stopping = True
                    break
                self.handle(record)
            for handler in self.handlers:
                stream = getattr(handler, "stream", None)
                if isinstance(stream, _BatchedStream):
                    stream.send()
            if stopping:
                return


def configure_logging(level: str, fmt: str) -> logging.handlers.QueueListener:
    """Root logging through a queue to a writer thread; stop the returned listener at exit."""
    writer = logging.StreamHandler(_BatchedStream(sys.stderr))
    writer.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter(TEXT_FORMAT))
    # No format of ours prints a record's thread or process, and collecting them cost a fifth of
    # making each record (os.getpid() is a system call); the logging HOWTO's "Optimization".
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    listener = BatchingQueueListener(records, writer, interval=BATCH_SECONDS)
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
