"""Ctrl-C during a batch: a real SIGINT to a real dsio-filters process."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web

from filters_server.api import appkeys as keys
from filters_server.config import Settings
from filters_server.testing import (
    TEST_PASSWORD,
    TEST_USER,
    FiltersTestServer,
    sample_image_info,
)

from .conftest import Recorder, write_png

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process is POSIX")


async def test_ctrl_c_stops_the_batch_and_deletes_what_it_created(tmp_path: Path) -> None:
    entered = asyncio.Event()  # a filter request reached the server
    release = asyncio.Event()  # ... and is held there until the test lets it go

    @web.middleware
    async def hold_filters(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.path.rsplit("/", 2)[-2] == "filters":  # a filter request (the base path says filters too)
            entered.set()
            await release.wait()
        return await handler(request)

    server = FiltersTestServer(Settings(storage="memory://", sweep_interval_seconds=3600))
    server.app.middlewares.append(hold_filters)
    recorder = Recorder()
    server.app.on_response_prepare.append(recorder.on_prepare)
    await server.start()
    for index in range(5):
        write_png(tmp_path / "in" / f"{index}.png", seed=index, info=sample_image_info())
    env = {
        **os.environ,
        "DSIO_FILTERS_URL": server.base_url,
        "DSIO_FILTERS_USER": TEST_USER,
        "DSIO_FILTERS_PASSWORD": TEST_PASSWORD,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "filters_client.cli",
        "batch",
        str(tmp_path / "in"),
        str(tmp_path / "out"),
        "--filter",
        "select",
        "--jobs",
        "2",
        "--json",
        "--progress",
        "lines",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await asyncio.wait_for(entered.wait(), timeout=60)
        process.send_signal(signal.SIGINT)
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)

        assert process.returncode == 130, stderr.decode()
        report = json.loads(stdout)
        assert report["interrupted"] is True and report["done"] == 0
        await server.app[keys.BACKGROUND].drain()
        assert server.storage.keys() == []  # every resource it uploaded was deleted
        uploads = recorder.paths("POST").count(f"{server.settings.base_path}/images")
        assert 1 <= uploads <= 2  # nothing new started after Ctrl-C: at most --jobs were in flight
        assert len(recorder.paths("DELETE")) == uploads
        assert [p for p in (tmp_path / "out").rglob("*") if p.is_file()] == []  # no partial output
    finally:
        release.set()
        if process.returncode is None:
            process.kill()
            await process.wait()
        await server.close()
