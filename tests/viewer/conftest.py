"""Browser tests of the viewer: Playwright driving Debian's Chromium against a server in a thread.

They run whenever ``/usr/bin/chromium`` and the ``playwright`` package are present (``.ci/run``
installs Chromium) and skip with the reason otherwise. Playwright's sync API wants no running
event loop in the test's thread, so the server has its own loop in a background thread.

Set ``FILTERS_VIEWER_SCREENSHOTS=docs/img`` to write the README's screenshots there.
"""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import requests

from backends.memory import MemoryStorage
from filters_server.config import Settings
from filters_server.testing import FiltersTestServer

T = TypeVar("T")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
USERS = {"alice": "alice-secret", "bob": "bob-secret"}
DESKTOP = {"width": 1280, "height": 800}
TABLET = {"width": 768, "height": 1024}

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
if not shutil.which(CHROMIUM):
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)


class ThreadedServer:
    """A :class:`FiltersTestServer` on memory storage, serving from its own event loop in a thread."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="viewer-server", daemon=True)
        settings = Settings(storage="memory://", sweep_interval_seconds=3600, workers=2)
        self.server = FiltersTestServer(settings, users=USERS, storage=MemoryStorage())

    def __enter__(self) -> ThreadedServer:
        self._thread.start()
        self.run(self.server.start())
        return self

    def __exit__(self, *exc: object) -> None:
        self.run(self.server.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    @property
    def base_url(self) -> str:
        return self.server.base_url.rstrip("/")

    @property
    def viewer_url(self) -> str:
        return self.base_url + "/viewer/"


def auth(user: str = "alice") -> dict[str, str]:
    token = base64.b64encode(f"{user}:{USERS[user]}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadedServer]:
    with ThreadedServer() as threaded:
        yield threaded


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=DESKTOP, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


@pytest.fixture
def api(server: ThreadedServer) -> Iterator[requests.Session]:
    """Alice's blocking API client (what the page's results are compared with)."""
    with requests.Session() as session:
        session.headers.update(auth("alice"))
        yield session


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """Where screenshots go: docs/img when FILTERS_VIEWER_SCREENSHOTS says so, else a temp dir."""
    return Path(os.environ.get("FILTERS_VIEWER_SCREENSHOTS") or tmp_path)
