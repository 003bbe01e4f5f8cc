"""The process's logging: written by a thread, JSON fields, malformed requests one rate-limited line each."""

from __future__ import annotations

import asyncio
import json
import logging
import logging.handlers
import threading

import pytest
from aiohttp.http_exceptions import BadHttpMessage

from filters_server.logsetup import (
    TEXT_FORMAT,
    JsonFormatter,
    MalformedRequestFilter,
    TextFormatter,
    configure_logging,
    install_malformed_request_filter,
)

from .conftest import FakeClock


@pytest.fixture
def process_logging():
    """configure_logging() for one test; the root logger and aiohttp.server's filters restored after."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    server_filters = logging.getLogger("aiohttp.server").filters[:]
    flags = logging.logThreads, logging.logProcesses, logging.logMultiprocessing
    listeners: list[logging.handlers.QueueListener] = []

    def configure(level: str = "info", fmt: str = "text") -> logging.handlers.QueueListener:
        listener = configure_logging(level, fmt)
        listeners.append(listener)
        return listener

    yield configure
    for listener in listeners:
        if listener._thread is not None:
            listener.stop()
    root.handlers[:], root.level = saved
    logging.getLogger("aiohttp.server").filters[:] = server_filters
    logging.logThreads, logging.logProcesses, logging.logMultiprocessing = flags


def test_log_records_are_written_by_a_thread_not_the_caller(process_logging, monkeypatch):
    listener = process_logging()
    [handler] = logging.getLogger().handlers
    assert isinstance(handler, logging.handlers.QueueHandler)
    writers: list[int] = []
    [stream] = listener.handlers
    emit = stream.emit
    monkeypatch.setattr(stream, "emit", lambda record: (writers.append(threading.get_ident()), emit(record)))
    logging.getLogger("filters_server.test").warning("written elsewhere")
    listener.stop()
    assert writers and threading.get_ident() not in writers


def test_json_format_writes_audit_records_as_fields(process_logging, capsys):
    listener = process_logging(fmt="json")
    fields = {"request_id": "r1", "user": "alice", "status": 200}
    logging.getLogger("filters_server.access").info("%s %s %s", "r1", "alice", 200, extra={"audit": fields})
    listener.stop()
    entry = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert entry["logger"] == "filters_server.access"
    assert {k: entry[k] for k in fields} == fields


def _records_at(*times: float) -> list[logging.LogRecord]:
    records = []
    for created in times:
        record = logging.LogRecord("filters_server.access", logging.INFO, __file__, 1, "%s %s", ("r1", 200), None)
        record.created, record.msecs = created, int((created - int(created)) * 1000) + 0.0
        records.append(record)
    return records


# Within one second, across a second, back to an earlier second, and a second later again.
TIMES = (1_800_000_000.001, 1_800_000_000.999, 1_800_000_001.5, 1_799_999_999.25, 1_800_000_002.0)


def test_text_lines_are_those_of_the_stdlib_formatter():
    ours, stdlib = TextFormatter(TEXT_FORMAT), logging.Formatter(TEXT_FORMAT)
    for record in _records_at(*TIMES):
        assert ours.format(record) == stdlib.format(record)


def test_json_times_are_those_of_the_stdlib_formatter():
    ours, stdlib = JsonFormatter(), logging.Formatter()
    for record in _records_at(*TIMES):
        assert json.loads(ours.format(record))["time"] == stdlib.formatTime(record, "%Y-%m-%dT%H:%M:%S%z")


def test_records_still_say_which_thread_made_them_outside_the_server_process():
    """Only the server's own logging (configure_logging) stops collecting thread and process:
    a program that imports the package keeps the stdlib's records."""
    record = logging.getLogger("filters_server.test").makeRecord("x", logging.INFO, "", 0, "m", (), None)
    assert record.threadName == threading.current_thread().name


def malformed_record(exc: Exception | None = None) -> logging.LogRecord:
    exc = exc or BadHttpMessage("Invalid header token")
    message, args = "Error handling request from %s", ("10.0.0.9",)
    return logging.LogRecord("aiohttp.server", logging.ERROR, __file__, 1, message, args, (type(exc), exc, None))


def test_a_malformed_request_is_one_warning_line_without_traceback():
    record = malformed_record()
    assert MalformedRequestFilter().filter(record)
    assert record.exc_info is None and record.levelno == logging.WARNING
    message = record.getMessage()
    assert "\n" not in message
    assert "10.0.0.9" in message and "BadHttpMessage" in message and "Invalid header token" in message


def test_malformed_request_lines_are_rate_limited_and_the_suppressed_ones_counted():
    clock = FakeClock()
    limiter = MalformedRequestFilter(per_second=3, clock=clock)
    passed = [limiter.filter(malformed_record()) for _ in range(10)]
    assert passed == [True] * 3 + [False] * 7
    clock.advance(1)
    record = malformed_record()
    assert limiter.filter(record)
    assert "(7 similar lines suppressed)" in record.getMessage()


def test_other_server_errors_keep_their_traceback():
    record = malformed_record(RuntimeError("a bug"))
    assert MalformedRequestFilter().filter(record)
    assert record.exc_info is not None and record.levelno == logging.ERROR


async def test_a_malformed_request_to_the_server_logs_one_line(client, caplog):
    server_log = logging.getLogger("aiohttp.server")
    saved = server_log.filters[:]
    install_malformed_request_filter()
    try:
        with caplog.at_level(logging.DEBUG, logger="aiohttp.server"):
            reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
            writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n")
            await writer.drain()
            status_line = await reader.readline()
            await reader.read()
            writer.close()
    finally:
        server_log.filters[:] = saved
    assert b" 400 " in status_line
    [record] = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert record.exc_info is None and record.levelno == logging.WARNING
    assert "\n" not in record.getMessage()
