"""POST /images/modality: a resource from an image of a live Modality session, and every refusal."""

from __future__ import annotations

import hashlib

import cv2
import numpy as np
import pytest

from filters_server.testing import png16, sample_image_info

from ..conftest import BASE, stored_keys
from .conftest import SIM_BASE, UNKNOWN_ID, closed_port, create_modality


async def assert_refused(response, status: int, store) -> dict:
    assert response.status == status, await response.text()
    assert response.content_type == "application/problem+json"
    problem = await response.json()
    assert problem["status"] == status and problem["detail"]
    assert stored_keys(store) == []
    return problem


def fake_info(media: bytes, **changes) -> dict:
    """A Modality ImageInfo for ``media`` (a 16-bit PNG) with a correct pixelHash unless changed."""
    pixels = cv2.imdecode(np.frombuffer(media, np.uint8), cv2.IMREAD_UNCHANGED)
    info = {
        "id": "img-1",
        "width": pixels.shape[1],
        "height": pixels.shape[0],
        "pixelHash": {"alg": "SHA256", "hash": hashlib.sha256(pixels.astype("<u2").tobytes()).hexdigest()},
        **sample_image_info(),
    }
    info.update(changes)
    return info


# Created -------------------------------------------------------------------------------------


async def test_creation_answers_201_with_the_modality_session(filters, acquire):
    session_id, image = await acquire()
    response = await create_modality(filters, session_id, image["id"])
    assert response.status == 201, await response.text()
    body = await response.json()
    assert body["modalitySession"] == {"sessionId": session_id, "imageId": image["id"]}
    assert body["mediaType"] == "image/png"
    assert response.headers["Location"] == f"{BASE}/images/{body['id']}"


async def test_image_info_is_the_canonical_subset_of_the_modality_image_info(created):
    _, body = await created()
    lut = body["imageInfo"]["lutInfo"]
    assert set(body["imageInfo"]) == {"acquisitionInfo", "lutInfo"}
    assert set(lut) == {"gamma", "slope", "offset", "totalGrays", "minimumGray", "maximumGray"}


async def test_lut_info_is_taken_from_the_modality_image_info(filters, acquire):
    session_id, image = await acquire()
    body = await (await create_modality(filters, session_id, image["id"])).json()
    assert body["imageInfo"]["lutInfo"] == image["lutInfo"]


async def test_a_binned_acquisition_makes_a_binned_resource(created):
    _, body = await created(binning="Binned2x2")
    assert body["imageInfo"]["acquisitionInfo"] == {"binning": "Binned2x2"}


async def test_an_unbinned_acquisition_makes_an_unbinned_resource(created):
    _, body = await created(binning="Unbinned")
    assert body["imageInfo"]["acquisitionInfo"] == {"binning": "Unbinned"}


async def test_the_media_is_the_modality_png_byte_for_byte(filters, acquire, sim_http):
    session_id, image = await acquire()
    body = await (await create_modality(filters, session_id, image["id"])).json()
    original = await (await sim_http.get(f"{SIM_BASE}/acquisition/{session_id}/images/{image['id']}/media")).read()
    response = await filters.get(f"{BASE}/images/{body['id']}/media")
    assert response.status == 200
    assert await response.read() == original


async def test_get_image_answers_the_resource_with_its_modality_session(filters, created):
    session_id, body = await created()
    response = await filters.get(f"{BASE}/images/{body['id']}")
    assert response.status == 200
    assert (await response.json())["modalitySession"]["sessionId"] == session_id


async def test_body_keys_may_come_in_any_case(filters, acquire):
    session_id, image = await acquire()
    response = await filters.post(f"{BASE}/images/modality", json={"SessionId": session_id, "IMAGEID": image["id"]})
    assert response.status == 201, await response.text()


async def test_filters_apply_to_a_modality_resource(filters, created):
    _, body = await created()
    response = await filters.post(f"{BASE}/images/{body['id']}/filters/unmap")
    assert response.status == 200
    assert response.content_type == "image/png"


# 400 -----------------------------------------------------------------------------------------


