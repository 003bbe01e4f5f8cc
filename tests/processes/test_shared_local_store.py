"""Several server processes on one local-disk store (``--processes``) behave as one server.

Two applications in this test process stand for two server processes: each has its own index,
caches and worker pool, and they share only the directory, as forked processes do.
"""

from __future__ import annotations

import pytest

from backends.local import LocalStorage

from tests.conftest import ALICE, BASE, create, settle, stored_keys


@pytest.fixture
def root(tmp_path):
    return str(tmp_path / "shared")


@pytest.fixture
async def pair(aiohttp_client, make_app, root):
    """Two servers on one shared directory: (first, second) clients and their apps."""
    first_app = make_app(LocalStorage(root, shared=True))
    second_app = make_app(LocalStorage(root, shared=True))
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
    from filters_server.api import appkeys as keys

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
