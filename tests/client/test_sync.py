"""SyncFiltersClient: the same calls without await, also where an event loop already runs (notebooks)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from filters_client import NotFound, SyncFiltersClient, Task
from filters_server.testing import TEST_PASSWORD, TEST_USER, FiltersTestServer, png16


class ThreadedServer:
    """The in-process server on its own loop in a thread, so blocking calls cannot stall it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server = asyncio.run_coroutine_threadsafe(FiltersTestServer().start(), self.loop).result()

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.close(), self.loop).result()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


@pytest.fixture
def threaded(no_env: None) -> Iterator[FiltersTestServer]:
    running = ThreadedServer()
    yield running.server
    running.close()


@pytest.fixture
def api(threaded: FiltersTestServer) -> Iterator[SyncFiltersClient]:
    with SyncFiltersClient(threaded.base_url, user=TEST_USER, password=TEST_PASSWORD) as client:
        yield client


def test_sync_calls_upload_filter_download_and_delete(
    api: SyncFiltersClient, image_info: dict[str, Any], tmp_path: Path
) -> None:
    resource = api.upload(png16(seed=2), image_info)
    assert api.get(resource.id) == resource
    assert api.media(resource.id) == png16(seed=2)
    assert api.download_media(resource.id, tmp_path / "m.png").read_bytes() == png16(seed=2)
    assert api.supreme(resource.id, Task.HYGIENE, 30, to=tmp_path / "s.png").read_bytes() == api.supreme(
        resource.id, Task.HYGIENE, 30
    )
    assert api.delete(resource.id)
    with pytest.raises(NotFound):
        api.get(resource.id)


def test_sync_upload_from_a_blocking_iterator(api: SyncFiltersClient, image_info: dict[str, Any]) -> None:
    media = png16(seed=8)
    resource = api.upload(iter([media[:10], media[10:]]), image_info)
    assert api.media(resource.id) == media


async def test_sync_calls_work_while_an_event_loop_runs(api: SyncFiltersClient) -> None:
    asyncio.get_running_loop()  # as in a notebook cell
    assert api.check()["apiVersion"] == "1.0"


def test_closing_stops_the_private_loop_thread(threaded: FiltersTestServer) -> None:
    before = {t.name for t in threading.enumerate()}
    client = SyncFiltersClient(threaded.base_url, user=TEST_USER, password=TEST_PASSWORD)
    client.check()
    client.close()
    assert {t.name for t in threading.enumerate()} == before
