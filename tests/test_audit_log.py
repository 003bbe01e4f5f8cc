"""The audit trail: one access record per request, with request id, user, route, resource id and outcome."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import re

import pytest

from filters_server.api import audit
from filters_server.api.audit import ACCESS_LOGGER, AuditLog
from filters_server.logsetup import TEXT_FORMAT, JsonFormatter, TextFormatter
from filters_server.testing import png16, sample_image_info

from .conftest import BASE, create, form

MISSING_ID = "160c98f9-d188-4118-94c4-697161fd5caf"


class AccessRecords(logging.Handler):
    """The access logger's records, awaitable (the record is written after the answer is sent)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []
        self._arrived = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self._arrived.set()

    async def of(self, request_id: str) -> logging.LogRecord:
        while True:
            for record in self.records:
                if record.audit["request_id"] == request_id:
                    return record
            self._arrived.clear()
            await asyncio.wait_for(self._arrived.wait(), 10)


@pytest.fixture
def access_records():
    # Set before any client connects: the protocol asks once per connection whether to log.
    logger = logging.getLogger(ACCESS_LOGGER)
    handler, level = AccessRecords(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


async def test_a_sane_request_id_from_the_client_is_returned(access_records, client):
    response = await client.get(f"{BASE}/images/{MISSING_ID}", headers={"X-Request-ID": "trace-42.a_b"})
    assert response.headers["X-Request-ID"] == "trace-42.a_b"
    assert (await access_records.of("trace-42.a_b")).audit["status"] == 404


@pytest.mark.parametrize(
    "offered", [None, "has space", "x" * 129, "semi;colon"], ids=["absent", "space", "long", "punct"]
)
async def test_a_request_id_is_generated_when_none_or_no_sane_one_is_given(access_records, client, offered):
    headers = {"X-Request-ID": offered} if offered is not None else {}
    response = await client.get(f"{BASE}/images/{MISSING_ID}", headers=headers)
    generated = response.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    await access_records.of(generated)


async def test_a_record_carries_every_field_as_json(access_records, client):
    created = await create(client)
    response = await client.get(f"{BASE}/images/{created['id']}/media", headers={"X-Request-ID": "media-read"})
    body = await response.read()
    record = await access_records.of("media-read")
    entry = json.loads(JsonFormatter().format(record))
    assert {k: entry[k] for k in ("request_id", "user", "method", "route", "resource_id", "status", "bytes")} == {
        "request_id": "media-read",
        "user": "alice",
        "method": "GET",
        "route": f"{BASE}/images/{{id}}/media",
        "resource_id": created["id"],
        "status": 200,
        "bytes": len(body),
    }
    assert entry["duration_ms"] >= 0 and entry["remote"] == "127.0.0.1"
    assert "message" not in entry


async def test_an_unauthenticated_request_is_recorded_without_a_user(access_records, anonymous):
    response = await anonymous.get(f"{BASE}/images/{MISSING_ID}", headers={"X-Request-ID": "anon"})
    assert response.status == 401
    record = await access_records.of("anon")
    assert (record.audit["status"], record.audit["user"], record.audit["resource_id"]) == (401, "-", MISSING_ID)


async def test_a_not_found_is_recorded_with_the_user_and_the_id_asked_for(access_records, client):
    await client.get(f"{BASE}/images/{MISSING_ID}", headers={"X-Request-ID": "missing"})
    record = await access_records.of("missing")
    assert (record.audit["status"], record.audit["user"], record.audit["resource_id"]) == (404, "alice", MISSING_ID)


async def test_an_upload_is_recorded_with_the_id_it_created(access_records, client):
    response = await client.post(
        f"{BASE}/images", data=form(png16(), sample_image_info()), headers={"X-Request-ID": "up"}
    )
    record = await access_records.of("up")
    assert (record.audit["status"], record.audit["resource_id"]) == (201, (await response.json())["id"])


async def test_the_text_format_is_one_compact_line(access_records, client):
    await client.get(f"{BASE}/images/{MISSING_ID}", headers={"X-Request-ID": "text-line"})
    line = TextFormatter(TEXT_FORMAT).format(await access_records.of("text-line"))
    assert "\n" not in line
    assert f"text-line alice GET {BASE}/images/{{id}} id={MISSING_ID} 404" in line


def test_no_record_is_made_while_the_access_logger_is_below_info():
    logger = logging.getLogger("tests.audit.quiet")
    logger.setLevel(logging.WARNING)
    assert AuditLog(logger, "").enabled is False
    logger.setLevel(logging.INFO)
    assert AuditLog(logger, "").enabled is True


async def test_generated_request_ids_leave_the_host_processs_random_generator_alone(client):
    """A test suite that seeds ``random`` and runs the in-process server gets the same sequence."""
    state = random.getstate()
    responses = [await client.get(f"{BASE}/images/{MISSING_ID}") for _ in range(3)]
    assert len({response.headers["X-Request-ID"] for response in responses}) == 3
    assert random.getstate() == state


def test_a_forked_process_generates_other_request_ids_than_its_parent():
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next id, then leave at once
        os.write(writer, audit._IDS.getrandbits(128).to_bytes(16, "big"))
        os._exit(0)
    os.close(writer)
    child = int.from_bytes(os.read(reader, 16), "big")
    os.close(reader)
    os.waitpid(pid, 0)
    assert child != audit._IDS.getrandbits(128)
