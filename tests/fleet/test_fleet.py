"""Two replicas on one S3 bucket behave as one service (docs/architecture.md: read-through on shared storage).

Whatever one replica created, the other serves; whatever one deleted or let
expire, neither answers 200 for any more; and the bytes of expired resources
leave the bucket, whichever replica's sweeper gets there first.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest

from filters_server.testing import png16, sample_image_info, upload_form

from tests.fleet.conftest import AUTH, Fleet, Replica, wait_for

MEDIA = png16(256, 192, seed=3)
TTL_SECONDS = 2
SWEEP_SECONDS = 0.5
# Created, expired after TTL_SECONDS, swept within a few sweep intervals: generous on a loaded machine.
SWEPT_WITHIN = TTL_SECONDS + 8


@pytest.fixture(scope="module")
def fleet(start_fleet: Callable[..., Fleet]) -> Fleet:
    """Replicas with the default lifetime: nothing expires during a test."""
    return start_fleet()


@pytest.fixture(scope="module")
def short_lived_fleet(start_fleet: Callable[..., Fleet]) -> Fleet:
    """Replicas whose resources expire within seconds and that both sweep twice a second."""
    return start_fleet(
        "--ttl-seconds",
        str(TTL_SECONDS),
        "--sweep-interval-seconds",
        str(SWEEP_SECONDS),
        "--max-upload-seconds",  # must be under the TTL
        str(TTL_SECONDS / 2),
    )


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(headers=AUTH) as session:
        yield session


async def create_on(http: aiohttp.ClientSession, replica: Replica, media: bytes = MEDIA) -> dict[str, Any]:
    async with http.post(replica.api("/images"), data=upload_form(media, sample_image_info())) as response:
        assert response.status == 201, await response.text()
        return await response.json()


async def status_of(http: aiohttp.ClientSession, method: str, url: str) -> int:
    async with http.request(method, url) as response:
        await response.read()
        return response.status


async def test_replica_serves_a_resource_another_created(fleet: Fleet, http: aiohttp.ClientSession) -> None:
    created = await create_on(http, fleet.a)
    async with http.get(fleet.b.api(f"/images/{created['id']}")) as response:
        assert response.status == 200
        assert await response.json() == created


async def test_replica_serves_byte_ranges_of_media_another_stored(fleet: Fleet, http: aiohttp.ClientSession) -> None:
    created = await create_on(http, fleet.a)
    url = fleet.b.api(f"/images/{created['id']}/media")
    async with http.get(url, headers={"Range": "bytes=100-1099"}) as response:
        assert response.status == 206
        assert response.headers["Content-Range"] == f"bytes 100-1099/{len(MEDIA)}"
        assert await response.read() == MEDIA[100:1100]


async def test_replica_filters_media_another_stored(fleet: Fleet, http: aiohttp.ClientSession) -> None:
    created = await create_on(http, fleet.a)
    url = fleet.b.api(f"/images/{created['id']}/filters/supreme")
    async with http.post(url, json={"task": "general", "sharpness": 70}, headers={"Accept": "image/png"}) as response:
        assert response.status == 200
        assert response.content_type == "image/png"
        assert (await response.read()).startswith(b"\x89PNG\r\n\x1a\n")


async def test_replica_deletes_a_resource_another_created(fleet: Fleet, http: aiohttp.ClientSession) -> None:
    created = await create_on(http, fleet.a)
    assert await status_of(http, "DELETE", fleet.b.api(f"/images/{created['id']}")) == 204
    assert await fleet.keys(f"images/{created['id']}/") == []


async def test_creator_never_answers_200_for_what_another_replica_deleted(
    fleet: Fleet, http: aiohttp.ClientSession
) -> None:
    created = await create_on(http, fleet.a)
    image = f"/images/{created['id']}"
    # Replica a has seen the resource, its media and a filter result (now cached in the bucket).
    assert await status_of(http, "GET", fleet.a.api(image)) == 200
    assert await status_of(http, "GET", fleet.a.api(image + "/media")) == 200
    assert await status_of(http, "POST", fleet.a.api(image + "/filters/unmap")) == 200

    assert await status_of(http, "DELETE", fleet.b.api(image)) == 204

    assert await status_of(http, "GET", fleet.a.api(image)) == 404
    assert await status_of(http, "GET", fleet.a.api(image + "/media")) == 404
    assert await status_of(http, "POST", fleet.a.api(image + "/filters/unmap")) == 404
    assert await status_of(http, "DELETE", fleet.a.api(image)) == 404


async def test_expired_resource_is_gone_from_every_replica_and_from_the_bucket(
    short_lived_fleet: Fleet, http: aiohttp.ClientSession
) -> None:
    fleet = short_lived_fleet
    created = await create_on(http, fleet.a)
    resource_id = created["id"]
    assert await fleet.keys(f"images/{resource_id}/")  # stored while it lives

    async def gone() -> bool:
        return await status_of(http, "GET", fleet.b.api(f"/images/{resource_id}")) == 404 and not [
            key for key in await fleet.keys() if resource_id in key
        ]

    await wait_for(gone, timeout=SWEPT_WITHIN)
    assert await status_of(http, "GET", fleet.a.api(f"/images/{resource_id}")) == 404


async def test_two_sweepers_at_once_remove_everything_without_errors(
    short_lived_fleet: Fleet, http: aiohttp.ClientSession
) -> None:
    fleet = short_lived_fleet
    # Resources from both replicas expire together, so both sweepers find the same work.
    for replica in (fleet.a, fleet.b, fleet.a, fleet.b, fleet.a, fleet.b):
        await create_on(http, replica, png16(32, 32))

    async def bucket_empty() -> bool:
        return await fleet.keys() == []

    await wait_for(bucket_empty, timeout=SWEPT_WITHIN)
    assert re.search(r"swept \d+ expired resources", fleet.a.log() + fleet.b.log())
    for replica in (fleet.a, fleet.b):
        assert replica.running()
        assert await status_of(http, "GET", replica.url + "/readyz") == 200
        log = replica.log()
        assert "Traceback" not in log
        assert not re.search(r" (ERROR|CRITICAL) ", log), log
