"""Retries: 503 with Retry-After from a really saturated server, backoff, and what is never re-sent."""

from __future__ import annotations

import asyncio
import random
import socket
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp import web

from filters_client import (
    ConnectionFailed,
    FiltersClient,
    RetryPolicy,
    ServiceUnavailable,
)
from filters_client.models import UTC
from filters_client.retry import parse_retry_after
from filters_server.api import appkeys as keys
from filters_server.config import Settings
from filters_server.testing import TEST_PASSWORD, TEST_USER, FiltersTestServer, png16

from .conftest import Recorder, start_server
from .fakes import answer, fake_server

if TYPE_CHECKING:
    from typing import Self


class BlockedPool:
    """The server's only worker busy with a job the test releases; queue depth 0, so filters get 503."""

    def __init__(self, server: FiltersTestServer) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.job = asyncio.ensure_future(server.app[keys.WORKERS].run(self._busy))

    def _busy(self) -> None:
        self.started.set()
        self.release.wait()

    async def __aenter__(self) -> Self:
        await asyncio.to_thread(self.started.wait)
        return self

    async def unblock(self) -> None:
        self.release.set()
        await self.job

    async def __aexit__(self, *exc: object) -> None:
        await self.unblock()


@pytest.fixture
async def saturated() -> AsyncIterator[tuple[FiltersTestServer, Recorder]]:
    server, recorder = await start_server(Settings(storage="memory://", workers=1, queue_depth=0))
    yield server, recorder
    await server.close()


def sleeper(on_sleep: Callable[[float], Awaitable[None]] | None = None) -> tuple[list[float], Any]:
    """A stand-in for asyncio.sleep that records each wait and runs ``on_sleep`` instead of waiting."""
    delays: list[float] = []

    async def sleep(delay: float) -> None:
        delays.append(delay)
        if on_sleep is not None:
            await on_sleep(delay)

    return delays, sleep


async def test_a_filter_refused_with_503_is_retried_after_retry_after(
    saturated: tuple[FiltersTestServer, Recorder], no_env: None, image_info: dict[str, Any]
) -> None:
    server, recorder = saturated
    async with BlockedPool(server) as pool:
        delays, sleep = sleeper(lambda _: pool.unblock())  # the worker frees up while the client waits
        async with FiltersClient(
            server.base_url, user=TEST_USER, password=TEST_PASSWORD, retry=RetryPolicy(retries=3), sleep=sleep
        ) as client:
            resource = await client.upload(png16(), image_info)
            output = await client.select(resource.id)
            expected = await client.select(resource.id)  # now served without a wait
    assert output == expected and output.startswith(b"\x89PNG")
    assert len(delays) == 1 and delays[0] >= 1.0  # the server said Retry-After: 1
    assert recorder.paths("POST").count(f"{server.settings.base_path}/images/{resource.id}/filters/select") == 3


async def test_retries_stop_after_the_configured_count(
    saturated: tuple[FiltersTestServer, Recorder], no_env: None, image_info: dict[str, Any]
) -> None:
    server, recorder = saturated
    delays, sleep = sleeper()
    async with (
        BlockedPool(server),
        FiltersClient(
            server.base_url, user=TEST_USER, password=TEST_PASSWORD, retry=RetryPolicy(retries=2), sleep=sleep
        ) as client,
    ):
        resource = await client.upload(png16(), image_info)
        with pytest.raises(ServiceUnavailable) as caught:
            await client.unmap(resource.id)
    assert caught.value.retry_after == 1.0
    assert len(delays) == 2
    assert len([p for p in recorder.paths("POST") if p.endswith("/filters/unmap")]) == 3


async def test_a_retry_after_longer_than_the_client_waits_is_raised_at_once(no_env: None) -> None:
    delays, sleep = sleeper()
    async with (
        fake_server({("GET", "/images/x"): answer(503, {"Retry-After": "3600"})}) as (url, log),
        FiltersClient(url, retry=RetryPolicy(retries=3, max_retry_after=60), sleep=sleep) as client,
    ):
        with pytest.raises(ServiceUnavailable):
            await client.get("x")
    assert delays == [] and log == ["GET /api/images/x"]


