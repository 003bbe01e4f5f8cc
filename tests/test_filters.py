"""POST /images/{id}/filters/{unmap,select,supreme,ae}: the HTTP contract of the filters."""

from __future__ import annotations

import asyncio
import io
import threading

import cv2
import numpy as np
import pytest
from PIL import Image

from backends.memory import MemoryStorage
from filters_server.core import results as result_cache
from filters_server.testing import png16, sample_image_info

from .conftest import ALICE, BASE, create, settle, stored_keys

MEDIA = png16(96, 64, seed=2)
FILTER_NAMES = ["unmap", "select", "supreme", "ae"]


def decode(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)


@pytest.fixture
async def resource(client):
    return await create(client, media=MEDIA)


def filter_url(resource: dict, name: str) -> str:
    return f"{BASE}/images/{resource['id']}/filters/{name}"


@pytest.mark.parametrize("name", FILTER_NAMES)
async def test_each_filter_returns_a_16_bit_png_of_the_same_size(client, resource, name):
    response = await client.post(filter_url(resource, name))
    assert response.status == 200, await response.text()
    assert response.content_type == "image/png"
    image = decode(await response.read())
    assert image.dtype == np.uint16 and image.shape == (64, 96)
    assert response.headers["Vary"] == "Accept"


@pytest.mark.parametrize(
    "name, body",
    [
        ("select", {"EnhancementMode": 3}),
        ("select", {"enhancementMode": "EDGEPRO"}),
        ("supreme", {"Task": 0, "Sharpness": 70.0}),
        ("ae", {"Task": 0, "Sharpness": 70.0}),
        ("supreme", {"task": "general", "sharpness": "70"}),
    ],
)
async def test_vendor_sdk_bodies_give_the_same_result_as_the_defaults(client, resource, name, body):
    explicit = await client.post(filter_url(resource, name), json=body)
    default = await client.post(filter_url(resource, name))
    assert explicit.status == default.status == 200
    assert await explicit.read() == await default.read()


async def test_unmap_accepts_an_empty_body_with_content_length_zero(client, resource):
    response = await client.post(filter_url(resource, "unmap"), data=b"", headers={"Content-Length": "0"})
    assert response.status == 200


async def test_a_json_null_body_takes_the_defaults(client, resource):
    response = await client.post(
        filter_url(resource, "select"), data=b"null", headers={"Content-Type": "application/json"}
    )
    assert response.status == 200


@pytest.mark.parametrize(
    "name, body, field",
    [
        ("select", {"enhancementMode": "sharpest"}, "enhancementMode"),
        ("select", {"enhancementMode": 4}, "enhancementMode"),
        ("supreme", {"sharpness": 101}, "sharpness"),
        ("supreme", {"sharpness": -0.5}, "sharpness"),
        ("ae", {"sharpness": "high"}, "sharpness"),
        ("ae", {"task": "hygiene"}, "task"),
        ("supreme", {"task": True}, "task"),
    ],
)
async def test_bad_parameters_are_400_naming_the_field(client, resource, name, body, field):
    response = await client.post(filter_url(resource, name), json=body)
    assert response.status == 400
    assert response.content_type == "application/problem+json"
    assert field in (await response.json())["detail"]


async def test_unparseable_json_is_400(client, resource):
    response = await client.post(
        filter_url(resource, "supreme"), data=b"{task:", headers={"Content-Type": "application/json"}
    )
    assert response.status == 400


async def test_a_resource_whose_lut_is_degenerate_is_400(client):
    info = sample_image_info()
    info["lutInfo"]["slope"] = 0
    created = await create(client, media=MEDIA, info=info)
    response = await client.post(filter_url(created, "unmap"))
    assert response.status == 400
    assert "lutInfo" in (await response.json())["detail"]


async def test_an_unknown_resource_is_404(client):
    response = await client.post(f"{BASE}/images/160c98f9-d188-4118-94c4-697161fd5caf/filters/select")
    assert response.status == 404


async def test_another_users_resource_is_404(client, bob, resource):
    response = await bob.post(filter_url(resource, "select"))
    assert response.status == 404


async def test_an_expired_resource_is_404(client, clock, resource):
    clock.advance(8 * 3600)
    assert (await client.post(filter_url(resource, "ae"))).status == 404


