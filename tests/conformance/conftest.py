"""Fixtures for conformance tests: a server on a real port driven by blocking clients.

Schemathesis calls the API with ``requests`` (blocking), and the raw-socket tests want
exact bytes on the wire; both need the server on its own event loop, so it runs in a
background thread for as long as the module's tests use it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import threading
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest

from backends.memory import MemoryStorage
from filters_server.config import Settings
from filters_server.testing import FiltersTestServer, png16, sample_image_info

T = TypeVar("T")
USER, PASSWORD = "alice", "alice-secret"
AUTH = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()


class ThreadedServer:
    """A :class:`FiltersTestServer` on memory storage, serving from its own event loop in a thread."""

    def __init__(self, settings: Settings | None = None, **kwargs: Any) -> None:
        # Generated requests send wrong credentials again and again from one address; the checks
        # expect 401 for each, so the failed-login throttle (429) is kept out of their way here.
        self.settings = settings or Settings(
            storage="memory://",
            sweep_interval_seconds=3600,
            workers=2,
            auth_max_failures_per_user=1_000_000,
            auth_max_failures_per_address=1_000_000,
        )
        self.kwargs = kwargs
        self.storage = MemoryStorage()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="filters-server", daemon=True)
        self.server: FiltersTestServer | None = None

    def __enter__(self) -> ThreadedServer:
        self._thread.start()
        self.server = self.run(self._start())
        return self

    async def _start(self) -> FiltersTestServer:
        # A Modality API simulator beside it, so POST /images/modality is really served (404s and
        # 400s for generated ids) instead of answering 501 "not configured".
        from aiohttp.test_utils import TestServer

        from filters_server.simulator.app import create_app as create_simulator

        self._simulator = TestServer(create_simulator({"sim": "sim"}), host="127.0.0.1")
        await self._simulator.start_server()
        settings = self.settings.replace(
            modality_url=str(self._simulator.make_url("/api/dsio/modality/v1")),
            modality_user="sim",
            modality_password="sim",
        )
        server = FiltersTestServer(settings, users={USER: PASSWORD}, storage=self.storage, **self.kwargs)
        return await server.start()

    def __exit__(self, *exc: object) -> None:
        assert self.server is not None
        self.run(self.server.close())
        self.run(self._simulator.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        """Run a coroutine on the server's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    @property
    def base_url(self) -> str:
        assert self.server is not None
        return self.server.base_url.rstrip("/")

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server._server.port  # type: ignore[return-value]

    @property
    def base_path(self) -> str:
        return self.settings.base_path

    def stored_keys(self) -> list[str]:
        return self.storage.keys()

    def create_resource(self, media: bytes | None = None) -> dict[str, Any]:
        """Upload a valid image as the test user; the ImageResource."""
        import requests

        files = {
            "imageInfo": (None, json.dumps(sample_image_info()), "application/json"),
            "imageMedia": ("image.png", media or png16(48, 32), "image/png"),
        }
        response = requests.post(f"{self.base_url}/images", files=files, headers={"Authorization": AUTH}, timeout=30)
        assert response.status_code == 201, response.text
        return response.json()


@pytest.fixture(scope="module")
def threaded_server() -> Iterator[ThreadedServer]:
    with ThreadedServer() as server:
        yield server


def raw_exchange(port: int, request: bytes, *, timeout: float = 10) -> bytes:
    """Send ``request`` byte for byte on a fresh connection; everything the server answers until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)
