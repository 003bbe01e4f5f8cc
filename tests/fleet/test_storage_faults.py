"""What a replica answers when S3 fails, and that it recovers by itself.

Unreachable storage is the client's cue to retry (503 + ``Retry-After``), never
a 500; storage that refuses (access denied) is the operator's problem (500,
logged); and a resource is never reported created unless both its media and
its metadata are stored (docs/architecture.md, "Storage invariants").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiobotocore.session
import aiohttp
import pytest

from backends import Storage, StorageError, StorageUnavailable
from backends.s3 import S3Storage
from filters_server.app import create_app
from filters_server.config import Settings
from filters_server.core.index import ResourceIndex
from filters_server.core.sweeper import Sweeper
from filters_server.core.users import parse_users
from filters_server.testing import png16, upload_form

from tests.backends.s3_helpers import make_s3_storage, new_bucket_name
from tests.fleet.conftest import AUTH, BASE, PASSWORD, USER
from tests.s3_endpoint import MotoServer, free_port

PROBLEM_JSON = "application/problem+json"
SETTINGS = Settings(storage="memory://", sweep_interval_seconds=3600, workers=1)
SOME_ID = str(uuid.UUID(int=1))


class Faulty:
    """A real storage that fails chosen calls: ``fail(method, key suffix)``; the rest is delegated."""

    def __init__(self, inner: Storage, error: StorageError | None = None, *, after_bytes: int | None = None) -> None:
        self.inner = inner
        self.error = error or StorageUnavailable("injected: S3 unreachable")
        self.after_bytes = after_bytes  # reads: fail only after this many bytes went out
        self.rules: list[tuple[str, str]] = []

    def fail(self, method: str, key_suffix: str) -> Faulty:
        self.rules.append((method, key_suffix))
        return self

    def _check(self, method: str, key: str) -> None:
        if any(method == m and key.endswith(suffix) for m, suffix in self.rules):
            raise self.error

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def put_bytes(self, key: str, data: bytes) -> Any:
        self._check("put_bytes", key)
        return await self.inner.put_bytes(key, data)

    async def get_bytes(self, key: str) -> bytes:
        self._check("get_bytes", key)
        return await self.inner.get_bytes(key)

    async def stat(self, key: str) -> Any:
        self._check("stat", key)
        return await self.inner.stat(key)

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        if self.after_bytes is None:
            self._check("read", key)
        async with contextlib.aclosing(self.inner.read(key, start, end)) as chunks:  # type: ignore[type-var]
            async for chunk in chunks:
                if self.after_bytes is not None:
                    yield chunk[: self.after_bytes]
                    self._check("read", key)
                    yield chunk[self.after_bytes :]
                else:
                    yield chunk


def make_app(storage: Any) -> Any:
    return create_app(SETTINGS, storage=storage, users=parse_users(f"{USER}:{PASSWORD}"))


def unreachable_s3(port: int) -> S3Storage:
    """S3 storage on a loopback port nobody listens on: connections are refused at once."""
    return S3Storage(
        new_bucket_name(),
        "p",
        endpoint_url=f"http://127.0.0.1:{port}",
        region="us-east-1",
        connect_timeout=1,
        read_timeout=2,
        max_attempts=1,
    )


@pytest.fixture
async def live_s3(s3_endpoint: str) -> AsyncIterator[S3Storage]:
    storage = await make_s3_storage(s3_endpoint)
    yield storage
    await storage.close()


async def bucket_contents(s3: S3Storage) -> list[str]:
    """Every object and unfinished multipart upload in the bucket (not only under the prefix)."""
    objects = await s3.client.list_objects_v2(Bucket=s3.bucket)
    uploads = await s3.client.list_multipart_uploads(Bucket=s3.bucket)
    return [o["Key"] for o in objects.get("Contents", ())] + [
        "multipart:" + u["Key"] for u in uploads.get("Uploads", ())
    ]


async def assert_retry_later(response: aiohttp.ClientResponse) -> None:
    assert response.status == 503, await response.text()
    assert response.headers["Retry-After"].isdigit()
    assert response.content_type == PROBLEM_JSON
    assert (await response.json())["status"] == 503


async def create(client: Any) -> dict[str, Any]:
    response = await client.post(f"{BASE}/images", data=upload_form(png16()))
    assert response.status == 201, await response.text()
    return await response.json()


REQUESTS: dict[str, Callable[[Any], Any]] = {
    "create": lambda c: c.post(f"{BASE}/images", data=upload_form(png16())),
    "get": lambda c: c.get(f"{BASE}/images/{SOME_ID}"),
    "media": lambda c: c.get(f"{BASE}/images/{SOME_ID}/media"),
    "ranged media": lambda c: c.get(f"{BASE}/images/{SOME_ID}/media", headers={"Range": "bytes=0-9"}),
    "filter": lambda c: c.post(f"{BASE}/images/{SOME_ID}/filters/supreme", json={}),
    "delete": lambda c: c.delete(f"{BASE}/images/{SOME_ID}"),
}


@pytest.mark.parametrize("request_kind", REQUESTS)
async def test_unreachable_storage_answers_503_with_retry_after(
    aws_test_env: None, aiohttp_client: Any, request_kind: str
) -> None:
    client = await aiohttp_client(make_app(unreachable_s3(free_port())), headers=AUTH)
    await assert_retry_later(await REQUESTS[request_kind](client))


async def test_readiness_fails_while_storage_is_unreachable(aws_test_env: None, aiohttp_client: Any) -> None:
    client = await aiohttp_client(make_app(unreachable_s3(free_port())))
    await assert_retry_later(await client.get("/readyz"))


async def test_replica_recovers_without_restart_once_storage_answers(aws_test_env: None, aiohttp_client: Any) -> None:
    port = free_port()
    storage = unreachable_s3(port)
    client = await aiohttp_client(make_app(storage), headers=AUTH)
    assert (await client.get("/readyz")).status == 503

    server = await asyncio.to_thread(MotoServer.start, port)
    try:
        session = aiobotocore.session.get_session()
        async with session.create_client("s3", endpoint_url=server.url, region_name="us-east-1") as admin:
            await admin.create_bucket(Bucket=storage.bucket)  # the operator restores the storage
        assert (await client.get("/readyz")).status == 200
        created = await create(client)
        assert (await client.get(f"{BASE}/images/{created['id']}")).status == 200
    finally:
        await asyncio.to_thread(server.stop)


async def test_failure_between_media_and_metadata_reports_nothing_created_and_leaves_nothing(
    aiohttp_client: Any, live_s3: S3Storage
) -> None:
    client = await aiohttp_client(make_app(Faulty(live_s3).fail("put_bytes", "/meta.json")), headers=AUTH)
    await assert_retry_later(await client.post(f"{BASE}/images", data=upload_form(png16())))
    assert await bucket_contents(live_s3) == []


async def test_media_read_failing_after_lookup_answers_503(aiohttp_client: Any, live_s3: S3Storage) -> None:
    faulty = Faulty(live_s3)
    client = await aiohttp_client(make_app(faulty), headers=AUTH)
    created = await create(client)
    faulty.fail("read", "/media")
    await assert_retry_later(await client.get(f"{BASE}/images/{created['id']}/media"))
    await assert_retry_later(
        await client.get(f"{BASE}/images/{created['id']}/media", headers={"Range": "bytes=0-9,20-29"})
    )


async def test_filter_source_read_failing_after_lookup_answers_503(aiohttp_client: Any, live_s3: S3Storage) -> None:
    faulty = Faulty(live_s3)
    client = await aiohttp_client(make_app(faulty), headers=AUTH)
    created = await create(client)
    faulty.fail("get_bytes", "/media")
    await assert_retry_later(await client.post(f"{BASE}/images/{created['id']}/filters/unmap"))


async def test_storage_failing_mid_body_cuts_the_connection(aiohttp_client: Any, live_s3: S3Storage) -> None:
    faulty = Faulty(live_s3, after_bytes=10)
    client = await aiohttp_client(make_app(faulty), headers=AUTH)
    created = await create(client)
    faulty.fail("read", "/media")
    # Bounded: a server that keeps the connection open would leave the client waiting for the rest.
    response = await client.get(f"{BASE}/images/{created['id']}/media", timeout=aiohttp.ClientTimeout(total=10))
    assert response.status == 200  # the status line was out before storage failed...
    with pytest.raises(aiohttp.ClientPayloadError):
        await response.read()  # ...so the client must see a truncated body, not a second response


async def test_storage_refusing_access_answers_500_and_logs_why(
    aiohttp_client: Any, live_s3: S3Storage, caplog: pytest.LogCaptureFixture
) -> None:
    denied = StorageError("S3 AccessDenied: Access Denied")
    faulty = Faulty(live_s3, denied)
    client = await aiohttp_client(make_app(faulty), headers=AUTH)
    created = await create(client)
    faulty.fail("get_bytes", "/meta.json")
    with caplog.at_level(logging.ERROR, logger="filters_server.api.errors"):
        response = await client.get(f"{BASE}/images/{created['id']}")
    assert response.status == 500
    assert response.content_type == PROBLEM_JSON
    assert "Retry-After" not in response.headers  # retrying cannot help
    assert any("AccessDenied" in record.getMessage() for record in caplog.records)


async def test_sweeper_keeps_trying_through_an_outage_with_one_warning_per_attempt(
    aws_test_env: None, caplog: pytest.LogCaptureFixture
) -> None:
    storage = unreachable_s3(free_port())
    await storage.start()
    task = asyncio.create_task(Sweeper(ResourceIndex(storage, time.time), interval=0.01).run())
    try:
        with caplog.at_level(logging.WARNING, logger="filters_server.core.sweeper"):

            async def two_attempts_logged() -> None:
                while sum("sweep skipped" in r.getMessage() for r in caplog.records) < 2:
                    await asyncio.sleep(0.01)

            await asyncio.wait_for(two_attempts_logged(), timeout=10)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await storage.close()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
