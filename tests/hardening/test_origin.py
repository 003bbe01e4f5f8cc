"""The resource ``url`` never echoes a Host that is not configured, and a bad Host never costs a resource."""

from __future__ import annotations

import pytest

from filters_server.testing import png16, sample_image_info

from ..conftest import ALICE, BASE, form, stored_keys


def own_origin(client) -> str:
    return f"http://127.0.0.1:{client.server.port}"


@pytest.mark.parametrize("host", ["x:99999", "x:abc", "", "127.0.0.1:0", "[::1"])
async def test_a_bad_host_on_upload_still_creates_and_names_the_resource(client, storage, host):
    response = await client.post(f"{BASE}/images", data=form(png16(), sample_image_info()), headers={"Host": host})
    assert response.status == 201, await response.text()
    created = await response.json()
    assert created["url"] == f"{own_origin(client)}{BASE}/images/{created['id']}/media"
    assert (await client.get(f"{BASE}/images/{created['id']}")).status == 200
    assert [key for key in stored_keys(storage) if key.endswith("/meta.json")] == [f"images/{created['id']}/meta.json"]


async def test_a_foreign_host_is_not_echoed(client):
    response = await client.post(
        f"{BASE}/images", data=form(png16(), sample_image_info()), headers={"Host": "evil.example:443"}
    )
    created = await response.json()
    assert created["url"].startswith(own_origin(client) + "/")


async def test_an_allowed_host_is_echoed(client):
    response = await client.post(
        f"{BASE}/images", data=form(png16(), sample_image_info()), headers={"Host": "LocalHost:8443"}
    )
    created = await response.json()
    assert created["url"] == f"http://LocalHost:8443{BASE}/images/{created['id']}/media"


async def test_allowed_hosts_is_configurable(aiohttp_client, make_app):
    client = await aiohttp_client(make_app(allowed_hosts="filters.example"), headers=ALICE)
    response = await client.post(
        f"{BASE}/images", data=form(png16(), sample_image_info()), headers={"Host": "filters.example"}
    )
    created = await response.json()
    assert created["url"].startswith(f"http://filters.example{BASE}/")


async def test_a_bad_host_on_lookup_gets_the_servers_own_address(client):
    response = await client.post(f"{BASE}/images", data=form(png16(), sample_image_info()))
    created = await response.json()
    response = await client.get(f"{BASE}/images/{created['id']}", headers={"Host": "x:99999"})
    assert response.status == 200
    assert (await response.json())["url"] == created["url"]


@pytest.mark.parametrize("host", ["x:99999", "evil.example"])
async def test_a_listings_next_link_names_the_servers_own_address_for_a_bad_or_foreign_host(client, host):
    for _ in range(2):
        await client.post(f"{BASE}/images", data=form(png16(), sample_image_info()))
    response = await client.get(f"{BASE}/images?limit=1", headers={"Host": host})
    assert response.status == 200
    assert (await response.json())["next"].startswith(f"{own_origin(client)}{BASE}/images?limit=1&cursor=")
