"""Shared fixtures: an app on memory or local-disk storage, a fake clock, authenticated clients."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import aiohttp
import hypothesis
import pytest

from backends.local import LocalStorage
from backends.memory import MemoryStorage
from filters_server.app import create_app
from filters_server.config import Settings
from filters_server.core.removals import Removals
from filters_server.core.users import parse_users
from filters_server.testing import png16, sample_image_info

# Live-S3 fixtures (aws_test_env, s3_endpoint) for every folder that needs them; started only when asked for.
pytest_plugins = ["tests.s3_fixtures"]

# CI replays the same examples on every run (a failure there is reproducible, and a submission
# never fails on a dice roll); a developer's runs keep exploring new ones. Loaded here, before any
# test module builds its own settings on top of the default.
hypothesis.settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    hypothesis.settings.load_profile("ci")

USERS = {"alice": "alice-secret", "bob": "bob-secret"}
ALICE = {"Authorization": aiohttp.encode_basic_auth("alice", USERS["alice"])}
BOB = {"Authorization": aiohttp.encode_basic_auth("bob", USERS["bob"])}
BASE = "/api/dsio/filters/v1"


class FakeClock:
    """Injectable time: tests move it instead of sleeping."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["memory", "local"])
def storage(request: pytest.FixtureRequest, tmp_path) -> MemoryStorage | LocalStorage:
    """Each API test that takes this runs once per private backend."""
    return MemoryStorage() if request.param == "memory" else LocalStorage(str(tmp_path / "storage"))


@pytest.fixture
def settings() -> Settings:
    return Settings(storage="memory://", sweep_interval_seconds=3600)


@pytest.fixture
def make_app(settings: Settings, clock: FakeClock):
    def factory(storage: Any = None, removals: Removals | None = None, **changes: Any):
        users = parse_users(",".join(f"{u}:{p}" for u, p in USERS.items()))
        return create_app(
            settings.replace(**changes), storage=storage or MemoryStorage(), clock=clock, users=users, removals=removals
        )

    return factory


@pytest.fixture
async def app(make_app, storage):
    return make_app(storage)


@pytest.fixture
async def client(aiohttp_client, app):
    """Alice's client."""
    return await aiohttp_client(app, headers=ALICE)


@pytest.fixture
async def bob(client):
    """Bob's client on the same server as ``client``."""
    async with aiohttp.ClientSession(base_url=client.make_url(""), headers=BOB) as session:
        yield session


@pytest.fixture
async def anonymous(client):
    async with aiohttp.ClientSession(base_url=client.make_url("")) as session:
        yield session


async def settle(app) -> None:
    """Wait for work the server finishes after answering (result cache writes)."""
    from filters_server.api import appkeys as keys

    await app[keys.BACKGROUND].drain()


def stored_keys(storage) -> list[str]:
    """Every key in a private backend (what 'nothing left behind' is checked against)."""
    if isinstance(storage, MemoryStorage):
        return storage.keys()
    return storage._list_sorted("", None)


def form(
    media: bytes | None = None,
    info: Any = None,
    *,
    media_first: bool = False,
    info_name: str = "imageInfo",
    info_type: str | None = "application/json",
    media_type: str | None = "image/png",
    media_name: str = "imageMedia",
) -> aiohttp.FormData:
    """A POST /images body in any of the shapes real clients send."""
    data = aiohttp.FormData()
    fields: list[Callable[[], None]] = []
    if info is not None:
        text = info if isinstance(info, (str, bytes)) else json.dumps(info)
        kwargs = {"content_type": info_type} if info_type else {}
        fields.append(lambda: data.add_field(info_name, text, **kwargs))
    if media is not None:
        kwargs = {"content_type": media_type} if media_type else {}
        fields.append(lambda: data.add_field(media_name, media, filename="image.png", **kwargs))
    for add in reversed(fields) if media_first else fields:
        add()
    return data


async def upload(client, media: bytes | None = None, info: Any = None, **kwargs: Any):
    media = png16() if media is None else media
    info = sample_image_info() if info is None else info
    return await client.post(f"{BASE}/images", data=form(media, info, **kwargs))


async def create(client, media: bytes | None = None, info: Any = None) -> dict[str, Any]:
    response = await upload(client, media, info)
    assert response.status == 201, await response.text()
    return await response.json()