async def test_a_resource_whose_media_vanished_is_410(client, storage, resource):
    await storage.delete(f"images/{resource['id']}/media")
    response = await client.post(filter_url(resource, "supreme"))
    assert response.status == 410
    assert response.content_type == "application/problem+json"


async def test_an_unknown_filter_is_404(client, resource):
    assert (await client.post(filter_url(resource, "blur"))).status == 404


@pytest.mark.parametrize(
    "accept, expected",
    [
        ("image/tiff", "image/tiff"),
        ("image/jpeg", "image/jpeg"),
        ("image/gif", "image/gif"),
        ("*/*", "image/png"),
        ("image/*", "image/png"),
        ("image/png;q=0, */*", "image/tiff"),
        ("image/jpeg;q=0.5, image/gif;q=0.8", "image/gif"),
        ("text/html, image/jpeg;q=0.1", "image/jpeg"),
    ],
)
async def test_accept_chooses_the_output_format(client, resource, accept, expected):
    response = await client.post(filter_url(resource, "select"), headers={"Accept": accept})
    assert response.status == 200
    assert response.content_type == expected
    body = await response.read()
    image = np.asarray(Image.open(io.BytesIO(body))) if expected == "image/gif" else decode(body)
    assert image.shape == (64, 96)
    assert image.dtype == (np.uint16 if expected in ("image/png", "image/tiff") else np.uint8)


async def test_a_gif_holds_the_16_bit_result_scaled_to_8_bits_losslessly(client, resource):
    png = decode(await (await client.post(filter_url(resource, "select"))).read())
    gif = await (await client.post(filter_url(resource, "select"), headers={"Accept": "image/gif"})).read()
    with Image.open(io.BytesIO(gif)) as opened:
        assert opened.mode == "L"  # grayscale, no palette quantisation
        pixels = np.asarray(opened)
    expected = np.rint(png.astype(np.float64) * 255 / 65535).astype(np.uint8)
    assert np.array_equal(pixels, expected)


@pytest.mark.parametrize("accept", ["text/html", "application/json", "image/webp", "image/*;q=0"])
async def test_nothing_acceptable_is_406(client, resource, accept):
    response = await client.post(filter_url(resource, "select"), headers={"Accept": accept})
    assert response.status == 406
    assert response.content_type == "application/problem+json"


async def test_a_repeat_is_served_from_the_cache_with_the_same_etag_and_bytes(client, app, resource):
    first = await client.post(filter_url(resource, "supreme"), json={"sharpness": 40})
    await settle(app)
    second = await client.post(filter_url(resource, "supreme"), json={"Sharpness": 40.0})
    assert (first.headers["X-Cache"], second.headers["X-Cache"]) == ("miss", "hit")
    assert first.headers["ETag"] == second.headers["ETag"]
    assert await first.read() == await second.read()


async def test_a_repeat_with_if_none_match_is_304(client, app, resource):
    first = await client.post(filter_url(resource, "select"))
    await settle(app)
    again = await client.post(filter_url(resource, "select"), headers={"If-None-Match": first.headers["ETag"]})
    assert again.status == 304


async def test_if_none_match_is_304_even_before_the_result_is_cached(client, resource):
    first = await client.post(filter_url(resource, "ae"))
    again = await client.post(filter_url(resource, "ae"), headers={"If-None-Match": first.headers["ETag"]})
    assert again.status == 304


async def test_a_delete_while_the_result_is_being_stored_leaves_nothing(client, app, storage, resource):
    await client.post(filter_url(resource, "select"))
    await client.delete(f"{BASE}/images/{resource['id']}")
    await settle(app)
    assert stored_keys(storage) == []


async def test_different_parameters_and_formats_are_cached_apart(client, resource):
    sharp = await client.post(filter_url(resource, "ae"), json={"sharpness": 100})
    soft = await client.post(filter_url(resource, "ae"), json={"sharpness": 0})
    tiff = await client.post(filter_url(resource, "ae"), json={"sharpness": 100}, headers={"Accept": "image/tiff"})
    assert len({sharp.headers["ETag"], soft.headers["ETag"], tiff.headers["ETag"]}) == 3
    assert soft.headers["X-Cache"] == tiff.headers["X-Cache"] == "miss"


async def test_deleting_the_resource_removes_its_cached_results(client, app, storage, resource):
    await client.post(filter_url(resource, "select"))
    await settle(app)
    assert any("/results/" in key for key in stored_keys(storage))
    await client.delete(f"{BASE}/images/{resource['id']}")
    assert stored_keys(storage) == []


