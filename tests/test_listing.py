"""GET /images: a user's own live resources, newest first, in pages joined by a cursor."""

from __future__ import annotations

import aiohttp
import pytest
from yarl import URL

from backends.memory import MemoryStorage
from filters_server.core import index as index_module

from .conftest import ALICE, BASE, BOB, create
from tests.backends.s3_helpers import make_s3_storage


class SharedMemoryStorage(MemoryStorage):
    """Memory storage that says it is shared, so the index scans it as it scans S3."""

    shared = True


@pytest.fixture(params=["memory", "local", "shared-memory", "shared-local"])
def storage(request: pytest.FixtureRequest, tmp_path):
    """Private backends answer from the in-memory map; shared ones (S3, --processes) scan markers and metadata."""
    from backends.local import LocalStorage

    if request.param == "shared-memory":
        return SharedMemoryStorage()
    if request.param == "memory":
        return MemoryStorage()
    return LocalStorage(str(tmp_path / "storage"), shared=request.param == "shared-local")


async def create_many(client, clock, count: int) -> list[str]:
    """``count`` resources one second apart; their ids, oldest first."""
    ids = []
    for _ in range(count):
        ids.append((await create(client))["id"])
        clock.advance(1)
    return ids


async def list_page(client, url: str = f"{BASE}/images", **params) -> dict:
    response = await client.get(url, params=params)
    assert response.status == 200, await response.text()
    return await response.json()


async def follow(client, limit: int) -> list[list[str]]:
    """Every page's ids, following ``next`` to the end."""
    pages = []
    page = await list_page(client, limit=limit)
    while True:
        pages.append([item["id"] for item in page["items"]])
        if page["next"] is None:
            return pages
        page = await list_page(client, str(URL(page["next"]).relative()))


async def test_a_user_sees_only_their_own_images(client, bob, clock):
    alices = await create_many(client, clock, 2)
    bobs = await create_many(bob, clock, 2)
    mine = [item["id"] for item in (await list_page(client))["items"]]
    response = await bob.get(f"{BASE}/images")
    theirs = [item["id"] for item in (await response.json())["items"]]
    assert (sorted(mine), sorted(theirs)) == (sorted(alices), sorted(bobs))


async def test_images_are_listed_newest_first_as_image_resources(client, clock):
    ids = await create_many(client, clock, 3)
    page = await list_page(client)
    assert [item["id"] for item in page["items"]] == ids[::-1]
    assert page["items"][0] == await (await client.get(f"{BASE}/images/{ids[-1]}")).json()


async def test_pages_follow_each_other_without_repeats_or_gaps(client, clock):
    ids = await create_many(client, clock, 5)
    assert await follow(client, limit=2) == [ids[4:2:-1], ids[2:0:-1], ids[:1]]


async def test_the_default_page_holds_twenty(client, clock):
    ids = await create_many(client, clock, 21)
    page = await list_page(client)
    assert [item["id"] for item in page["items"]] == ids[:0:-1]
    assert page["next"] is not None


async def test_a_last_full_page_has_no_next(client, clock):
    await create_many(client, clock, 2)
    assert (await list_page(client, limit=2))["next"] is None


async def test_paging_goes_on_where_it_was_when_images_are_added_meanwhile(client, clock):
    ids = await create_many(client, clock, 3)
    first = await list_page(client, limit=2)
    await create_many(client, clock, 1)
    second = await list_page(client, str(URL(first["next"]).relative()))
    assert [item["id"] for item in second["items"]] == ids[:1]


async def test_expired_and_deleted_images_are_not_listed(client, clock, settings):
    await create_many(client, clock, 1)
    clock.advance(settings.ttl_seconds - 10)
    kept, deleted = await create_many(client, clock, 2)
    clock.advance(10)  # the first one has expired now, the other two live on
    assert (await client.delete(f"{BASE}/images/{deleted}")).status == 204
    assert [item["id"] for item in (await list_page(client))["items"]] == [kept]


async def test_nobody_is_listed_another_users_images_by_their_cursor(client, bob, clock):
    await create_many(client, clock, 3)
    cursor = URL((await list_page(client, limit=1))["next"]).query["cursor"]
    response = await bob.get(f"{BASE}/images", params={"cursor": cursor})
    assert (await response.json())["items"] == []


@pytest.mark.parametrize("limit", ["0", "101", "-1", "ten", "2.5", ""])
async def test_a_limit_outside_1_to_100_is_400(client, limit):
    response = await client.get(f"{BASE}/images", params={"limit": limit})
    assert response.status == 400
    assert "limit" in (await response.json())["detail"]


@pytest.mark.parametrize("cursor", ["", "abc", "123_not-a-uuid", "1_" + "A" * 36, "9" * 16 + "_" + "0" * 36])
async def test_a_cursor_the_server_did_not_make_is_400(client, cursor):
    response = await client.get(f"{BASE}/images", params={"cursor": cursor})
    assert response.status == 400
    assert response.content_type == "application/problem+json"


async def test_listing_needs_credentials(anonymous):
    response = await anonymous.get(f"{BASE}/images")
    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic ")


async def test_a_listing_is_not_cached(client):
    response = await client.get(f"{BASE}/images")
    assert response.headers["Cache-Control"] == "no-store"


async def test_shared_storage_pages_at_the_metadata_read_cap_lose_nothing(aiohttp_client, make_app, clock, monkeypatch):
    # Alice's images are interleaved with Bob's; with a tiny cap, pages may come back short but joined.
    monkeypatch.setattr(index_module, "LIST_MAX_METADATA_READS", 3)
    monkeypatch.setattr(index_module, "_LOAD_CONCURRENCY", 1)
    alice = await aiohttp_client(make_app(SharedMemoryStorage()), headers=ALICE)
    async with aiohttp.ClientSession(base_url=alice.make_url(""), headers=BOB) as bob:
        ids = []
        for _ in range(4):
            ids += await create_many(alice, clock, 1)
            await create_many(bob, clock, 2)
    pages = await follow(alice, limit=2)
    assert [resource_id for page in pages for resource_id in page] == ids[::-1]
    assert any(len(page) < 2 for page in pages[:-1])  # the cap really cut pages short


async def test_on_s3_users_page_through_their_own_images_only(aiohttp_client, make_app, clock, s3_endpoint):
    storage = await make_s3_storage(s3_endpoint)
    alice = await aiohttp_client(make_app(storage), headers=ALICE)
    async with aiohttp.ClientSession(base_url=alice.make_url(""), headers=BOB) as bob:
        ids = []
        for _ in range(3):
            ids += await create_many(alice, clock, 1)
            await create_many(bob, clock, 1)
    assert await follow(alice, limit=2) == [ids[:0:-1], ids[:1]]