async def test_malformed_json_is_400(filters, store):
    response = await filters.post(
        f"{BASE}/images/modality", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    await assert_refused(response, 400, store)


@pytest.mark.parametrize("body", [{}, {"sessionId": "s"}, {"imageId": "i"}, [], "text"])
async def test_missing_ids_are_400(filters, store, body):
    response = await filters.post(f"{BASE}/images/modality", json=body)
    await assert_refused(response, 400, store)


@pytest.mark.parametrize("bad", [7, None, ["a"], {"id": "a"}, True])
async def test_non_string_ids_are_400(filters, store, bad):
    response = await filters.post(f"{BASE}/images/modality", json={"sessionId": bad, "imageId": "i"})
    problem = await assert_refused(response, 400, store)
    assert "sessionId" in problem["detail"]


@pytest.mark.parametrize("bad", ["..", "a/b", "%2e%2e", "x?y=1", "", "a" * 300])
async def test_ids_that_cannot_be_a_path_segment_are_400_and_never_sent(filters, store, sim_log, bad):
    response = await filters.post(f"{BASE}/images/modality", json={"sessionId": "s", "imageId": bad})
    await assert_refused(response, 400, store)
    assert sim_log.requests == []


async def test_a_raw_image_without_lut_info_is_400(filters, acquire, store):
    session_id, image = await acquire(applyLut=False)
    assert image["lutInfo"] is None
    problem = await assert_refused(await create_modality(filters, session_id, image["id"]), 400, store)
    assert "lutInfo" in problem["detail"]


# 404 -----------------------------------------------------------------------------------------


async def test_an_unknown_session_is_404(filters, acquire, store):
    _, image = await acquire()
    await assert_refused(await create_modality(filters, UNKNOWN_ID, image["id"]), 404, store)


async def test_an_unknown_image_is_404(filters, acquire, store):
    session_id, _ = await acquire()
    await assert_refused(await create_modality(filters, session_id, UNKNOWN_ID), 404, store)


# 413 / 415 -----------------------------------------------------------------------------------


async def test_an_image_over_max_pixels_is_413(filters_for, sim_url, acquire, store):
    client = await filters_for(sim_url, max_pixels=1000)
    session_id, image = await acquire()
    await assert_refused(await create_modality(client, session_id, image["id"]), 413, store)


async def test_an_8_bit_png_is_415(filters_for, fake_modality, store):
    media = cv2.imencode(".png", np.full((48, 64), 100, np.uint8))[1].tobytes()
    url = await fake_modality(fake_info(png16(), width=64, height=48), media)
    client = await filters_for(url)
    await assert_refused(await create_modality(client, "s", "i"), 415, store)


# 502 -----------------------------------------------------------------------------------------


async def test_an_unreachable_modality_api_is_502(filters_for, store):
    client = await filters_for(f"http://127.0.0.1:{closed_port()}{SIM_BASE}")
    await assert_refused(await create_modality(client, "s", "i"), 502, store)


@pytest.mark.parametrize(
    "body, content_type",
    [
        (b"<html>proxy error</html>", "text/html"),
        (b"{truncated", "application/json"),
        (b"[1, 2, 3]", "application/json"),
    ],
)
async def test_garbage_image_info_is_502(filters_for, fake_modality, store, body, content_type):
    client = await filters_for(await fake_modality(body, info_type=content_type))
    await assert_refused(await create_modality(client, "s", "i"), 502, store)


async def test_an_image_info_with_an_invalid_lut_is_502(filters_for, fake_modality, store):
    info = fake_info(png16(), lutInfo={"gamma": "steep"})
    client = await filters_for(await fake_modality(info, png16()))
    await assert_refused(await create_modality(client, "s", "i"), 502, store)


async def test_media_that_is_not_declared_png_is_502(filters_for, fake_modality, store):
    media = png16()
    client = await filters_for(await fake_modality(fake_info(media), media, media_type="text/html"))
    await assert_refused(await create_modality(client, "s", "i"), 502, store)


async def test_a_corrupt_png_is_502(filters_for, fake_modality, store):
    media = png16()
    client = await filters_for(await fake_modality(fake_info(media), media[: len(media) // 2]))
    await assert_refused(await create_modality(client, "s", "i"), 502, store)


async def test_media_of_other_dimensions_than_the_image_info_is_502(filters_for, fake_modality, store):
    media = png16()
    client = await filters_for(await fake_modality(fake_info(media, width=65), media))
    await assert_refused(await create_modality(client, "s", "i"), 502, store)


async def test_a_pixel_hash_mismatch_is_502_and_stores_nothing(filters_for, fake_modality, store):
    media = png16()
    info = fake_info(media, pixelHash={"alg": "SHA256", "hash": "0" * 64})
    client = await filters_for(await fake_modality(info, media))
    problem = await assert_refused(await create_modality(client, "s", "i"), 502, store)
    assert "pixelHash" in problem["detail"]
    assert store.puts  # the media was streamed and then discarded, not refused up front


async def test_a_correct_pixel_hash_is_accepted(filters_for, fake_modality):
    media = png16()
    client = await filters_for(await fake_modality(fake_info(media), media))
    assert (await create_modality(client, "s", "i")).status == 201


async def test_a_big_endian_pixel_hash_is_accepted(filters_for, fake_modality):
    media = png16()
    pixels = cv2.imdecode(np.frombuffer(media, np.uint8), cv2.IMREAD_UNCHANGED)
    info = fake_info(media, pixelHash={"alg": "MD5", "hash": hashlib.md5(pixels.astype(">u2").tobytes()).hexdigest()})
    client = await filters_for(await fake_modality(info, media))
    assert (await create_modality(client, "s", "i")).status == 201


async def test_an_image_info_without_pixel_hash_is_accepted(filters_for, fake_modality):
    media = png16()
    client = await filters_for(await fake_modality(fake_info(media, pixelHash=None), media))
    assert (await create_modality(client, "s", "i")).status == 201


# 501 -----------------------------------------------------------------------------------------


async def test_without_modality_url_the_route_is_501_naming_the_flag(filters_for, store):
    client = await filters_for(None)
    response = await create_modality(client, "s", "i")
    problem = await assert_refused(response, 501, store)
    assert "--modality-url" in problem["detail"]