async def test_expiry_removes_cached_results(client, app, clock, storage, resource):
    from filters_server.api import appkeys as keys

    await client.post(filter_url(resource, "unmap"))
    await settle(app)
    clock.advance(8 * 3600)
    await app[keys.INDEX].sweep()
    assert stored_keys(storage) == []


async def test_identical_input_gives_identical_bytes_across_resources(client):
    first = await create(client, media=MEDIA)
    second = await create(client, media=MEDIA)
    a = await client.post(filter_url(first, "supreme"))
    b = await client.post(filter_url(second, "supreme"))
    assert await a.read() == await b.read()


@pytest.fixture
def blocked_filter(monkeypatch):
    """Make every filter job wait until the test releases it."""
    release = threading.Event()
    started = threading.Event()
    real = result_cache.imaging.filter_pixels

    def slow(*args, **kwargs):
        started.set()
        release.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(result_cache.imaging, "filter_pixels", slow)
    yield started, release
    release.set()


async def test_a_saturated_worker_pool_answers_503_with_retry_after(aiohttp_client, make_app, storage, blocked_filter):
    started, release = blocked_filter
    client = await aiohttp_client(make_app(storage, workers=1, queue_depth=0), headers=ALICE)
    created = await create(client, media=MEDIA)
    running = asyncio.create_task(client.post(filter_url(created, "select")))
    await asyncio.get_running_loop().run_in_executor(None, started.wait, 5)
    refused = await client.post(filter_url(created, "supreme"))
    assert refused.status == 503
    assert refused.headers["Retry-After"]
    assert refused.content_type == "application/problem+json"
    release.set()
    assert (await running).status == 200


async def test_metadata_requests_answer_while_every_worker_is_busy(aiohttp_client, make_app, storage, blocked_filter):
    started, release = blocked_filter
    client = await aiohttp_client(make_app(storage, workers=1, queue_depth=1), headers=ALICE)
    created = await create(client, media=MEDIA)
    running = asyncio.create_task(client.post(filter_url(created, "ae")))
    await asyncio.get_running_loop().run_in_executor(None, started.wait, 5)
    response = await client.get(f"{BASE}/images/{created['id']}")
    assert response.status == 200
    assert not running.done()
    release.set()
    assert (await running).status == 200


async def test_a_second_filter_on_one_image_reuses_the_decoded_source(client, app, resource, monkeypatch):
    decodes = []
    real = result_cache.imaging.decode_png16
    monkeypatch.setattr(result_cache.imaging, "decode_png16", lambda data: decodes.append(1) or real(data))
    first = await client.post(filter_url(resource, "select"))
    second = await client.post(filter_url(resource, "supreme"))
    assert (first.status, second.status) == (200, 200)
    assert len(decodes) == 1


async def test_results_from_a_reused_decode_are_identical_to_fresh_ones(aiohttp_client, make_app, monkeypatch):
    decodes = []
    real = result_cache.imaging.decode_png16
    monkeypatch.setattr(result_cache.imaging, "decode_png16", lambda data: decodes.append(1) or real(data))
    warm = await aiohttp_client(make_app(MemoryStorage()), headers=ALICE)
    created = await create(warm, media=MEDIA)
    await warm.post(filter_url(created, "unmap"))  # decodes and keeps the source
    reused = await warm.post(filter_url(created, "ae"), json={"sharpness": 55})
    assert reused.headers["X-Cache"] == "miss" and len(decodes) == 1  # computed now, from the kept decode
    # Another server with its own storage and no decoded-source cache computes the same request from the PNG.
    cold = await aiohttp_client(make_app(MemoryStorage(), decoded_cache_bytes=0), headers=ALICE)
    other = await create(cold, media=MEDIA)
    fresh = await cold.post(filter_url(other, "ae"), json={"sharpness": 55})
    assert fresh.headers["X-Cache"] == "miss" and len(decodes) == 2
    assert await reused.read() == await fresh.read()


async def test_a_repeat_before_the_cache_write_finished_is_still_a_hit(client, resource):
    first = await client.post(filter_url(resource, "supreme"), json={"sharpness": 10})
    second = await client.post(filter_url(resource, "supreme"), json={"sharpness": 10})
    assert second.headers["X-Cache"] == "hit"
    assert await first.read() == await second.read()
