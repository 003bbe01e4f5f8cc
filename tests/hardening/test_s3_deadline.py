"""A stalled S3 endpoint (accepts connections, never answers) costs each call at most its deadline."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from backends import StorageUnavailable
from backends.s3 import MIN_PART_SIZE, S3Storage

from ..conftest import ALICE, BASE

DEADLINE = 0.5  # seconds: the --storage-timeout-seconds these tests set


@pytest.fixture
async def stalled_endpoint() -> AsyncIterator[str]:
    """An HTTP endpoint on loopback that reads requests and never answers, like a paused S3 process."""
    writers: list[asyncio.StreamWriter] = []

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        while await reader.read(65536):
            pass

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        for writer in writers:
            writer.close()
        server.close()
        await server.wait_closed()


@pytest.fixture
async def stalled_s3(aws_test_env, stalled_endpoint) -> AsyncIterator[S3Storage]:
    storage = S3Storage("stalled", "p", endpoint_url=stalled_endpoint, region="us-east-1", timeout=DEADLINE)
    await storage.start()
    yield storage
    await storage.close()


async def _drain(chunks: AsyncIterator[object]) -> None:
    async for _chunk in chunks:
        pass


OPERATIONS = {
    "get_bytes": lambda s: s.get_bytes("images/a/meta.json"),
    "stat": lambda s: s.stat("images/a/media"),
    "put_bytes": lambda s: s.put_bytes("images/a/meta.json", b"{}"),
    "delete": lambda s: s.delete("images/a/media"),
    "delete_prefix": lambda s: s.delete_prefix("images/a/"),
    "list": lambda s: _drain(s.list("expiry/")),
    "read": lambda s: _drain(s.read("images/a/media", 0, 10)),
    "ping": lambda s: s.ping(),
}


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
async def test_a_call_to_a_stalled_endpoint_is_unavailable_after_its_deadline(stalled_s3, operation):
    with pytest.raises(StorageUnavailable, match="did not answer"):
        await OPERATIONS[operation](stalled_s3)


class StallingPartsClient:
    """An S3 client whose multipart upload starts, then stalls on its first part."""

    def __init__(self) -> None:
        self.aborted: list[str] = []

    async def create_multipart_upload(self, **_kwargs: object) -> dict[str, str]:
        return {"UploadId": "upload-1"}

    async def upload_part(self, **_kwargs: object) -> dict[str, str]:
        await asyncio.Event().wait()  # never answers
        raise AssertionError("unreachable")

    async def abort_multipart_upload(self, *, UploadId: str, **_kwargs: object) -> None:
        self.aborted.append(UploadId)


async def test_a_stalled_upload_part_aborts_the_multipart_upload():
    storage = S3Storage("b", timeout=DEADLINE, part_size=MIN_PART_SIZE)
    client = storage._client = StallingPartsClient()

    async def chunks() -> AsyncIterator[bytes]:
        yield b"\0" * MIN_PART_SIZE
        yield b"\0"

    with pytest.raises(StorageUnavailable):
        await storage.put("images/a/media", chunks())
    assert client.aborted == ["upload-1"]


async def test_a_request_on_stalled_storage_answers_503_with_retry_after(aiohttp_client, make_app, stalled_s3):
    client = await aiohttp_client(make_app(stalled_s3), headers=ALICE)
    response = await client.get(f"{BASE}/images/{uuid.uuid4()}")
    assert response.status == 503
    assert response.headers["Retry-After"]
    assert response.content_type == "application/problem+json"
