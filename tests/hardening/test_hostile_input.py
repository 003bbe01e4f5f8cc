"""Client input that used to raise deep inside the server (500 with a traceback) gets a 4xx problem."""

from __future__ import annotations

import json

from filters_server.testing import png16, sample_image_info

from ..conftest import BASE, create, stored_keys, upload

PROBLEM = "application/problem+json"
LONG_NUMBER = "1" * 5000  # more digits than Python converts to int (4300)


async def test_a_number_too_long_to_read_in_filter_parameters_is_400(client):
    resource = await create(client)
    response = await client.post(
        f"{BASE}/images/{resource['id']}/filters/supreme",
        data=f'{{"sharpness": {LONG_NUMBER}}}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status == 400
    assert response.content_type == PROBLEM


async def test_json_nested_deeper_than_the_parser_is_400(client):
    resource = await create(client)
    response = await client.post(
        f"{BASE}/images/{resource['id']}/filters/select",
        data="[" * 100_000,
        headers={"Content-Type": "application/json"},
    )
    assert response.status == 400
    assert response.content_type == PROBLEM


async def test_an_image_info_with_a_number_too_long_is_400_and_stores_nothing(client, storage):
    info = json.dumps(sample_image_info()).replace('"gamma": 2.3', f'"gamma": {LONG_NUMBER}')
    response = await upload(client, png16(), info)
    assert response.status == 400
    assert response.content_type == PROBLEM
    assert stored_keys(storage) == []


async def test_an_image_info_nested_too_deeply_is_400_and_stores_nothing(client, storage):
    response = await upload(client, png16(), "[" * 100_000)
    assert response.status == 400
    assert response.content_type == PROBLEM
    assert stored_keys(storage) == []


async def test_a_range_end_too_long_to_be_an_offset_means_to_the_end(client):
    resource = await create(client)
    media = png16()
    response = await client.get(f"{BASE}/images/{resource['id']}/media", headers={"Range": f"bytes=0-{LONG_NUMBER}"})
    assert response.status == 206
    assert response.headers["Content-Range"] == f"bytes 0-{len(media) - 1}/{len(media)}"
    assert await response.read() == media


async def test_a_range_start_too_long_to_be_an_offset_is_unsatisfiable(client):
    resource = await create(client)
    response = await client.get(f"{BASE}/images/{resource['id']}/media", headers={"Range": f"bytes={LONG_NUMBER}-"})
    assert response.status == 416
    assert response.content_type == PROBLEM


async def test_a_range_with_non_ascii_digits_is_ignored(client):
    resource = await create(client)
    response = await client.get(f"{BASE}/images/{resource['id']}/media", headers={"Range": "bytes=\u00b2-5"})
    assert response.status == 200
    assert await response.read() == png16()
