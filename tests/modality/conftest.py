"""Fixtures: the Modality simulator on a loopback port, a filters server wired to it, fakes.

The simulator runs in-process (aiohttp TestServer on 127.0.0.1) and counts the requests it
gets, so tests can say how often the filters server asked it something.
"""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from backends.memory import MemoryStorage
from filters_server.simulator import DEFAULT_BASE_PATH as SIM_BASE
from filters_server.simulator import create_app as create_simulator
from filters_server.simulator.sensors import CATALOGUE

from ..conftest import ALICE, BASE

SIM_USER, SIM_PASSWORD = "sim", "sim-secret"
SELECT_DEVICE = next(d.device_id for d in CATALOGUE if d.sensor.family == "Select")
UNKNOWN_ID = "6b0f4b52-0000-4000-8000-000000000000"


def sim_auth() -> dict[str, str]:
    token = base64.b64encode(f"{SIM_USER}:{SIM_PASSWORD}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


class RequestLog:
    """(method, path) of every request a Modality API (simulator or fake) received."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []

    @web.middleware
    async def middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        return await handler(request)

    def session_checks(self, session_id: str) -> int:
        return self.requests.count(("GET", f"{SIM_BASE}/acquisition/{session_id}"))


class RecordingStorage(MemoryStorage):
    """Memory storage that records the chunk sizes each streamed ``put`` received."""

    def __init__(self) -> None:
        super().__init__()
        self.puts: dict[str, list[int]] = {}

    async def put(self, key: str, chunks: AsyncIterator[bytes]):  # type: ignore[override]
        sizes = self.puts.setdefault(key, [])

        async def recorded() -> AsyncIterator[bytes]:
            async for chunk in chunks:
                sizes.append(len(chunk))
                yield chunk

        return await super().put(key, recorded())


@pytest.fixture
def sim_log() -> RequestLog:
    return RequestLog()


@pytest.fixture
def sim_app(sim_log: RequestLog) -> web.Application:
    app = create_simulator({SIM_USER: SIM_PASSWORD}, seed=11)
    app.middlewares.append(sim_log.middleware)
    return app


@pytest.fixture
async def sim_server(aiohttp_server, sim_app):
    return await aiohttp_server(sim_app, host="127.0.0.1")


@pytest.fixture
def sim_url(sim_server) -> str:
    return str(sim_server.make_url(SIM_BASE))


@pytest.fixture
async def sim_http(sim_server) -> AsyncIterator[aiohttp.ClientSession]:
    """An operator's client of the simulator: opens sessions, exposes, deletes sessions."""
    async with aiohttp.ClientSession(base_url=str(sim_server.make_url("/")), headers=sim_auth()) as http:
        yield http


@pytest.fixture
def acquire(sim_http) -> Callable[..., Awaitable[tuple[str, dict[str, Any]]]]:
    """acquire(**acquisitionInfo) -> (sessionId, Modality ImageInfo) of one new exposure (binned by default)."""

    async def run(**info: Any) -> tuple[str, dict[str, Any]]:
        resp = await sim_http.post(f"{SIM_BASE}/acquisition", json={"deviceId": SELECT_DEVICE, "clientName": "tests"})
        assert resp.status == 201, await resp.text()
        session_id = (await resp.json())["sessionId"]
        resp = await sim_http.put(
            f"{SIM_BASE}/acquisition/{session_id}/info", json={"enable": True, "binning": "Binned2x2", **info}
        )
        assert resp.status == 200, await resp.text()
        resp = await sim_http.post(f"{SIM_BASE}/acquisition/{session_id}/expose")
        assert resp.status == 201, await resp.text()
        return session_id, await resp.json()

    return run


@pytest.fixture
def end_session(sim_http) -> Callable[[str], Awaitable[None]]:
    async def run(session_id: str) -> None:
        resp = await sim_http.delete(f"{SIM_BASE}/acquisition/{session_id}")
        assert resp.status == 200

    return run


@pytest.fixture
def store() -> RecordingStorage:
    return RecordingStorage()


@pytest.fixture
def filters_for(aiohttp_client, make_app, store):
    """filters_for(modality_url, **settings) -> Alice's client of a filters server using that Modality API."""

    async def make(modality_url: str | None, **changes: Any):
        if modality_url is not None:
            changes = {
                "modality_url": modality_url,
                "modality_user": SIM_USER,
                "modality_password": SIM_PASSWORD,
                "modality_timeout_seconds": 5,
                **changes,
            }
        return await aiohttp_client(make_app(store, **changes), headers=ALICE)

    return make


@pytest.fixture
async def filters(filters_for, sim_url):
    """Alice's client of a filters server wired to the simulator."""
    return await filters_for(sim_url)


async def create_modality(client, session_id: str, image_id: str) -> aiohttp.ClientResponse:
    return await client.post(f"{BASE}/images/modality", json={"sessionId": session_id, "imageId": image_id})


@pytest.fixture
def created(filters, acquire):
    """created(**acquisitionInfo) -> (sessionId, ImageResource JSON) of a new modality resource."""

    async def run(**info: Any) -> tuple[str, dict[str, Any]]:
        session_id, image = await acquire(**info)
        resp = await create_modality(filters, session_id, image["id"])
        assert resp.status == 201, await resp.text()
        return session_id, await resp.json()

    return run


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def fake_modality(aiohttp_server, sim_log):
    """fake_modality(info=..., media=..., media_type=...) -> base URL of a Modality API stand-in.

    It knows every session and image id: ImageInfo answers ``info`` (a dict, or raw bytes sent
    with ``info_type``), media answers ``media`` as ``media_type``.
    """

    async def make(
        info: Any, media: bytes = b"", *, info_type: str = "application/json", media_type: str = "image/png"
    ) -> str:
        async def image_info(request: web.Request) -> web.Response:
            body = info if isinstance(info, bytes) else json.dumps(info).encode()
            return web.Response(body=body, content_type=info_type)

        async def image_media(request: web.Request) -> web.Response:
            return web.Response(body=media, content_type=media_type)

        async def session(request: web.Request) -> web.Response:
            return web.json_response({"sessionId": request.match_info["sid"]})

        app = web.Application(middlewares=[sim_log.middleware])
        app.router.add_get(SIM_BASE + "/acquisition/{sid}", session)
        app.router.add_get(SIM_BASE + "/acquisition/{sid}/images/{iid}", image_info)
        app.router.add_get(SIM_BASE + "/acquisition/{sid}/images/{iid}/media", image_media)
        server = await aiohttp_server(app, host="127.0.0.1")
        return str(server.make_url(SIM_BASE))

    return make
