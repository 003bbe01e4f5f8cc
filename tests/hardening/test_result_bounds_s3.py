"""On S3 only the per-image bound of stored results holds: it is enforced from the bucket's own listing."""

from __future__ import annotations

from filters_server.testing import png16

from ..conftest import ALICE, BASE, create, settle
from tests.backends.s3_helpers import make_s3_storage


async def results_of(storage, resource: dict) -> list[str]:
    return [key async for key in storage.list(f"images/{resource['id']}/results/")]


async def test_on_s3_an_image_keeps_only_the_results_its_bound_admits(aiohttp_client, make_app, s3_endpoint):
    storage = await make_s3_storage(s3_endpoint)
    app = make_app(storage, max_results_bytes_per_image=1)
    client = await aiohttp_client(app, headers=ALICE)
    resource = await create(client, png16())
    assert (await client.post(f"{BASE}/images/{resource['id']}/filters/unmap")).status == 200
    await settle(app)
    assert (await client.post(f"{BASE}/images/{resource['id']}/filters/select")).status == 200
    await settle(app)
    kept = await results_of(storage, resource)
    assert len(kept) == 1
    assert kept[0].rsplit("/", 1)[1].startswith("select-")
