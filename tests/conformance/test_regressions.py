"""Requests Schemathesis found answered wrongly, kept as explicit examples."""

from __future__ import annotations

import json

from filters_server.testing import png16, sample_image_info

from ..conftest import BASE, stored_keys


def multipart(*parts: bytes, boundary: bytes = b"B") -> bytes:
    return b"".join(b"--" + boundary + b"\r\n" + part + b"\r\n" for part in parts) + b"--" + boundary + b"--\r\n"


async def test_a_part_name_with_control_characters_is_400_not_500(client, storage):
    body = multipart(
        b'Content-Disposition: form-data; name="\x1e8\x00\x08\xc2\x90\\Ved"\r\n\r\n{}',
        b'Content-Disposition: form-data; name=""\r\n\r\n{}',
    )
    response = await client.post(
        f"{BASE}/images", data=body, headers={"Content-Type": "multipart/form-data; boundary=B"}
    )
    assert response.status == 400
    assert response.content_type == "application/problem+json"
    assert stored_keys(storage) == []


async def test_an_uploaded_image_resource_has_a_null_modality_session(client):
    form_body = multipart(
        b'Content-Disposition: form-data; name="imageInfo"\r\nContent-Type: application/json\r\n\r\n'
        + json.dumps(sample_image_info()).encode(),
        b'Content-Disposition: form-data; name="imageMedia"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n'
        + png16(),
    )
    response = await client.post(
        f"{BASE}/images", data=form_body, headers={"Content-Type": "multipart/form-data; boundary=B"}
    )
    assert response.status == 201
    assert (await response.json())["modalitySession"] is None


async def test_get_on_the_modality_collection_is_405_allowing_post(client):
    response = await client.get(f"{BASE}/images/modality")
    assert response.status == 405
    assert response.headers["Allow"] == "POST"
    assert response.content_type == "application/problem+json"


async def test_a_valid_modality_session_is_501_without_a_modality_api(client):
    response = await client.post(f"{BASE}/images/modality", json={"sessionId": "s", "imageId": "i"})
    assert response.status == 501
    assert "--modality-url" in (await response.json())["detail"]
    assert response.content_type == "application/problem+json"


async def test_a_modality_session_with_an_empty_image_id_is_400(client):
    response = await client.post(f"{BASE}/images/modality", json={"sessionId": "s", "imageId": ""})
    assert response.status == 400
    assert "imageId" in (await response.json())["detail"]


async def test_a_modality_request_without_a_body_is_400(client):
    response = await client.post(f"{BASE}/images/modality")
    assert response.status == 400
    assert response.content_type == "application/problem+json"
