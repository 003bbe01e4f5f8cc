"""An upload has a total time limit, and a resource is never committed already (nearly) expired."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest

from backends.memory import MemoryStorage
from filters_server.config import Settings
from filters_server.testing import png16, sample_image_info

from ..conftest import ALICE, BASE, stored_keys

HEADERS = {"Content-Type": "multipart/form-data; boundary=B"}
HEAD = (
    b'--B\r\nContent-Disposition: form-data; name="imageInfo"\r\nContent-Type: application/json\r\n\r\n'
    + json.dumps(sample_image_info()).encode()
    + b'\r\n--B\r\nContent-Disposition: form-data; name="imageMedia"; filename="a.png"\r\n'
    + b"Content-Type: image/png\r\n\r\n"
)
TAIL = png16() + b"\r\n--B--\r\n"


class MarkerWatch(MemoryStorage):
    """Memory storage that says when a reservation's expiry marker has been written."""

    def __init__(self) -> None:
        super().__init__()
        self.marker_written = asyncio.Event()

    async def put_bytes(self, key: str, data: bytes):  # type: ignore[no-untyped-def]
        info = await super().put_bytes(key, data)
        if key.startswith("expiry/"):
            self.marker_written.set()
        return info


async def test_an_upload_not_received_within_its_time_limit_is_408_and_leaves_nothing(
    aiohttp_client, make_app, storage
):
    client = await aiohttp_client(make_app(storage, max_upload_seconds=0.3, body_timeout_seconds=60), headers=ALICE)
    never = asyncio.Event()

    async def stalls_after_the_head() -> AsyncIterator[bytes]:
        yield HEAD
        await never.wait()  # the idle timeout (60 s) would be far too late: the total limit answers
        yield TAIL

    response = await client.post(f"{BASE}/images", data=stalls_after_the_head(), headers=HEADERS)
    assert response.status == 408
    assert "0.3 seconds" in (await response.json())["detail"]
    assert stored_keys(storage) == []


async def test_an_upload_whose_resource_expired_meanwhile_is_not_committed(aiohttp_client, make_app, clock):
    storage = MarkerWatch()
    client = await aiohttp_client(make_app(storage, ttl_seconds=3600, max_upload_seconds=600), headers=ALICE)

    async def outlives_its_ttl() -> AsyncIterator[bytes]:
        yield HEAD
        await storage.marker_written.wait()  # the reservation exists: its lifetime is running
        clock.advance(3600 - 1)  # one second left: too close to expiry to commit
        yield TAIL

    response = await client.post(f"{BASE}/images", data=outlives_its_ttl(), headers=HEADERS)
    assert response.status == 408
    assert response.content_type == "application/problem+json"
    assert stored_keys(storage) == []


async def test_an_upload_with_its_lifetime_ahead_is_committed(aiohttp_client, make_app, clock):
    storage = MarkerWatch()
    client = await aiohttp_client(make_app(storage, ttl_seconds=3600, max_upload_seconds=600), headers=ALICE)

    async def takes_ten_minutes() -> AsyncIterator[bytes]:
        yield HEAD
        await storage.marker_written.wait()
        clock.advance(600)
        yield TAIL

    response = await client.post(f"{BASE}/images", data=takes_ten_minutes(), headers=HEADERS)
    assert response.status == 201


def test_the_upload_time_limit_must_be_shorter_than_the_ttl():
    with pytest.raises(ValueError, match="max-upload-seconds"):
        Settings(ttl_seconds=600, max_upload_seconds=600)
