"""Lifetimes: expiry, the sweeper, and restarts of a local-disk server."""

from __future__ import annotations

from backends.local import LocalStorage
from filters_server.api import appkeys as keys
from filters_server.core.layout import expiry_key

from .conftest import ALICE, BASE, create, stored_keys


async def test_a_resource_answers_until_its_expiry(client, clock):
    created = await create(client)
    clock.advance(8 * 3600 - 1)
    assert (await client.get(f"{BASE}/images/{created['id']}")).status == 200


async def test_an_expired_resource_is_404_at_once_before_any_sweep(client, clock):
    created = await create(client)
    clock.advance(8 * 3600)
    assert (await client.get(f"{BASE}/images/{created['id']}")).status == 404
    assert (await client.get(f"{BASE}/images/{created['id']}/media")).status == 404


async def test_sweeping_removes_the_bytes_of_expired_resources(client, app, clock, storage):
    await create(client)
    clock.advance(8 * 3600)
    removed = await app[keys.INDEX].sweep()
    assert removed == 1
    assert stored_keys(storage) == []


async def test_sweeping_keeps_resources_that_have_not_expired(client, app, clock, storage):
    old = await create(client)
    clock.advance(3600)
    young = await create(client)
    clock.advance(7 * 3600)
    assert await app[keys.INDEX].sweep() == 1
    assert (await client.get(f"{BASE}/images/{young['id']}")).status == 200
    assert not any(old["id"] in key for key in stored_keys(storage))


async def test_sweeping_works_through_many_expired_resources_in_batches(client, app, clock, storage):
    for _ in range(5):
        await create(client)
    clock.advance(8 * 3600)
    assert await app[keys.INDEX].sweep(batch=2) == 5
    assert stored_keys(storage) == []


async def test_the_background_sweeper_runs_on_its_interval(aiohttp_client, make_app, clock, storage):
    import asyncio

    app = make_app(storage, sweep_interval_seconds=0.05)
    client = await aiohttp_client(app, headers=ALICE)
    await create(client)
    clock.advance(8 * 3600)
    for _ in range(100):
        if not stored_keys(storage):
            break
        await asyncio.sleep(0.02)
    assert stored_keys(storage) == []


async def test_ttl_is_configurable(aiohttp_client, make_app, clock, storage):
    client = await aiohttp_client(make_app(storage, ttl_seconds=60, max_upload_seconds=30), headers=ALICE)
    created = await create(client)
    assert created["expires"] == "2027-01-15T08:01:00.000Z"


async def test_a_crashed_upload_is_swept_at_its_expiry(client, app, clock, storage):
    # Media written, metadata never: what a crash mid-upload leaves behind.
    index = app[keys.INDEX]
    await storage.put_bytes(expiry_key(clock() + 60, "0b5a3f4e-4d1c-4c0e-9a51-3f0e2d9c7b11"), b"")
    await storage.put_bytes("images/0b5a3f4e-4d1c-4c0e-9a51-3f0e2d9c7b11/media", b"partial")
    clock.advance(61)
    await index.sweep()
    assert stored_keys(storage) == []


async def test_restarting_a_local_disk_server_keeps_resources_and_their_expiry(
    aiohttp_client, make_app, clock, tmp_path
):
    root = str(tmp_path / "disk")
    first = await aiohttp_client(make_app(LocalStorage(root)), headers=ALICE)
    created = await create(first)
    media = await (await first.get(f"{BASE}/images/{created['id']}/media")).read()
    await first.close()

    second = await aiohttp_client(make_app(LocalStorage(root)), headers=ALICE)
    response = await second.get(f"{BASE}/images/{created['id']}")
    assert response.status == 200

    def without_url(body):
        return {k: v for k, v in body.items() if k != "url"}  # the port changed

    assert without_url(await response.json()) == without_url(created)
    assert await (await second.get(f"{BASE}/images/{created['id']}/media")).read() == media
    clock.advance(8 * 3600)
    assert (await second.get(f"{BASE}/images/{created['id']}")).status == 404


async def test_restart_removes_partial_writes_left_by_a_crash(aiohttp_client, make_app, tmp_path):
    root = tmp_path / "disk"
    (root / "tmp").mkdir(parents=True)
    (root / "tmp" / "half-written").write_bytes(b"x" * 100)
    await aiohttp_client(make_app(LocalStorage(str(root))), headers=ALICE)
    assert list((root / "tmp").iterdir()) == []
