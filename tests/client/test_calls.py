"""Every call of FiltersClient against the in-process server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from filters_client import (
    Binning,
    Filter,
    FiltersClient,
    ImageInfo,
    NotFound,
    OutputFormat,
    SelectMode,
    Task,
)
from filters_server.testing import FiltersTestServer, png16

from .conftest import Recorder, direct_filter

MAGIC = {"image/png": b"\x89PNG", "image/jpeg": b"\xff\xd8", "image/gif": b"GIF8"}


async def test_check_returns_the_service_root(client: FiltersClient) -> None:
    root = await client.check()
    assert root["apiVersion"] == "1.0"


async def test_upload_from_a_path_creates_a_typed_resource(
    client: FiltersClient, png_file: Path, image_info: dict[str, Any]
) -> None:
    resource = await client.upload(png_file, image_info)
    assert resource.media_type == "image/png"
    assert resource.image_info == ImageInfo.from_json(image_info)
    assert resource.modality_session is None
    assert resource.expires > resource.created_on


async def test_upload_from_bytes(client: FiltersClient, image_info: dict[str, Any]) -> None:
    resource = await client.upload(png16(seed=3), image_info)
    assert await client.media(resource.id) == png16(seed=3)


async def test_upload_from_an_async_generator(client: FiltersClient, image_info: dict[str, Any]) -> None:
    media = png16(seed=4)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(media), 1000):
            yield media[start : start + 1000]

    resource = await client.upload(chunks(), image_info)
    assert await client.media(resource.id) == media


async def test_upload_from_a_blocking_iterator(client: FiltersClient, image_info: dict[str, Any]) -> None:
    media = png16(seed=5)

    def chunks() -> Iterator[bytes]:
        yield media[:100]
        yield media[100:]

    resource = await client.upload(chunks(), image_info)
    assert await client.media(resource.id) == media


async def test_upload_from_a_file_object_leaves_it_open(
    client: FiltersClient, png_file: Path, image_info: dict[str, Any]
) -> None:
    with png_file.open("rb") as handle:
        resource = await client.upload(handle, image_info)
        assert not handle.closed
    assert await client.media(resource.id) == png_file.read_bytes()


async def test_upload_takes_an_image_info_model(
    client: FiltersClient, png_file: Path, image_info: dict[str, Any]
) -> None:
    info = ImageInfo.from_json(image_info | {"acquisitionInfo": {"binning": "Binned2x2"}})
    resource = await client.upload(png_file, info)
    assert resource.image_info.acquisition_info.binning is Binning.BINNED_2X2


async def test_get_returns_the_uploaded_resource(
    client: FiltersClient, png_file: Path, image_info: dict[str, Any]
) -> None:
    created = await client.upload(png_file, image_info)
    assert await client.get(created.id) == created


async def test_media_returns_the_uploaded_bytes(
    client: FiltersClient, png_file: Path, image_info: dict[str, Any]
) -> None:
    resource = await client.upload(png_file, image_info)
    assert await client.media(resource.id) == png_file.read_bytes()


async def test_download_media_writes_the_file(
    client: FiltersClient, png_file: Path, image_info: dict[str, Any], tmp_path: Path
) -> None:
    resource = await client.upload(png_file, image_info)
    dest = await client.download_media(resource.id, tmp_path / "out" / "media.png")
    assert dest.read_bytes() == png_file.read_bytes()
    assert sorted(p.name for p in dest.parent.iterdir()) == ["media.png"]


@pytest.mark.parametrize(
    "call, name, body",
    [
        (lambda c, i: c.unmap(i), "unmap", None),
        (lambda c, i: c.select(i, SelectMode.EDGE_HIGH), "select", {"enhancementMode": "edgeHigh"}),
        (lambda c, i: c.select(i, "smooth"), "select", {"enhancementMode": "smooth"}),
        (lambda c, i: c.supreme(i, Task.ENDODONTIC, 40), "supreme", {"task": "endodontic", "sharpness": 40}),
        (lambda c, i: c.supreme(i, "hygiene", 90), "supreme", {"task": "hygiene", "sharpness": 90}),
        (lambda c, i: c.ae(i, Task.PERIODONTIC, 10), "ae", {"task": "periodontic", "sharpness": 10}),
    ],
)
async def test_each_filter_returns_what_the_server_computes(
    client: FiltersClient,
    server: FiltersTestServer,
    image_info: dict[str, Any],
    call: Any,
    name: str,
    body: dict[str, Any] | None,
) -> None:
    media = png16(64, 48, seed=1)
    resource = await client.upload(media, image_info)
    assert await call(client, resource.id) == await direct_filter(server, media, image_info, name, body)


@pytest.mark.parametrize("accept", [OutputFormat.JPEG, "image/gif", "png"])
async def test_the_output_format_follows_accept(
    client: FiltersClient, image_info: dict[str, Any], accept: OutputFormat | str
) -> None:
    resource = await client.upload(png16(), image_info)
    output = await client.select(resource.id, accept=accept)
    expected = {OutputFormat.JPEG: "image/jpeg", "image/gif": "image/gif", "png": "image/png"}[accept]
    assert output.startswith(MAGIC[expected])


async def test_tiff_output_is_a_tiff(client: FiltersClient, image_info: dict[str, Any]) -> None:
    resource = await client.upload(png16(), image_info)
    output = await client.unmap(resource.id, accept=OutputFormat.TIFF)
    assert output[:4] in (b"II*\x00", b"MM\x00*")


async def test_a_filter_to_a_file_writes_the_output_and_no_temporary_file(
    client: FiltersClient, image_info: dict[str, Any], tmp_path: Path
) -> None:
    resource = await client.upload(png16(), image_info)
    dest = await client.supreme(resource.id, Task.RESTORATIVE, 55, to=tmp_path / "o" / "x.png")
    assert dest.read_bytes() == await client.supreme(resource.id, Task.RESTORATIVE, 55)
    assert [p.name for p in dest.parent.iterdir()] == ["x.png"]


async def test_apply_takes_a_filter_value(client: FiltersClient, image_info: dict[str, Any]) -> None:
    resource = await client.upload(png16(), image_info)
    expected = await client.ae(resource.id, "endodontic", 20)
    assert await client.apply(resource.id, Filter.ae("endodontic", 20)) == expected


async def test_delete_removes_the_resource(
    client: FiltersClient, server: FiltersTestServer, image_info: dict[str, Any]
) -> None:
    resource = await client.upload(png16(), image_info)
    assert await client.delete(resource.id) is True
    with pytest.raises(NotFound):
        await client.get(resource.id)
    assert server.storage.keys() == []


async def test_delete_of_a_missing_resource_with_missing_ok_is_false(client: FiltersClient) -> None:
    assert await client.delete("3b0f4b52-0000-4000-8000-000000000000", missing_ok=True) is False


async def test_delete_of_a_missing_resource_raises_not_found(client: FiltersClient) -> None:
    with pytest.raises(NotFound):
        await client.delete("3b0f4b52-0000-4000-8000-000000000000")


async def test_requests_carry_the_client_user_agent(client: FiltersClient, recorder: Recorder) -> None:
    await client.check()
    assert recorder.requests[-1][2]["User-Agent"] == "dsio-filters-client"
