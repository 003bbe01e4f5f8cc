"""An in-process filters server for other projects' test suites.

Without pytest::

    async with FiltersTestServer() as server:
        async with aiohttp.ClientSession(headers=server.headers) as http:
            await http.get(server.url("/images/..."))

With pytest (the plugin is registered automatically when this package is
installed; it needs pytest-aiohttp or pytest-asyncio for async fixtures), use
the ``filters_server`` fixture (a started :class:`FiltersTestServer`) and the
``filters_client`` fixture (an authenticated ``aiohttp.ClientSession`` whose
relative URLs resolve against the API base). Media for uploads:
:func:`png16` makes a 16-bit grayscale PNG, :func:`sample_image_info` a valid
ImageInfo, :func:`upload_form` the multipart form.
"""

from __future__ import annotations

import json
import ssl
import struct
import zlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from backends.memory import MemoryStorage
from filters_server.api.connections import CappedAppRunner
from filters_server.app import create_app
from filters_server.config import Settings
from filters_server.core.index import Clock
from filters_server.core.users import parse_users

TEST_USER = "test"
TEST_PASSWORD = "test-password"


class CappedTestServer(TestServer):
    """aiohttp's ``TestServer`` with the real server's connection cap (``--max-connections``)."""

    async def _make_runner(self, **kwargs: Any) -> web.AppRunner:
        return CappedAppRunner(self.app, **kwargs)


class FiltersTestServer:
    """A real server on a loopback port, backed by memory storage (or what you pass)."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        users: dict[str, str] | None = None,
        storage: Any = None,
        clock: Clock | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.users = users or {TEST_USER: TEST_PASSWORD}
        self.settings = settings or Settings(storage="memory://")
        self.storage = storage or (MemoryStorage() if self.settings.storage == "memory://" else None)
        spec = ",".join(f"{name}:{password}" for name, password in self.users.items())
        self.app = create_app(self.settings, storage=self.storage, clock=clock, users=parse_users(spec))
        self._ssl_context = ssl_context  # https:// when given
        self._server = CappedTestServer(self.app, host="127.0.0.1")

    @property
    def headers(self) -> dict[str, str]:
        """An ``Authorization`` header for the first user."""
        name, password = next(iter(self.users.items()))
        return {"Authorization": aiohttp.encode_basic_auth(name, password)}

    @property
    def base_url(self) -> str:
        return str(self._server.make_url(self.settings.base_path))

    def url(self, path: str = "/") -> str:
        return self.base_url.rstrip("/") + "/" + path.lstrip("/")

    async def start(self) -> FiltersTestServer:
        await self._server.start_server(ssl=self._ssl_context)
        return self

    async def close(self) -> None:
        await self._server.close()

    async def __aenter__(self) -> FiltersTestServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def png16(width: int = 64, height: int = 48, *, seed: int = 0) -> bytes:
    """A valid 16-bit grayscale PNG with a deterministic gradient and texture (no numpy needed)."""
    rows = []
    for y in range(height):
        row = bytearray(b"\x00")
        for x in range(width):
            value = (x * 65535 // max(width - 1, 1) + y * 257 + seed * 7919 + (x * y) % 97) % 65536
            row += struct.pack(">H", value)
        rows.append(bytes(row))
    return _png(width, height, 16, 0, zlib.compress(b"".join(rows), 6))


def _png(width: int, height: int, depth: int, color: int, idat: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def sample_image_info(binning: str = "Unbinned") -> dict[str, Any]:
    """An ImageInfo as the DSIO Modality API reports it (the spec's example LUT)."""
    return {
        "acquisitionInfo": {"binning": binning},
        "lutInfo": {
            "gamma": 2.3,
            "slope": 65535.0,
            "offset": 0.0,
            "totalGrays": 4096,
            "minimumGray": 3612,
            "maximumGray": 418,
        },
    }


def upload_form(media: bytes, image_info: dict[str, Any] | None = None) -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("imageInfo", json.dumps(image_info or sample_image_info()), content_type="application/json")
    form.add_field("imageMedia", media, filename="image.png", content_type="image/png")
    return form


# --- pytest plugin -----------------------------------------------------------------------------
try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - plugin only exists where pytest does
    pass
else:

    @pytest_asyncio.fixture
    async def filters_server() -> AsyncIterator[FiltersTestServer]:
        """A started in-process filters server on memory storage."""
        async with FiltersTestServer() as server:
            yield server

    @pytest_asyncio.fixture
    async def filters_client(filters_server: FiltersTestServer) -> AsyncIterator[aiohttp.ClientSession]:
        """An authenticated client session whose relative URLs start at the API base."""
        async with aiohttp.ClientSession(
            base_url=filters_server.base_url.rstrip("/") + "/", headers=filters_server.headers
        ) as session:
            yield session