async def test_an_upload_from_bytes_is_resent_after_503(no_env: None, image_info: dict[str, Any]) -> None:
    _, sleep = sleeper()
    async with (
        fake_server({("POST", "/images"): answer(503, {"Retry-After": "0"})}) as (url, log),
        FiltersClient(url, retry=RetryPolicy(retries=2), sleep=sleep) as client,
    ):
        with pytest.raises(ServiceUnavailable):
            await client.upload(png16(), image_info)
    assert log == ["POST /api/images"] * 3


async def test_an_upload_from_a_one_shot_stream_is_never_resent(no_env: None, image_info: dict[str, Any]) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield png16()

    delays, sleep = sleeper()
    async with (
        fake_server({("POST", "/images"): answer(503, {"Retry-After": "0"})}) as (url, log),
        FiltersClient(url, retry=RetryPolicy(retries=2), sleep=sleep) as client,
    ):
        with pytest.raises(ServiceUnavailable):
            await client.upload(chunks(), image_info)
    assert log == ["POST /api/images"] and delays == []


async def test_a_get_is_retried_after_the_connection_breaks(no_env: None) -> None:
    calls = 0

    async def flaky(request: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        if calls <= 3:  # (aiohttp itself re-sends once on a fresh break; these outlast that)
            assert request.transport is not None
            request.transport.abort()  # the connection breaks before any answer
        return web.json_response({"apiVersion": "1.0"})

    delays, sleep = sleeper()
    async with (
        fake_server({("GET", "/"): flaky}) as (url, _),
        FiltersClient(url, retry=RetryPolicy(retries=5), sleep=sleep) as client,
    ):
        assert await client.check() == {"apiVersion": "1.0"}
    assert calls == 4 and len(delays) >= 1


def test_backoff_grows_exponentially_with_full_jitter_up_to_the_cap() -> None:
    policy = RetryPolicy(backoff=0.5, max_backoff=4.0)
    rng = random.Random(1)
    for attempt, cap in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (8, 4.0)]:
        waits = [policy.backoff_delay(attempt, rng) for _ in range(200)]
        assert all(0 <= w <= cap for w in waits)
        assert max(waits) > cap * 0.8  # the whole range is used


def test_retry_after_in_seconds() -> None:
    assert parse_retry_after("5") == 5.0


def test_retry_after_as_an_http_date() -> None:
    now = datetime(2026, 10, 21, 7, 27, 30, tzinfo=UTC)
    assert parse_retry_after("Wed, 21 Oct 2026 07:28:00 GMT", now) == 30.0


def test_a_retry_after_date_in_the_past_means_now() -> None:
    now = datetime(2026, 10, 21, 8, 0, 0, tzinfo=UTC)
    assert parse_retry_after("Wed, 21 Oct 2026 07:28:00 GMT", now) == 0.0


def test_an_unreadable_retry_after_is_ignored() -> None:
    assert parse_retry_after("soon") is None


async def test_an_upload_from_a_path_is_read_again_for_each_attempt(
    no_env: None, image_info: dict[str, Any], png_file: Path
) -> None:
    sizes: list[int] = []

    async def refuse(request: web.Request) -> web.Response:
        sizes.append(len(await request.read()))
        return web.Response(status=503, headers={"Retry-After": "0"})

    _, sleep = sleeper()
    async with (
        fake_server({("POST", "/images"): refuse}) as (url, _),
        FiltersClient(url, retry=RetryPolicy(retries=1), sleep=sleep) as client,
    ):
        with pytest.raises(ServiceUnavailable):
            await client.upload(png_file, image_info)
    assert len(sizes) == 2 and sizes[0] == sizes[1] > png_file.stat().st_size


async def test_an_upload_is_retried_when_it_could_not_connect(no_env: None, image_info: dict[str, Any]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    delays, sleep = sleeper()
    async with FiltersClient(f"http://127.0.0.1:{port}/api", retry=RetryPolicy(retries=2), sleep=sleep) as client:
        with pytest.raises(ConnectionFailed):
            await client.upload(png16(), image_info)
    assert len(delays) == 2
