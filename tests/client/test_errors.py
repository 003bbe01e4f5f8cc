"""Each answer the client turns into a typed error, carrying the server's problem+json."""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
import zlib
from typing import Any

import pytest

from filters_client import (
    BadGateway,
    BadRequest,
    ClientRequestError,
    ConnectionFailed,
    FiltersClient,
    FiltersError,
    Gone,
    NotAcceptable,
    NotFound,
    PayloadTooLarge,
    ProtocolError,
    RequestTimeout,
    RetryPolicy,
    ServerError,
    ServiceUnavailable,
    Timeout,
    Timeouts,
    TooManyRequests,
    Unauthorized,
    UnsupportedMedia,
)
from filters_server.api import appkeys as keys
from filters_server.config import Settings
from filters_server.core.layout import media_key
from filters_server.testing import TEST_USER, FiltersTestServer, png16

from .conftest import start_server
from .fakes import answer, fake_server, stalled

UNKNOWN = "3b0f4b52-0000-4000-8000-000000000000"
NO_RETRY = RetryPolicy(retries=0)


def png8(width: int = 8, height: int = 8) -> bytes:
    """A valid 8-bit grayscale PNG: well-formed, but not what the server accepts."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + bytes(range(width)) for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


async def test_bad_image_info_is_bad_request_with_the_problem(client: FiltersClient) -> None:
    with pytest.raises(BadRequest) as caught:
        await client.upload(png16(), {"acquisitionInfo": {"binning": "Unbinned"}})
    error = caught.value
    assert error.status == 400 and error.problem["status"] == 400
    assert error.title == error.problem["title"]
    assert "lutInfo" in (error.detail or "")


async def test_wrong_password_is_unauthorized(server: FiltersTestServer, no_env: None) -> None:
    async with FiltersClient(server.base_url, user=TEST_USER, password="wrong", retry=NO_RETRY) as client:
        with pytest.raises(Unauthorized) as caught:
            await client.get(UNKNOWN)
    assert caught.value.status == 401


async def test_unknown_id_is_not_found(client: FiltersClient) -> None:
    with pytest.raises(NotFound) as caught:
        await client.get(UNKNOWN)
    assert caught.value.problem["status"] == 404


async def test_an_unavailable_format_is_not_acceptable(client: FiltersClient, image_info: dict[str, Any]) -> None:
    resource = await client.upload(png16(), image_info)
    with pytest.raises(NotAcceptable):
        await client.unmap(resource.id, accept="image/webp")


async def test_media_gone_from_storage_is_gone(
    client: FiltersClient, server: FiltersTestServer, image_info: dict[str, Any]
) -> None:
    resource = await client.upload(png16(), image_info)
    await server.storage.delete(media_key(resource.id))
    with pytest.raises(Gone):
        await client.media(resource.id)


async def test_an_upload_over_the_limit_is_payload_too_large(no_env: None, image_info: dict[str, Any]) -> None:
    server, _ = await start_server(Settings(storage="memory://", max_upload_bytes=2048))
    try:
        async with FiltersClient(server.base_url, user=TEST_USER, password="test-password", retry=NO_RETRY) as client:
            with pytest.raises(PayloadTooLarge):
                await client.upload(png16(128, 128), image_info)
    finally:
        await server.close()


async def test_an_8_bit_png_is_unsupported_media(client: FiltersClient, image_info: dict[str, Any]) -> None:
    with pytest.raises(UnsupportedMedia) as caught:
        await client.upload(png8(), image_info)
    assert caught.value.status == 415


async def test_a_saturated_worker_pool_is_service_unavailable_with_retry_after(
    no_env: None, image_info: dict[str, Any]
) -> None:
    server, _ = await start_server(Settings(storage="memory://", workers=1, queue_depth=0))
    release = threading.Event()
    started = threading.Event()

    def busy() -> None:
        started.set()
        release.wait()

    blocker = asyncio.ensure_future(server.app[keys.WORKERS].run(busy))
    try:
        await asyncio.to_thread(started.wait)
        async with FiltersClient(server.base_url, user=TEST_USER, password="test-password", retry=NO_RETRY) as api:
            resource = await api.upload(png16(), image_info)
            with pytest.raises(ServiceUnavailable) as caught:
                await api.select(resource.id)
        assert caught.value.retry_after == 1.0
    finally:
        release.set()
        await blocker
        await server.close()


@pytest.mark.parametrize(
    "status, kind",
    [
        (408, RequestTimeout),
        (429, TooManyRequests),
        (500, ServerError),
        (502, BadGateway),
        (599, ServerError),
        (418, ClientRequestError),
    ],
)
async def test_other_statuses_map_to_their_error(status: int, kind: type[FiltersError], no_env: None) -> None:
    async with (
        fake_server({("GET", "/images/x"): answer(status)}) as (url, _),
        FiltersClient(url, retry=NO_RETRY) as client,
    ):
        with pytest.raises(kind) as caught:
            await client.get("x")
    assert caught.value.status == status
    assert caught.value.detail == f"fake {status}"


async def test_too_many_requests_carries_retry_after(no_env: None) -> None:
    async with (
        fake_server({("GET", "/images/x"): answer(429, {"Retry-After": "7"})}) as (url, _),
        FiltersClient(url, retry=NO_RETRY) as client,
    ):
        with pytest.raises(TooManyRequests) as caught:
            await client.get("x")
    assert caught.value.retry_after == 7.0


async def test_nothing_listening_is_connection_failed(no_env: None) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with FiltersClient(f"http://127.0.0.1:{port}/api", retry=NO_RETRY) as client:
        with pytest.raises(ConnectionFailed) as caught:
            await client.check()
    assert caught.value.status is None


async def test_a_silent_server_is_a_timeout(no_env: None) -> None:
    release = asyncio.Event()
    async with fake_server({("GET", "/"): stalled(release)}) as (url, _):
        async with FiltersClient(url, retry=NO_RETRY, timeouts=Timeouts(read=0.2)) as client:
            with pytest.raises(Timeout) as caught:
                await client.check()
        release.set()
    assert isinstance(caught.value, TimeoutError)


async def test_html_where_json_is_expected_is_a_protocol_error(no_env: None) -> None:
    from aiohttp import web

    async def html(request: web.Request) -> web.Response:
        return web.Response(text="<html>proxy login</html>", content_type="text/html")

    async with fake_server({("GET", "/images/x"): html}) as (url, _), FiltersClient(url, retry=NO_RETRY) as client:
        with pytest.raises(ProtocolError):
            await client.get("x")
