"""ModalityClient against the simulator on a real loopback port, and against broken servers."""

import asyncio
import socket

import aiohttp
import cv2
import numpy as np
import pytest
from aiohttp import web

from filters_server.clients.modality import (
    ModalityBadId,
    ModalityClient,
    ModalityError,
    ModalityNotFound,
    ModalityUnavailable,
    PixelHashCheck,
    verify_pixel_hash,
)
from filters_server.simulator import SIMULATOR


@pytest.fixture
async def sim_server(aiohttp_server, sim_app):
    return await aiohttp_server(sim_app)


@pytest.fixture
async def modality(sim_server, base):
    async with ModalityClient(
        str(sim_server.make_url(base)), user="sim", password="sim", chunk_size=16 * 1024
    ) as client:
        yield client


@pytest.fixture
async def acquired(sim_server, base, credentials, acquire):
    """(sessionId, ImageInfo, PNG bytes) of one exposure made through the raw HTTP API."""
    async with aiohttp.ClientSession(
        base_url=str(sim_server.make_url("/")), headers=credentials("sim", "sim")
    ) as client:
        session_id, image = await acquire(client)
        url = f"{base}/acquisition/{session_id}/images/{image['id']}/media"
        png = await (await client.get(url)).read()
    return session_id, image, png


def _garbage_app(handler) -> web.Application:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    return app


async def _client_for(aiohttp_server, handler, **kwargs) -> ModalityClient:
    server = await aiohttp_server(_garbage_app(handler))
    client = ModalityClient(str(server.make_url("/api")), user="u", password="p", **kwargs)
    await client.start()
    return client


# Against the simulator ----------------------------------------------------------------------


async def test_get_image_info_returns_the_raw_image_info(modality, acquired):
    session_id, image, _ = acquired
    assert await modality.get_image_info(session_id, image["id"]) == image


async def test_unknown_image_is_not_found(modality, acquired):
    session_id, _, _ = acquired
    with pytest.raises(ModalityNotFound):
        await modality.get_image_info(session_id, "6b0f4b52-0000-4000-8000-000000000000")


async def test_unknown_session_is_not_found(modality, acquired):
    _, image, _ = acquired
    with pytest.raises(ModalityNotFound):
        await modality.get_image_info("6b0f4b52-0000-4000-8000-000000000000", image["id"])


async def test_session_is_active_until_deleted(modality, acquired, sim_app):
    session_id, _, _ = acquired
    assert await modality.session_active(session_id) is True
    sim_app[SIMULATOR].delete_session(session_id)
    assert await modality.session_active(session_id) is False


async def test_stream_media_yields_the_png_in_bounded_chunks(modality, acquired):
    session_id, image, png = acquired
    chunks = []
    async with modality.stream_media(session_id, image["id"]) as media:
        assert media.content_type == "image/png" and media.content_length == len(png)
        async for chunk in media:
            chunks.append(chunk)
    assert b"".join(chunks) == png
    assert len(chunks) > 1 and max(map(len, chunks)) <= 16 * 1024


async def test_stream_media_of_unknown_image_is_not_found(modality, acquired):
    session_id, _, _ = acquired
    with pytest.raises(ModalityNotFound):
        async with modality.stream_media(session_id, "no-such-image"):
            pass


async def test_wrong_credentials_make_the_api_unavailable(sim_server, base, acquired):
    session_id, image, _ = acquired
    async with ModalityClient(str(sim_server.make_url(base)), user="sim", password="wrong") as client:
        with pytest.raises(ModalityUnavailable) as caught:
            await client.get_image_info(session_id, image["id"])
    assert caught.value.status == 401


@pytest.mark.parametrize("bad", ["../devices", "a/b", "..", ".hidden", "", "a%2Fb", "x" * 200, "a b", "a?b"])
async def test_unsafe_ids_are_rejected_before_any_request(bad):
    client = ModalityClient("http://127.0.0.1:9/api", user=None, password=None)
    await client.start()
    try:
        with pytest.raises(ModalityBadId):
            await client.get_image_info(bad, "image")
        with pytest.raises(ModalityBadId):
            await client.session_active(bad)
        with pytest.raises(ModalityBadId):
            async with client.stream_media("session", bad):
                pass
    finally:
        await client.close()


async def test_errors_share_one_base_class():
    assert all(issubclass(cls, ModalityError) for cls in (ModalityNotFound, ModalityUnavailable, ModalityBadId))


# Against broken or absent servers -----------------------------------------------------------


async def test_closed_port_is_unavailable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with ModalityClient(f"http://127.0.0.1:{port}/api", user="u", password="p") as client:
        with pytest.raises(ModalityUnavailable):
            await client.get_image_info("s", "i")
        with pytest.raises(ModalityUnavailable):
            await client.session_active("s")


