"""ImageInfo, media and preview: shapes, sizes, hashes, 404s, determinism."""

import cv2
import numpy as np
import pytest

from filters_server.clients.modality import verify_pixel_hash
from filters_server.simulator import create_app


async def _media(client, base, session_id, image_id):
    resp = await client.get(f"{base}/acquisition/{session_id}/images/{image_id}/media")
    assert resp.status == 200 and resp.content_type == "image/png"
    return await resp.read()


def _decode(png: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED)


async def test_image_info_has_the_spec_fields(sim, acquire):
    _, image = await acquire(sim, "Supreme")
    assert set(image) == {
        "id",
        "createdOn",
        "width",
        "height",
        "bitsPerPixel",
        "bytesPerPixel",
        "pixelSizeX",
        "pixelSizeY",
        "previewUrl",
        "imageUrl",
        "pixelHash",
        "deviceInfo",
        "sensorInfo",
        "acquisitionInfo",
        "lutInfo",
        "exposureInfo",
    }
    assert image["acquisitionInfo"]["binning"] == "Binned2x2"
    assert image["sensorInfo"]["family"] == "Supreme"


async def test_get_image_returns_the_exposed_image_info(sim, base, acquire):
    session_id, image = await acquire(sim)
    resp = await sim.get(f"{base}/acquisition/{session_id}/images/{image['id']}")
    assert resp.status == 200 and await resp.json() == image


async def test_lut_is_the_documented_inverted_gamma_map(sim, acquire):
    _, image = await acquire(sim)
    lut = image["lutInfo"]
    assert lut["minimumGray"] > lut["maximumGray"]
    assert (lut["gamma"], lut["slope"], lut["offset"], lut["totalGrays"]) == (2.3, 65535.0, 0.0, 4096)


@pytest.mark.parametrize(
    "family, unbinned", [("Select", (1600, 1200)), ("Supreme", (2400, 1708)), ("Velocity", (2000, 1334))]
)
async def test_binned_image_is_half_the_sensor_size(sim, base, acquire, family, unbinned):
    session_id, image = await acquire(sim, family, binning="Binned2x2")
    pixels = _decode(await _media(sim, base, session_id, image["id"]))
    expected = (unbinned[0] // 2, unbinned[1] // 2)
    assert (image["width"], image["height"]) == expected
    assert pixels.shape == (expected[1], expected[0]) and pixels.dtype == np.uint16
    assert image["pixelSizeX"] == pytest.approx(2 * {"Select": 0.0225, "Supreme": 0.015, "Velocity": 0.015}[family])


async def test_unbinned_image_has_the_sensor_size(sim, acquire):
    _, image = await acquire(sim, "Select", binning="Unbinned")
    assert (image["width"], image["height"]) == (1600, 1200)


async def test_rotation_by_90_swaps_width_and_height(sim, acquire):
    _, image = await acquire(sim, "Select", rotation=90)
    assert (image["width"], image["height"]) == (600, 800)


async def test_without_lut_media_holds_raw_12_bit_values(sim, base, acquire):
    session_id, image = await acquire(sim, applyLut=False)
    pixels = _decode(await _media(sim, base, session_id, image["id"]))
    assert image["lutInfo"] is None and image["bitsPerPixel"] == 12
    assert int(pixels.max()) <= 4095


async def test_pixel_hash_matches_the_decoded_media(sim, base, acquire):
    session_id, image = await acquire(sim)
    pixels = _decode(await _media(sim, base, session_id, image["id"]))
    assert image["pixelHash"]["alg"] == "SHA256"
    assert verify_pixel_hash(image, pixels) is True


async def test_preview_is_a_small_8_bit_jpeg(sim, base, acquire):
    session_id, image = await acquire(sim)
    resp = await sim.get(f"{base}/acquisition/{session_id}/images/{image['id']}/preview")
    assert resp.status == 200 and resp.content_type == "image/jpeg"
    preview = cv2.imdecode(np.frombuffer(await resp.read(), np.uint8), cv2.IMREAD_UNCHANGED)
    assert preview.dtype == np.uint8 and max(preview.shape) <= 512


async def test_image_urls_point_at_media_and_preview(sim, acquire):
    session_id, image = await acquire(sim)
    assert image["imageUrl"].endswith(f"/acquisition/{session_id}/images/{image['id']}/media")
    assert image["previewUrl"].endswith(f"/images/{image['id']}/preview")


async def test_unknown_image_is_404_on_every_image_route(sim, base, acquire):
    session_id, _ = await acquire(sim)
    for suffix in ("", "/media", "/preview"):
        resp = await sim.get(f"{base}/acquisition/{session_id}/images/no-such-image{suffix}")
        assert resp.status == 404, suffix


async def test_image_of_another_session_is_404(sim, base, acquire, open_session):
    _, image = await acquire(sim, "Select")
    other = await open_session(sim, "Supreme")
    resp = await sim.get(f"{base}/acquisition/{other}/images/{image['id']}")
    assert resp.status == 404


async def test_deleting_the_session_deletes_its_images(sim, base, acquire):
    session_id, image = await acquire(sim)
    await sim.delete(f"{base}/acquisition/{session_id}")
    resp = await sim.get(f"{base}/acquisition/{session_id}/images/{image['id']}/media")
    assert resp.status == 404


async def _one_exposure(aiohttp_client, credentials, acquire, base, seed):
    client = await aiohttp_client(create_app({"u": "p"}, seed=seed), headers=credentials("u", "p"))
    session_id, image = await acquire(client)
    return session_id, image, await _media(client, base, session_id, image["id"])


async def test_same_seed_gives_same_ids_and_pixels(aiohttp_client, credentials, acquire, base):
    first = await _one_exposure(aiohttp_client, credentials, acquire, base, seed=11)
    second = await _one_exposure(aiohttp_client, credentials, acquire, base, seed=11)
    assert first[0] == second[0] and first[1]["id"] == second[1]["id"]
    assert first[2] == second[2]


async def test_different_seed_gives_different_pixels(aiohttp_client, credentials, acquire, base):
    first = await _one_exposure(aiohttp_client, credentials, acquire, base, seed=11)
    second = await _one_exposure(aiohttp_client, credentials, acquire, base, seed=12)
    assert first[1]["pixelHash"] != second[1]["pixelHash"]
