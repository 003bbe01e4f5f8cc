"""GET and HEAD /images/{id}/media: validators, conditional requests and ranges, on every backend."""

from __future__ import annotations

import pytest

from filters_server.testing import png16

from .conftest import BASE, create

MEDIA = png16(120, 90, seed=5)


@pytest.fixture
async def media_url(client):
    created = await create(client, media=MEDIA)
    return f"{BASE}/images/{created['id']}/media"


async def test_media_is_served_whole_with_validators(client, media_url):
    response = await client.get(media_url)
    assert response.status == 200
    assert await response.read() == MEDIA
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.headers["ETag"].startswith('"')
    assert response.headers["Last-Modified"].endswith("GMT")
    assert int(response.headers["Content-Length"]) == len(MEDIA)


async def test_head_gives_the_headers_of_get_without_a_body(client, media_url):
    response = await client.head(media_url)
    assert response.status == 200
    assert int(response.headers["Content-Length"]) == len(MEDIA)
    assert await response.read() == b""


async def test_if_none_match_with_the_current_etag_is_304(client, media_url):
    etag = (await client.get(media_url)).headers["ETag"]
    response = await client.get(media_url, headers={"If-None-Match": etag})
    assert response.status == 304
    assert response.headers["ETag"] == etag


async def test_if_none_match_with_another_etag_is_200(client, media_url):
    response = await client.get(media_url, headers={"If-None-Match": '"other"'})
    assert response.status == 200


@pytest.mark.parametrize(
    "header, start, end",
    [
        ("bytes=0-99", 0, 100),
        ("bytes=100-", 100, len(MEDIA)),
        ("bytes=-50", len(MEDIA) - 50, len(MEDIA)),
        ("bytes=10-10", 10, 11),
        (f"bytes=5-{len(MEDIA) + 1000}", 5, len(MEDIA)),
        (f"bytes=-{len(MEDIA) * 2}", 0, len(MEDIA)),
    ],
)
async def test_a_single_range_is_206_with_content_range(client, media_url, header, start, end):
    response = await client.get(media_url, headers={"Range": header})
    assert response.status == 206
    assert await response.read() == MEDIA[start:end]
    assert response.headers["Content-Range"] == f"bytes {start}-{end - 1}/{len(MEDIA)}"


async def test_head_with_a_range_gives_206_headers_only(client, media_url):
    response = await client.head(media_url, headers={"Range": "bytes=0-9"})
    assert response.status == 206
    assert response.headers["Content-Length"] == "10"
    assert await response.read() == b""


@pytest.mark.parametrize("header", [f"bytes={len(MEDIA)}-", f"bytes={len(MEDIA) + 5}-{len(MEDIA) + 10}", "bytes=-0"])
async def test_an_unsatisfiable_range_is_416_with_the_size(client, media_url, header):
    response = await client.get(media_url, headers={"Range": header})
    assert response.status == 416
    assert response.headers["Content-Range"] == f"bytes */{len(MEDIA)}"


@pytest.mark.parametrize("header", ["bytes=abc", "items=0-5", "bytes=9-3", "bytes"])
async def test_a_malformed_range_is_ignored(client, media_url, header):
    response = await client.get(media_url, headers={"Range": header})
    assert response.status == 200
    assert await response.read() == MEDIA


async def test_several_ranges_get_multipart_byteranges(client, media_url):
    response = await client.get(media_url, headers={"Range": "bytes=0-9,100-119"})
    assert response.status == 206
    assert response.content_type == "multipart/byteranges"
    body = await response.read()
    boundary = response.headers["Content-Type"].split("boundary=")[1]
    pieces = [p for p in body.split(b"--" + boundary.encode()) if p.strip(b"\r\n-")]
    assert len(pieces) == 2
    assert f"Content-Range: bytes 0-9/{len(MEDIA)}".encode() in pieces[0]
    assert pieces[0].split(b"\r\n\r\n", 1)[1][:-2] == MEDIA[0:10]
    assert pieces[1].split(b"\r\n\r\n", 1)[1][:-2] == MEDIA[100:120]
    assert int(response.headers["Content-Length"]) == len(body)


async def test_overlapping_ranges_are_merged(client, media_url):
    response = await client.get(media_url, headers={"Range": "bytes=0-50,20-99"})
    assert response.status == 206
    assert response.headers["Content-Range"] == f"bytes 0-99/{len(MEDIA)}"
    assert await response.read() == MEDIA[:100]


async def test_many_ranges_get_the_whole_file_not_416(client, media_url):
    ranges = ",".join(f"{i * 10}-{i * 10 + 1}" for i in range(50))
    response = await client.get(media_url, headers={"Range": f"bytes={ranges}"})
    assert response.status == 200
    assert await response.read() == MEDIA


async def test_if_range_with_the_current_etag_honours_the_range(client, media_url):
    etag = (await client.head(media_url)).headers["ETag"]
    response = await client.get(media_url, headers={"Range": "bytes=0-9", "If-Range": etag})
    assert response.status == 206


async def test_if_range_with_a_stale_etag_sends_the_whole_file(client, media_url):
    response = await client.get(media_url, headers={"Range": "bytes=0-9", "If-Range": '"stale"'})
    assert response.status == 200
    assert await response.read() == MEDIA


async def test_if_range_with_the_last_modified_date_honours_the_range(client, media_url):
    last_modified = (await client.head(media_url)).headers["Last-Modified"]
    response = await client.get(media_url, headers={"Range": "bytes=0-9", "If-Range": last_modified})
    assert response.status == 206


async def test_if_range_with_another_date_sends_the_whole_file(client, media_url):
    response = await client.get(media_url, headers={"Range": "bytes=0-9", "If-Range": "Mon, 01 Jan 2001 00:00:00 GMT"})
    assert response.status == 200


async def test_media_whose_bytes_vanished_from_storage_is_410(client, storage):
    created = await create(client, media=MEDIA)
    await storage.delete(f"images/{created['id']}/media")
    response = await client.get(f"{BASE}/images/{created['id']}/media")
    assert response.status == 410
    assert response.content_type == "application/problem+json"