@pytest.mark.parametrize(
    "response",
    [
        lambda: web.Response(text="<html>proxy error</html>", content_type="text/html"),
        lambda: web.Response(text="{not json", content_type="application/json"),
        lambda: web.json_response(["an", "array"]),
        lambda: web.Response(status=500, text="boom"),
        lambda: web.Response(status=503),
        lambda: web.Response(status=302, headers={"Location": "/elsewhere"}),
    ],
    ids=["html", "invalid-json", "json-array", "500", "503", "redirect"],
)
async def test_garbage_answers_are_unavailable(aiohttp_server, response):
    async def handler(request):
        return response()

    client = await _client_for(aiohttp_server, handler)
    try:
        with pytest.raises(ModalityUnavailable):
            await client.get_image_info("s", "i")
        with pytest.raises(ModalityUnavailable):
            await client.session_active("s")
    finally:
        await client.close()


async def test_media_with_unexpected_content_type_is_unavailable(aiohttp_server):
    async def handler(request):
        return web.Response(body=b"\xff\xd8\xff", content_type="image/jpeg")

    client = await _client_for(aiohttp_server, handler)
    try:
        with pytest.raises(ModalityUnavailable):
            async with client.stream_media("s", "i"):
                pass
    finally:
        await client.close()


async def test_media_cut_short_is_unavailable_while_reading(aiohttp_server):
    async def handler(request):
        resp = web.StreamResponse(headers={"Content-Type": "image/png", "Content-Length": "100000"})
        await resp.prepare(request)
        await resp.write(b"\x89PNG" + b"\0" * 1000)
        request.transport.close()  # the sensor service dies mid-transfer
        return resp

    client = await _client_for(aiohttp_server, handler)
    try:
        with pytest.raises(ModalityUnavailable):
            async with client.stream_media("s", "i") as media:
                async for _ in media:
                    pass
    finally:
        await client.close()


async def test_slow_server_times_out_as_unavailable(aiohttp_server):
    async def handler(request):
        await asyncio.sleep(10)
        return web.json_response({})

    client = await _client_for(aiohttp_server, handler, timeout=0.2)
    try:
        with pytest.raises(ModalityUnavailable):
            await client.get_image_info("s", "i")
    finally:
        await client.close()


async def test_calling_before_start_is_a_programming_error():
    client = ModalityClient("http://127.0.0.1:9/api", user=None, password=None)
    with pytest.raises(RuntimeError):
        await client.get_image_info("s", "i")


# pixelHash ----------------------------------------------------------------------------------


def _decode(png: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED)


async def test_pixel_hash_check_accepts_rows_in_blocks(acquired):
    _, image, png = acquired
    pixels = _decode(png)
    check = PixelHashCheck.from_image_info(image)
    for start in range(0, pixels.shape[0], 37):
        check.update(pixels[start : start + 37])
    assert check.matches() and check.byte_order == "little"


async def test_pixel_hash_check_rejects_a_changed_pixel(acquired):
    _, image, png = acquired
    pixels = _decode(png)
    pixels[10, 10] ^= 1
    assert verify_pixel_hash(image, pixels) is False


@pytest.mark.parametrize("order", ["<u2", ">u2"])
def test_pixel_hash_of_an_image_hashed_in_many_blocks_is_that_of_all_its_bytes(order, monkeypatch):
    import hashlib

    from filters_server.clients import modality

    monkeypatch.setattr(modality, "_HASH_BLOCK_BYTES", 6)  # three samples a block: blocks cross rows
    pixels = (np.arange(35, dtype=np.uint16).reshape(5, 7) * 1877) ^ 0x00FF
    info = {"pixelHash": {"alg": "SHA256", "hash": hashlib.sha256(pixels.astype(order).tobytes()).hexdigest()}}
    check = PixelHashCheck.from_image_info(info)
    check.update(pixels)
    assert check.matches() and check.byte_order == ("little" if order == "<u2" else "big")


def test_pixel_hash_check_accepts_big_endian_hashes_and_md5():
    import hashlib

    pixels = np.arange(12, dtype=np.uint16).reshape(3, 4) * 1000
    digest = hashlib.md5(pixels.astype(">u2").tobytes()).hexdigest().upper()
    info = {"pixelHash": {"alg": "md5", "hash": digest}}
    check = PixelHashCheck.from_image_info(info)
    check.update(pixels)
    assert check.matches() and check.byte_order == "big"


@pytest.mark.parametrize(
    "info", [{}, {"pixelHash": None}, {"pixelHash": {"alg": "CRC32", "hash": "00"}}, {"pixelHash": {"alg": "SHA256"}}]
)
def test_no_usable_pixel_hash_means_nothing_to_check(info):
    assert verify_pixel_hash(info, np.zeros((2, 2), np.uint16)) is None
