"""Basic auth: every route but the base path root needs valid credentials."""

BASE = "/api/dsio/modality/v1"


async def test_root_answers_without_credentials(aiohttp_client, sim_app, credentials):
    client = await aiohttp_client(sim_app)
    resp = await client.get(f"{BASE}/")
    assert resp.status == 200


async def test_api_route_without_credentials_is_401_with_challenge(aiohttp_client, sim_app, credentials):
    client = await aiohttp_client(sim_app)
    resp = await client.get(f"{BASE}/devices")
    assert resp.status == 401
    assert resp.headers["WWW-Authenticate"].startswith("Basic ")


async def test_wrong_password_is_401(aiohttp_client, sim_app, credentials):
    client = await aiohttp_client(sim_app, headers=credentials("sim", "wrong"))
    resp = await client.get(f"{BASE}/devices")
    assert resp.status == 401


async def test_unknown_user_is_401(aiohttp_client, sim_app, credentials):
    client = await aiohttp_client(sim_app, headers=credentials("nobody", "sim"))
    resp = await client.get(f"{BASE}/devices")
    assert resp.status == 401


async def test_password_may_contain_colons(aiohttp_client, sim_app, credentials):
    client = await aiohttp_client(sim_app, headers=credentials("op4", "s3cret:with:colons"))
    resp = await client.get(f"{BASE}/devices")
    assert resp.status == 200


async def test_base_path_is_configurable(aiohttp_client, credentials):
    from filters_server.simulator import create_app

    client = await aiohttp_client(create_app({"a": "b"}, base_path="/modality"), headers=credentials("a", "b"))
    assert (await client.get("/modality/devices")).status == 200
    assert (await client.get(f"{BASE}/devices")).status == 404
