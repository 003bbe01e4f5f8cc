"""A multipart/byteranges answer is read from storage once, so a delete meanwhile cannot truncate it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from backends import Storage
from filters_server.testing import png16

from ..conftest import ALICE, BASE, create

SMALL = 100  # bytes per chunk the paused stream hands out, so pieces span several chunks


class PausingStorage:
    """A storage whose reads, once armed, pause after their first small chunk until resumed."""

    def __init__(self, inner: Storage) -> None:
        self.inner = inner
        self.armed = False
        self.paused = asyncio.Event()
        self.resume = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        async with contextlib.aclosing(self.inner.read(key, start, end)) as chunks:  # type: ignore[type-var]
            async for chunk in chunks:
                for offset in range(0, len(chunk), SMALL):
                    yield chunk[offset : offset + SMALL]
                    if self.armed:
                        self.armed = False
                        self.paused.set()
                        await self.resume.wait()


def expected_body(media: bytes, boundary: str, ranges: list[tuple[int, int]]) -> bytes:
    body = b""
    for start, end in ranges:
        body += (
            f"--{boundary}\r\nContent-Type: image/png\r\nContent-Range: bytes {start}-{end - 1}/{len(media)}\r\n\r\n"
        ).encode()
        body += media[start:end] + b"\r\n"
    return body + f"--{boundary}--\r\n".encode()


async def test_a_multirange_answer_is_complete_though_the_resource_is_deleted_meanwhile(
    aiohttp_client, make_app, storage
):
    paused = PausingStorage(storage)
    client = await aiohttp_client(make_app(paused), headers=ALICE)
    media = png16(64, 48)
    resource = await create(client, media)
    ranges = [(10, 450), (1000, 1250), (len(media) - 300, len(media))]
    header = "bytes=" + ",".join(f"{start}-{end - 1}" for start, end in ranges)

    paused.armed = True
    answer = asyncio.create_task(client.get(f"{BASE}/images/{resource['id']}/media", headers={"Range": header}))
    await paused.paused.wait()  # the first bytes are out
    assert (await client.delete(f"{BASE}/images/{resource['id']}")).status == 204
    paused.resume.set()
    response = await answer

    assert response.status == 206
    boundary = response.headers["Content-Type"].split("boundary=")[1]
    assert await response.read() == expected_body(media, boundary, ranges)
