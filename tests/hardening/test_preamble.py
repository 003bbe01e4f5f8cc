"""Text before the first multipart boundary is capped and counts against --max-upload-bytes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from filters_server.testing import png16, sample_image_info

from ..conftest import ALICE, BASE, stored_keys

PROBLEM = "application/problem+json"


def multipart_body(preamble: bytes) -> bytes:
    return (
        preamble
        + b'--B\r\nContent-Disposition: form-data; name="imageInfo"\r\nContent-Type: application/json\r\n\r\n'
        + json.dumps(sample_image_info()).encode()
        + b'\r\n--B\r\nContent-Disposition: form-data; name="imageMedia"; filename="a.png"\r\n'
        + b"Content-Type: image/png\r\n\r\n"
        + png16()
        + b"\r\n--B--\r\n"
    )


async def chunked(data: bytes) -> AsyncIterator[bytes]:
    """The body without a Content-Length, so only what the server counts while reading can stop it."""
    for offset in range(0, len(data), 16 * 1024):
        yield data[offset : offset + 16 * 1024]


HEADERS = {"Content-Type": "multipart/form-data; boundary=B"}


async def test_a_small_preamble_is_still_accepted(client):
    response = await client.post(f"{BASE}/images", data=multipart_body(b"This is a MIME message.\r\n"), headers=HEADERS)
    assert response.status == 201, await response.text()


async def test_a_preamble_over_the_cap_is_400_and_stores_nothing(client, storage):
    response = await client.post(f"{BASE}/images", data=multipart_body(b"x\r\n" * 40_000), headers=HEADERS)
    assert response.status == 400
    assert response.content_type == PROBLEM
    assert "before the first part" in (await response.json())["detail"]
    assert stored_keys(storage) == []


async def test_a_body_over_the_limit_made_of_preamble_is_413_and_stores_nothing(aiohttp_client, make_app, storage):
    client = await aiohttp_client(make_app(storage, max_upload_bytes=20_000), headers=ALICE)
    body = multipart_body(b"x" * 100 + b"\r\n" * 15_000)  # 30 kB of preamble, under the 64 KiB cap
    response = await client.post(f"{BASE}/images", data=chunked(body), headers=HEADERS)
    assert response.status == 413
    assert response.content_type == PROBLEM
    assert stored_keys(storage) == []
