"""Fixtures for the Modality simulator and the Modality client tests."""

from __future__ import annotations

import base64
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from filters_server.simulator import DEFAULT_BASE_PATH, create_app
from filters_server.simulator.sensors import CATALOGUE

BASE = DEFAULT_BASE_PATH
USERS = {"sim": "sim", "op4": "s3cret:with:colons"}


def basic(user: str, password: str) -> dict[str, str]:
    """Authorization header (aiohttp 3.14 deprecates BasicAuth objects)."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


DEVICE_IDS = {d.sensor.family: d.device_id for d in CATALOGUE}


@pytest.fixture
def sim_app() -> aiohttp.web.Application:
    return create_app(USERS, seed=7)


@pytest.fixture
async def sim(aiohttp_client, sim_app) -> TestClient:
    """An authenticated test client of a fresh simulator."""
    return await aiohttp_client(sim_app, headers=basic("sim", "sim"))


async def _open_session(client: TestClient, family: str = "Select") -> str:
    resp = await client.post(f"{BASE}/acquisition", json={"deviceId": DEVICE_IDS[family], "clientName": "tests"})
    assert resp.status == 201, await resp.text()
    return (await resp.json())["sessionId"]


async def _expose(client: TestClient, session_id: str, **info: Any) -> dict[str, Any]:
    """Enable acquisition with ``info`` (default: binned, to keep tests fast) and expose once."""
    body = {"enable": True, "binning": "Binned2x2", **info}
    resp = await client.put(f"{BASE}/acquisition/{session_id}/info", json=body)
    assert resp.status == 200, await resp.text()
    resp = await client.post(f"{BASE}/acquisition/{session_id}/expose")
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def _acquire(client: TestClient, family: str = "Select", **info: Any) -> tuple[str, dict[str, Any]]:
    """A new session on ``family`` holding one exposure: (sessionId, ImageInfo)."""
    session_id = await _open_session(client, family)
    return session_id, await _expose(client, session_id, **info)


# Helpers as fixtures, so test modules need not import this conftest.
@pytest.fixture
def open_session():
    return _open_session


@pytest.fixture
def expose():
    return _expose


@pytest.fixture
def acquire():
    return _acquire


@pytest.fixture
def credentials():
    """credentials(user, password) -> headers dict with Basic auth."""
    return basic


@pytest.fixture
def base() -> str:
    return BASE


@pytest.fixture
def device_ids() -> dict[str, str]:
    return dict(DEVICE_IDS)
