"""POST /images/modality through the client, against the Modality API simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from filters_client import (
    ConnectionFailed,
    FiltersClient,
    ModalitySession,
    NotImplementedByServer,
    RetryPolicy,
)
from filters_server.config import Settings
from filters_server.simulator import DEFAULT_BASE_PATH as SIM_BASE
from filters_server.simulator import create_app as create_simulator
from filters_server.simulator.sensors import CATALOGUE
from filters_server.testing import TEST_PASSWORD, TEST_USER, FiltersTestServer

SIM_USER, SIM_PASSWORD = "sim", "sim-secret"


@pytest.fixture
async def simulator() -> AsyncIterator[TestServer]:
    server = TestServer(create_simulator({SIM_USER: SIM_PASSWORD}, seed=3), host="127.0.0.1")
    await server.start_server()
    yield server
    await server.close()


async def acquire(simulator: TestServer) -> tuple[str, str]:
    """One exposure on the simulator: (sessionId, imageId)."""
    device = next(d.device_id for d in CATALOGUE if d.sensor.family == "Select")
    auth = {"Authorization": aiohttp.encode_basic_auth(SIM_USER, SIM_PASSWORD)}
    async with aiohttp.ClientSession(base_url=str(simulator.make_url("/")), headers=auth) as http:
        async with http.post(f"{SIM_BASE}/acquisition", json={"deviceId": device, "clientName": "t"}) as r:
            session_id = (await r.json())["sessionId"]
        async with http.put(f"{SIM_BASE}/acquisition/{session_id}/info", json={"enable": True}) as r:
            assert r.status == 200
        async with http.post(f"{SIM_BASE}/acquisition/{session_id}/expose") as r:
            assert r.status == 201
            return session_id, (await r.json())["id"]


async def test_create_from_modality_returns_a_resource_with_its_session(simulator: TestServer, no_env: None) -> None:
    settings = Settings(
        storage="memory://",
        modality_url=str(simulator.make_url(SIM_BASE)),
        modality_user=SIM_USER,
        modality_password=SIM_PASSWORD,
    )
    session_id, image_id = await acquire(simulator)
    async with (
        FiltersTestServer(settings) as server,
        FiltersClient(server.base_url, user=TEST_USER, password=TEST_PASSWORD) as client,
    ):
        resource = await client.create_from_modality(session_id, image_id)
        assert resource.modality_session == ModalitySession(session_id, image_id)
        assert (await client.media(resource.id)).startswith(b"\x89PNG")


async def test_create_from_modality_without_a_modality_api_is_not_implemented(client: FiltersClient) -> None:
    with pytest.raises(NotImplementedByServer) as caught:
        await client.create_from_modality("s1", "i1")
    assert caught.value.status == 501


async def test_modality_create_is_not_resent_after_a_broken_connection(no_env: None) -> None:
    """The server may have created the resource: a retry could leave a duplicate behind."""
    calls = 0

    async def broken(request: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        assert request.transport is not None
        request.transport.abort()
        return web.Response()

    app = web.Application()
    app.router.add_post("/api/images/modality", broken)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        async with FiltersClient(str(server.make_url("/api")), retry=RetryPolicy(retries=3, backoff=0)) as client:
            with pytest.raises(ConnectionFailed):
                await client.create_from_modality("s", "i")
        assert calls == 1
    finally:
        await server.close()
