"""Every problem document's ``detail`` is a sentence: it ends with exactly one full stop."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from backends import StorageUnavailable
from backends.memory import MemoryStorage
from filters_server.api.problems import PROBLEM_JSON
from filters_server.testing import png16, sample_image_info

from .conftest import ALICE, BASE, create, form

MISSING = f"{BASE}/images/160c98f9-d188-4118-94c4-697161fd5caf"


def assert_one_full_stop(detail: str) -> None:
    assert detail.endswith(".") and not detail.endswith(".."), repr(detail)


async def detail_of(response: aiohttp.ClientResponse, status: int) -> str:
    assert response.status == status, await response.text()
    assert response.content_type == PROBLEM_JSON
    return (await response.json())["detail"]


def png8() -> bytes:
    """An 8-bit grayscale PNG: a valid PNG the server does not take (415)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 4, 4, 8, 0, 0, 0, 0)
    rows = b"".join(b"\x00" + bytes(4) for _ in range(4))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def corrupt_png() -> bytes:
    data = bytearray(png16())
    data[40] ^= 0xFF  # inside the IDAT chunk: its CRC no longer matches
    return bytes(data)


# (name, method, path, request keywords, status); the client is Alice's on a fresh server.
CASES = [
    ("corrupt png", "POST", "/images", {"data": lambda: form(corrupt_png(), sample_image_info())}, 400),
    ("bad json part", "POST", "/images", {"data": lambda: form(png16(), "{not json")}, 400),
    ("missing media part", "POST", "/images", {"data": lambda: form(None, sample_image_info())}, 400),
    ("bad filter enum", "POST", "{id}/filters/select", {"json": {"enhancementMode": "sharpest"}}, 400),
    ("sharpness out of range", "POST", "{id}/filters/supreme", {"json": {"sharpness": 1000}}, 400),
    (
        "bad filter json",
        "POST",
        "{id}/filters/ae",
        {"data": b"{", "headers": {"Content-Type": "application/json"}},
        400,
    ),
    ("unknown id", "GET", MISSING, {}, 404),
    ("unknown route", "GET", f"{BASE}/nothing-here", {}, 404),
    ("wrong method", "PUT", "/images", {"data": b""}, 405),
    ("unacceptable", "POST", "{id}/filters/unmap", {"headers": {"Accept": "text/plain"}}, 406),
    ("json too large", "POST", "{id}/filters/select", {"json": {"enhancementMode": "x" * 5000}}, 413),
    ("not multipart", "POST", "/images", {"data": b"x", "headers": {"Content-Type": "text/plain"}}, 415),
    ("8-bit png", "POST", "/images", {"data": lambda: form(png8(), sample_image_info())}, 415),
    ("no modality url", "POST", "/images/modality", {"json": {"sessionId": "s", "imageId": "i"}}, 501),
    ("range outside", "GET", "{id}/media", {"headers": {"Range": "bytes=99999999-"}}, 416),
]


@pytest.fixture
async def small_json_client(aiohttp_client, make_app):
    return await aiohttp_client(make_app(MemoryStorage(), max_json_bytes=1024), headers=ALICE)


@pytest.mark.parametrize(("name", "method", "path", "kwargs", "status"), CASES, ids=[c[0] for c in CASES])
async def test_error_details_end_with_one_full_stop(small_json_client, name, method, path, kwargs, status):
    client = small_json_client
    if "{id}" in path:
        created = await create(client)
        path = path.replace("{id}", f"{BASE}/images/{created['id']}/").replace("//", "/")
    elif not path.startswith(BASE):
        path = BASE + path
    kwargs = {k: (v() if callable(v) else v) for k, v in kwargs.items()}
    response = await client.request(method, path, **kwargs)
    assert_one_full_stop(await detail_of(response, status))


async def test_the_401_detail_ends_with_one_full_stop(anonymous):
    assert_one_full_stop(await detail_of(await anonymous.get(MISSING), 401))


async def test_the_429_detail_ends_with_one_full_stop(aiohttp_client, make_app):
    client = await aiohttp_client(make_app(MemoryStorage(), auth_max_failures_per_user=1))
    bad = {"Authorization": aiohttp.encode_basic_auth("alice", "wrong")}
    await client.get(MISSING, headers=bad)
    assert_one_full_stop(await detail_of(await client.get(MISSING, headers=bad), 429))


async def test_the_408_detail_ends_with_one_full_stop(aiohttp_client, make_app):
    client = await aiohttp_client(make_app(MemoryStorage(), body_timeout_seconds=0.2), headers=ALICE)
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    head = (
        f"POST {BASE}/images/modality HTTP/1.1\r\nHost: x\r\nAuthorization: {ALICE['Authorization']}\r\n"
        "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
    )
    writer.write(head.encode())  # and nothing more: the server gives up after the body timeout
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
    )
    body = await reader.readexactly(length)
    writer.close()
    assert head.split(b" ", 2)[1] == b"408"
    assert_one_full_stop(json.loads(body)["detail"])


class UnreachableStorage(MemoryStorage):
    async def ping(self) -> None:
        raise StorageUnavailable("connection refused")


async def test_503_details_end_with_one_full_stop(aiohttp_client, make_app):
    client = await aiohttp_client(make_app(UnreachableStorage()), headers=ALICE)
    assert_one_full_stop(await detail_of(await client.get("/readyz"), 503))
