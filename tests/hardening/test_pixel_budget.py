"""Pixel memory in flight is bounded: a job that does not fit now gets 503, one that never fits gets 413."""

from __future__ import annotations

from filters_server.api import appkeys as keys
from filters_server.core.pixel_budget import job_bytes
from filters_server.testing import png16

from ..conftest import ALICE, BASE, create, settle, stored_keys

WIDTH, HEIGHT = 64, 48
SUPREME = job_bytes("supreme", WIDTH, HEIGHT)


async def test_an_image_larger_than_the_whole_budget_gets_413(aiohttp_client, make_app):
    client = await aiohttp_client(make_app(max_decoded_bytes=SUPREME - 1), headers=ALICE)
    resource = await create(client, png16(WIDTH, HEIGHT))
    response = await client.post(f"{BASE}/images/{resource['id']}/filters/supreme")
    assert response.status == 413
    assert response.content_type == "application/problem+json"


async def test_a_job_that_does_not_fit_beside_the_running_ones_gets_503(aiohttp_client, make_app):
    app = make_app(max_decoded_bytes=SUPREME)
    client = await aiohttp_client(app, headers=ALICE)
    resource = await create(client, png16(WIDTH, HEIGHT))
    with app[keys.PIXELS].hold(1):  # another job holds a little of the budget
        response = await client.post(f"{BASE}/images/{resource['id']}/filters/supreme")
    assert response.status == 503
    assert response.headers["Retry-After"]


async def test_a_job_that_fits_runs_and_gives_its_memory_back(aiohttp_client, make_app, storage):
    app = make_app(storage, max_decoded_bytes=SUPREME)
    client = await aiohttp_client(app, headers=ALICE)
    resource = await create(client, png16(WIDTH, HEIGHT))
    assert (await client.post(f"{BASE}/images/{resource['id']}/filters/supreme")).status == 200
    assert app[keys.PIXELS].in_use == 0
    assert (await client.post(f"{BASE}/images/{resource['id']}/filters/unmap")).status == 200


async def test_a_refused_job_stores_no_result(aiohttp_client, make_app, storage):
    app = make_app(storage, max_decoded_bytes=SUPREME - 1)
    client = await aiohttp_client(app, headers=ALICE)
    resource = await create(client, png16(WIDTH, HEIGHT))
    await client.post(f"{BASE}/images/{resource['id']}/filters/supreme")
    await settle(app)
    assert [key for key in stored_keys(storage) if "/results/" in key] == []
