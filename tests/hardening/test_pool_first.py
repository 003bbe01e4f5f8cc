"""A full filter pool answers 503 at once, before the source image is read from storage."""

from __future__ import annotations

from backends.memory import MemoryStorage
from filters_server.api import appkeys as keys

from ..conftest import ALICE, BASE, create


class CountingStorage(MemoryStorage):
    """Memory storage that records the keys of whole-object reads."""

    def __init__(self) -> None:
        super().__init__()
        self.got: list[str] = []

    async def get_bytes(self, key: str) -> bytes:
        self.got.append(key)
        return await super().get_bytes(key)


async def test_a_full_pool_refuses_a_filter_without_reading_the_source(aiohttp_client, make_app):
    storage = CountingStorage()
    app = make_app(storage, workers=1, queue_depth=0)
    client = await aiohttp_client(app, headers=ALICE)
    resource = await create(client)
    with app[keys.WORKERS].reserve():  # the only place in the pool is taken
        response = await client.post(f"{BASE}/images/{resource['id']}/filters/unmap")
    assert response.status == 503
    assert response.headers["Retry-After"]
    assert [key for key in storage.got if key.endswith("/media")] == []


async def test_a_filter_runs_once_the_pool_has_room_again(aiohttp_client, make_app):
    app = make_app(CountingStorage(), workers=1, queue_depth=0)
    client = await aiohttp_client(app, headers=ALICE)
    resource = await create(client)
    with app[keys.WORKERS].reserve():
        assert (await client.post(f"{BASE}/images/{resource['id']}/filters/unmap")).status == 503
    assert (await client.post(f"{BASE}/images/{resource['id']}/filters/unmap")).status == 200
