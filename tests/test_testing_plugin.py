"""The in-process test server that other projects use in their own test suites."""

from __future__ import annotations

from filters_server.testing import FiltersTestServer, png16, upload_form


async def test_the_plugin_fixtures_give_a_working_authenticated_client(filters_client):
    response = await filters_client.post("images", data=upload_form(png16()))
    assert response.status == 201
    created = await response.json()
    assert (await filters_client.get(f"images/{created['id']}")).status == 200


async def test_the_test_server_works_without_pytest_fixtures():
    import aiohttp

    async with FiltersTestServer() as server, aiohttp.ClientSession(headers=server.headers) as http:
        response = await http.post(server.url("/images"), data=upload_form(png16()))
        assert response.status == 201
