"""Media downloads to a file resume from a partial file with Range + If-Range."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from filters_client import FiltersClient, RetryPolicy, files
from filters_server.testing import TEST_PASSWORD, TEST_USER, FiltersTestServer, png16

from .conftest import Recorder

MEDIA = png16(320, 240, seed=7)  # large enough to arrive in several chunks


async def media_etag(server: FiltersTestServer, image_id: str) -> str:
    async with (
        aiohttp.ClientSession(headers=server.headers) as http,
        http.head(server.url(f"images/{image_id}/media")) as response,
    ):
        return response.headers["ETag"]


def media_requests(recorder: Recorder, image_id: str) -> list[dict[str, str]]:
    return [
        headers
        for method, path, headers in recorder.requests
        if method == "GET" and path.endswith(f"/images/{image_id}/media")
    ]


async def test_a_partial_download_resumes_with_a_range_request(
    client: FiltersClient, server: FiltersTestServer, recorder: Recorder, image_info: dict[str, Any], tmp_path: Path
) -> None:
    resource = await client.upload(MEDIA, image_info)
    dest = tmp_path / "media.png"
    # What an interrupted download leaves: the first bytes in .part, the ETag they belong to beside it.
    (tmp_path / "media.png.part").write_bytes(MEDIA[:1000])
    (tmp_path / "media.png.part.etag").write_text(await media_etag(server, resource.id))

    await client.download_media(resource.id, dest)

    assert dest.read_bytes() == MEDIA
    sent = media_requests(recorder, resource.id)[-1]
    assert sent["Range"] == "bytes=1000-" and sent["If-Range"] == await media_etag(server, resource.id)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["media.png"]


async def test_a_part_of_other_media_is_replaced_by_the_whole_file(
    client: FiltersClient, image_info: dict[str, Any], tmp_path: Path
) -> None:
    resource = await client.upload(MEDIA, image_info)
    (tmp_path / "media.png.part").write_bytes(b"x" * 1000)
    (tmp_path / "media.png.part.etag").write_text('"some-other-version"')

    dest = await client.download_media(resource.id, tmp_path / "media.png")

    assert dest.read_bytes() == MEDIA  # the stale If-Range got the whole file (200), not a splice


async def test_a_connection_broken_mid_body_is_resumed_from_where_it_broke(
    server: FiltersTestServer,
    recorder: Recorder,
    no_env: None,
    image_info: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_chunks = files.body_chunks
    breaks = 0

    async def breaking_chunks(response: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
        nonlocal breaks
        async for chunk in real_chunks(response):
            yield chunk[:4096] if breaks == 0 else chunk
            if breaks == 0:
                breaks += 1
                raise aiohttp.ClientPayloadError("connection lost mid-body")

    async def no_wait(_: float) -> None:
        return None

    async with FiltersClient(
        server.base_url, user=TEST_USER, password=TEST_PASSWORD, retry=RetryPolicy(retries=2), sleep=no_wait
    ) as client:
        resource = await client.upload(MEDIA, image_info)
        monkeypatch.setattr(files, "body_chunks", breaking_chunks)
        dest = await client.download_media(resource.id, tmp_path / "media.png")

    assert dest.read_bytes() == MEDIA
    first, second = media_requests(recorder, resource.id)
    assert "Range" not in first and second["Range"] == "bytes=4096-"


async def test_no_resume_starts_again(
    client: FiltersClient, recorder: Recorder, image_info: dict[str, Any], tmp_path: Path
) -> None:
    resource = await client.upload(MEDIA, image_info)
    (tmp_path / "media.png.part").write_bytes(MEDIA[:1000])
    (tmp_path / "media.png.part.etag").write_text('"whatever"')

    dest = await client.download_media(resource.id, tmp_path / "media.png", resume=False)

    assert dest.read_bytes() == MEDIA
    assert "Range" not in media_requests(recorder, resource.id)[-1]


async def test_a_part_that_is_already_whole_is_completed_without_a_body(
    client: FiltersClient, server: FiltersTestServer, image_info: dict[str, Any], tmp_path: Path
) -> None:
    resource = await client.upload(MEDIA, image_info)
    (tmp_path / "media.png.part").write_bytes(MEDIA)  # interrupted after the last byte, before the rename
    (tmp_path / "media.png.part.etag").write_text(await media_etag(server, resource.id))

    dest = await client.download_media(resource.id, tmp_path / "media.png")

    assert dest.read_bytes() == MEDIA
    assert sorted(p.name for p in tmp_path.iterdir()) == ["media.png"]
