"""Fixtures for the client tests: a real in-process server that records what it was asked,
clients of it (async and sync), and small sensor-like PNGs."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from filters_client import FiltersClient, RetryPolicy, SyncFiltersClient
from filters_server.config import Settings
from filters_server.testing import (
    TEST_PASSWORD,
    TEST_USER,
    FiltersTestServer,
    png16,
    sample_image_info,
)


class Recorder:
    """(method, path, headers) of every request the server answered, in order."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, str]]] = []

    async def on_prepare(self, request: web.Request, response: web.StreamResponse) -> None:
        self.requests.append((request.method, request.path, dict(request.headers)))

    def paths(self, method: str | None = None) -> list[str]:
        return [path for m, path, _ in self.requests if method is None or m == method]


async def start_server(settings: Settings | None = None, **kwargs: Any) -> tuple[FiltersTestServer, Recorder]:
    server = FiltersTestServer(settings or Settings(storage="memory://", sweep_interval_seconds=3600), **kwargs)
    recorder = Recorder()
    server.app.on_response_prepare.append(recorder.on_prepare)
    await server.start()
    return server, recorder


@pytest.fixture
async def served() -> AsyncIterator[tuple[FiltersTestServer, Recorder]]:
    server, recorder = await start_server()
    yield server, recorder
    await server.close()


@pytest.fixture
def server(served: tuple[FiltersTestServer, Recorder]) -> FiltersTestServer:
    return served[0]


@pytest.fixture
def recorder(served: tuple[FiltersTestServer, Recorder]) -> Recorder:
    return served[1]


@pytest.fixture
def no_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No credentials leak in from the developer's environment or ~/.netrc."""
    for name in ("DSIO_FILTERS_URL", "DSIO_FILTERS_USER", "DSIO_FILTERS_PASSWORD", "NETRC"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


@pytest.fixture
async def client(server: FiltersTestServer, no_env: None) -> AsyncIterator[FiltersClient]:
    async with FiltersClient(
        server.base_url, user=TEST_USER, password=TEST_PASSWORD, retry=RetryPolicy(retries=0)
    ) as api:
        yield api


@pytest.fixture
def sync_client(server: FiltersTestServer, no_env: None) -> Iterator[SyncFiltersClient]:
    with SyncFiltersClient(server.base_url, user=TEST_USER, password=TEST_PASSWORD) as api:
        yield api


@pytest.fixture
def image_info() -> dict[str, Any]:
    return sample_image_info()


@pytest.fixture
def png_file(tmp_path: Path) -> Path:
    path = tmp_path / "xray.png"
    path.write_bytes(png16(96, 64))
    return path


def write_png(path: Path, seed: int = 0, info: dict[str, Any] | None = None) -> Path:
    """A small 16-bit PNG, with a sidecar ImageInfo when ``info`` is given."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png16(48, 32, seed=seed))
    if info is not None:
        path.with_suffix(".json").write_text(json.dumps(info))
    return path


async def direct_filter(
    server: FiltersTestServer,
    media: bytes,
    info: dict[str, Any],
    name: str,
    body: dict[str, Any] | None,
    accept: str = "image/png",
) -> bytes:
    """The same filter asked for by hand over HTTP (the baseline outputs are compared with)."""
    async with aiohttp.ClientSession(headers=server.headers) as http:
        form = aiohttp.FormData()
        form.add_field("imageInfo", json.dumps(info), content_type="application/json")
        form.add_field("imageMedia", media, filename="x.png", content_type="image/png")
        async with http.post(server.url("images"), data=form) as response:
            assert response.status == 201, await response.text()
            image_id = (await response.json())["id"]
        async with http.post(
            server.url(f"images/{image_id}/filters/{name}"), json=body, headers={"Accept": accept}
        ) as response:
            assert response.status == 200, await response.text()
            output = await response.read()
        await http.delete(server.url(f"images/{image_id}"))
        return output
