"""Stored filter results are bounded per image and in all; the least recently used go first."""

from __future__ import annotations

import pytest

from backends.memory import MemoryStorage
from filters_server.api import appkeys as keys
from filters_server.testing import png16

from ..conftest import ALICE, BASE, create, settle, stored_keys

FILTERS = {  # three results of one image: (filter, body)
    "a": ("unmap", None),
    "b": ("select", {"enhancementMode": "edgeHigh"}),
    "c": ("supreme", {"task": "general", "sharpness": 80}),
}


@pytest.fixture
async def start(aiohttp_client, make_app, storage):
    """A server on ``storage`` with the given bounds, and a function to apply a named filter on a resource."""

    async def factory(**bounds: int):
        app = make_app(storage, **bounds)
        client = await aiohttp_client(app, headers=ALICE)

        async def apply(resource: dict, name: str) -> bytes:
            filter_name, body = FILTERS[name]
            response = await client.post(f"{BASE}/images/{resource['id']}/filters/{filter_name}", json=body)
            assert response.status == 200, await response.text()
            output = await response.read()
            await settle(app)  # the result is stored
            return output

        return app, client, apply

    return factory


def results_of(storage, resource: dict) -> int:
    return len([key for key in stored_keys(storage) if key.startswith(f"images/{resource['id']}/results/")])


async def test_results_of_an_image_beyond_its_bound_are_evicted_least_recently_used_first(start, storage):
    _app, client, apply = await start(max_results_bytes_per_image=0)
    sizes = {}
    probe = await create(client, png16(seed=1))
    for name in FILTERS:
        sizes[name] = len(await apply(probe, name))

    _app, client, apply = await start(max_results_bytes_per_image=sum(sizes.values()) - 1)
    resource = await create(client, png16(seed=1))
    await apply(resource, "a")
    await apply(resource, "b")
    await apply(resource, "a")  # a hit: "a" is now used more recently than "b"
    await apply(resource, "c")  # all three do not fit: "b" goes
    response_a = await client.post(f"{BASE}/images/{resource['id']}/filters/unmap")
    response_b = await client.post(f"{BASE}/images/{resource['id']}/filters/select", json=FILTERS["b"][1])
    assert (response_a.headers["X-Cache"], response_b.headers["X-Cache"]) == ("hit", "miss")


async def test_the_result_just_stored_stays_even_when_larger_than_the_bound(start, storage):
    _app, client, apply = await start(max_results_bytes_per_image=1)
    resource = await create(client)
    await apply(resource, "a")
    await apply(resource, "b")
    assert results_of(storage, resource) == 1


async def test_results_beyond_the_total_bound_are_evicted_across_images(start, storage):
    _app, client, apply = await start(max_results_bytes=1, max_results_bytes_per_image=0)
    first, second = await create(client, png16(seed=1)), await create(client, png16(seed=2))
    await apply(first, "a")
    await apply(second, "a")
    assert (results_of(storage, first), results_of(storage, second)) == (0, 1)


async def test_evictions_and_stored_bytes_are_in_the_metrics(start):
    _app, client, apply = await start(max_results_bytes_per_image=1)
    resource = await create(client)
    first = await apply(resource, "a")
    second = await apply(resource, "b")
    text = await (await client.get("/metrics")).text()
    assert f"filters_result_cache_evicted_bytes_total {float(len(first))}" in text
    assert f"filters_result_cache_stored_bytes {float(len(second))}" in text


async def test_a_deleted_image_no_longer_counts_against_the_total(start):
    app, client, apply = await start()
    resource = await create(client)
    await apply(resource, "a")
    assert (await client.delete(f"{BASE}/images/{resource['id']}")).status == 204
    assert app[keys.RESULTS].bounds.stored_bytes == 0


async def test_on_local_disk_shared_by_processes_the_per_image_bound_still_holds(aiohttp_client, make_app, tmp_path):
    from backends.local import LocalStorage

    shared = LocalStorage(str(tmp_path / "shared"), shared=True)
    app = make_app(shared, max_results_bytes_per_image=1)
    client = await aiohttp_client(app, headers=ALICE)
    resource = await create(client)
    for filter_name in ("unmap", "select"):
        assert (await client.post(f"{BASE}/images/{resource['id']}/filters/{filter_name}")).status == 200
        await settle(app)
    kept = [key async for key in shared.list(f"images/{resource['id']}/results/")]
    assert [key.rsplit("/", 1)[1].split("-")[0] for key in kept] == ["select"]


class EvictsAfterStat(MemoryStorage):
    """Memory storage where a stored result vanishes right after it was found, as if evicted meanwhile."""

    def __init__(self) -> None:
        super().__init__()
        self.armed = False

    async def stat(self, key: str):  # type: ignore[no-untyped-def]
        info = await super().stat(key)
        if self.armed and "/results/" in key:
            self.armed = False
            await self.delete(key)
        return info


async def test_a_result_evicted_while_being_served_is_computed_again(aiohttp_client, make_app):
    storage = EvictsAfterStat()
    app = make_app(storage)
    client = await aiohttp_client(app, headers=ALICE)
    resource = await create(client)
    first = await client.post(f"{BASE}/images/{resource['id']}/filters/unmap")
    await settle(app)
    storage.armed = True
    again = await client.post(f"{BASE}/images/{resource['id']}/filters/unmap")
    assert again.status == 200
    assert again.headers["X-Cache"] == "miss"
    assert await again.read() == await first.read()
