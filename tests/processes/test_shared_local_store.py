"""Several server processes on one local-disk store (``--processes``) behave as one server.

Two applications in this test process stand for two server processes: each has its own index,
caches and worker pool, and they share only the directory and the count of removals, as forked
processes do.
"""

from __future__ import annotations

import pytest

from backends.local import LocalStorage
from filters_server.api import appkeys as keys
from filters_server.core.removals import Removals, shared_slots

from tests.conftest import ALICE, BASE, create, settle, stored_keys


@pytest.fixture
def root(tmp_path):
    return str(tmp_path / "shared")


@pytest.fixture
async def pair(aiohttp_client, make_app, root):
    """Two servers on one shared directory: (first, second) clients and their apps."""
    slots = shared_slots(2)
    first_app = make_app(LocalStorage(root, shared=True), removals=Removals(slots, 0))
    second_app = make_app(LocalStorage(root, shared=True), removals=Removals(slots, 1))
    first = await aiohttp_client(first_app, headers=ALICE)
    second = await aiohttp_client(second_app, headers=ALICE)
    return first, second, first_app, second_app


async def test_what_one_process_creates_the_other_serves(pair):
    first, second, *_ = pair
    created = await create(first)
    answer = await second.get(f"{BASE}/images/{created['id']}")
    assert answer.status == 200
    assert (await answer.json())["imageInfo"] == created["imageInfo"]
    media = await (await first.get(f"{BASE}/images/{created['id']}/media")).read()
    assert await (await second.get(f"{BASE}/images/{created['id']}/media")).read() == media


async def test_what_one_process_deletes_the_other_no_longer_serves(pair):
    first, second, *_ = pair
    created = await create(first)
    assert (await second.get(f"{BASE}/images/{created['id']}")).status == 200  # seen once by the other
    assert (await first.delete(f"{BASE}/images/{created['id']}")).status == 204
    assert (await second.get(f"{BASE}/images/{created['id']}")).status == 404
    assert (await second.get(f"{BASE}/images/{created['id']}/media")).status == 404
    assert (await second.post(f"{BASE}/images/{created['id']}/filters/unmap")).status == 404


async def test_a_result_computed_by_one_process_is_a_cache_hit_in_the_other(pair):
    first, second, first_app, _ = pair
    created = await create(first)
    computed = await first.post(f"{BASE}/images/{created['id']}/filters/select")
    await settle(first_app)
    repeat = await second.post(f"{BASE}/images/{created['id']}/filters/select")
    assert repeat.headers["X-Cache"] == "hit"
    assert await repeat.read() == await computed.read()


async def test_expiry_swept_by_one_process_is_gone_for_both(pair, clock, root):
    first, second, first_app, second_app = pair
    created = await create(first)
    clock.advance(8 * 3600)
    assert (await second.get(f"{BASE}/images/{created['id']}")).status == 404  # expired: invisible at once
    assert await second_app[keys.INDEX].sweep() == 1
    assert await first_app[keys.INDEX].sweep() == 0  # the other's sweep finds nothing left: idempotent
    assert stored_keys(LocalStorage(root)) == []


async def test_a_starting_process_leaves_the_others_writes_in_progress_alone(root):
    writer = LocalStorage(root, shared=True)
    await writer.start()
    in_progress = f"{writer.root}/tmp/pending-write"
    with open(in_progress, "wb") as handle:
        handle.write(b"half an upload")
    late = LocalStorage(root, shared=True)
    await late.start()
    with open(in_progress, "rb") as handle:
        assert handle.read() == b"half an upload"


def _metadata_reads(app) -> list[str]:
    """The keys of metadata the app's storage is asked about from now on (read or stat)."""
    storage = app[keys.STORAGE]
    asked: list[str] = []
    for name in ("get_bytes", "stat"):
        real = getattr(storage, name)

        async def counted(key, *args, _real=real, **kwargs):
            if key.endswith("/meta.json"):
                asked.append(key)
            return await _real(key, *args, **kwargs)

        setattr(storage, name, counted)
    return asked


async def test_a_process_answers_from_memory_what_it_has_read_while_nothing_was_removed(pair):
    first, second, _, second_app = pair
    created = await create(first)
    asked = _metadata_reads(second_app)
    for _ in range(3):
        assert (await second.get(f"{BASE}/images/{created['id']}")).status == 200
    assert len(asked) == 1


async def test_after_any_removal_a_process_asks_the_store_again(pair):
    first, second, _, second_app = pair
    kept, removed = await create(first), await create(first)
    assert (await second.get(f"{BASE}/images/{kept['id']}")).status == 200
    asked = _metadata_reads(second_app)
    assert (await first.delete(f"{BASE}/images/{removed['id']}")).status == 204
    assert (await second.get(f"{BASE}/images/{kept['id']}")).status == 200
    assert (await second.get(f"{BASE}/images/{kept['id']}")).status == 200
    assert len(asked) == 1  # once after the removal, then from memory again


async def test_a_removal_while_a_process_reads_makes_its_next_lookup_ask_again(pair):
    first, second, _, second_app = pair
    created = await create(first)
    storage = second_app[keys.STORAGE]
    real = storage.get_bytes

    async def read_while_the_other_deletes(key, *args, **kwargs):
        data = await real(key, *args, **kwargs)
        assert (await first.delete(f"{BASE}/images/{created['id']}")).status == 204
        return data

    storage.get_bytes = read_while_the_other_deletes
    assert (await second.get(f"{BASE}/images/{created['id']}")).status == 200  # it existed when read
    storage.get_bytes = real
    assert (await second.get(f"{BASE}/images/{created['id']}")).status == 404


async def test_a_process_forgets_what_expired_once_it_sweeps(pair, clock):
    first, second, first_app, second_app = pair
    created = await create(first)
    assert (await second.get(f"{BASE}/images/{created['id']}")).status == 200
    assert len(second_app[keys.INDEX]) == 1
    clock.advance(8 * 3600)
    assert await first_app[keys.INDEX].sweep() == 1
    await second_app[keys.INDEX].sweep()
    assert len(second_app[keys.INDEX]) == 0
