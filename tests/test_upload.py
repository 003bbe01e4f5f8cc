"""POST /images: what is accepted, in every shape real clients send, and what is refused."""

from __future__ import annotations

import io
import struct
import zlib

import cv2
import numpy as np
import pytest

from filters_server.testing import png16, sample_image_info

from .conftest import BASE, create, form, stored_keys, upload


def png_from(array: np.ndarray) -> bytes:
    ok, encoded = cv2.imencode(".png", array)
    assert ok
    return encoded.tobytes()


async def assert_rejected(response, status: int, storage) -> dict:
    assert response.status == status, await response.text()
    assert response.content_type == "application/problem+json"
    problem = await response.json()
    assert problem["status"] == status and problem["detail"]
    assert stored_keys(storage) == []
    return problem


async def test_upload_answers_201_with_the_image_resource(client):
    response = await upload(client)
    assert response.status == 201
    body = await response.json()
    assert set(body) == {"id", "mediaType", "url", "createdOn", "expires", "imageInfo", "modalitySession"}
    assert body["mediaType"] == "image/png"
    assert body["url"].endswith(f"{BASE}/images/{body['id']}/media")
    assert body["imageInfo"] == sample_image_info()
    assert body["modalitySession"] is None
    assert response.headers["Location"] == f"{BASE}/images/{body['id']}"


async def test_timestamps_are_utc_with_milliseconds_and_expiry_defaults_to_eight_hours(client, clock):
    body = await create(client)
    assert body["createdOn"] == "2027-01-15T08:00:00.000Z"
    assert body["expires"] == "2027-01-15T16:00:00.000Z"


async def test_media_part_may_come_first_as_the_dotnet_sdk_sends_it(client):
    response = await upload(client, media_first=True)
    assert response.status == 201


async def test_image_info_part_may_be_named_in_pascal_case_and_typed_text_plain(client):
    response = await upload(client, info_name="ImageInfo", info_type="text/plain; charset=utf-8")
    assert response.status == 201


async def test_image_info_part_may_be_untyped(client):
    response = await upload(client, info_type=None)
    assert response.status == 201


async def test_image_info_keys_in_pascal_case_and_integer_enums_are_understood(client):
    info = {
        "AcquisitionInfo": {"Binning": 1},
        "LutInfo": {
            "Gamma": 2.3,
            "Slope": 65535.0,
            "Offset": 0.0,
            "TotalGrays": 4096,
            "MinimumGray": 3612,
            "MaximumGray": 418,
        },
    }
    body = await create(client, info=info)
    assert body["imageInfo"] == sample_image_info("Binned2x2")


async def test_enum_strings_are_case_insensitive(client):
    info = sample_image_info()
    info["acquisitionInfo"]["binning"] = "binned2X2"
    body = await create(client, info=info)
    assert body["imageInfo"]["acquisitionInfo"]["binning"] == "Binned2x2"


async def test_unknown_image_info_fields_are_ignored(client):
    info = sample_image_info() | {"pixelHash": "abc", "extra": {"x": 1}}
    body = await create(client, info=info)
    assert body["imageInfo"] == sample_image_info()


async def test_media_without_a_declared_type_is_accepted(client):
    response = await upload(client, media_type=None)
    assert response.status == 201


@pytest.mark.parametrize(
    "bad, field",
    [
        ({"lutInfo": {"gamma": "steep"}}, "lutInfo.gamma"),
        ({"lutInfo": {"totalGrays": 4095.5}}, "lutInfo.totalGrays"),
        ({"lutInfo": {"minimumGray": True}}, "lutInfo.minimumGray"),
        ({"acquisitionInfo": {"binning": "Binned3x3"}}, "acquisitionInfo.binning"),
        ({"acquisitionInfo": {"binning": 7}}, "acquisitionInfo.binning"),
    ],
)
async def test_a_bad_image_info_field_is_400_naming_the_field(client, storage, bad, field):
    info = sample_image_info()
    for section, values in bad.items():
        info[section].update(values)
    problem = await assert_rejected(await upload(client, info=info), 400, storage)
    assert field in problem["detail"]


async def test_image_info_without_lut_info_is_400(client, storage):
    problem = await assert_rejected(await upload(client, info={"acquisitionInfo": {"binning": 0}}), 400, storage)
    assert "lutInfo" in problem["detail"]


async def test_malformed_image_info_json_is_400(client, storage):
    await assert_rejected(await upload(client, info='{"lutInfo": {'), 400, storage)


async def test_image_info_that_is_not_an_object_is_400(client, storage):
    await assert_rejected(await upload(client, info="[1, 2]"), 400, storage)


async def test_missing_media_part_is_400(client, storage):
    response = await client.post(f"{BASE}/images", data=form(None, sample_image_info()))
    problem = await assert_rejected(response, 400, storage)
    assert "imageMedia" in problem["detail"]


async def test_missing_image_info_part_is_400(client, storage):
    response = await client.post(f"{BASE}/images", data=form(png16(), None))
    problem = await assert_rejected(response, 400, storage)
    assert "imageInfo" in problem["detail"]


async def test_missing_image_info_after_media_leaves_nothing_behind(client, storage):
    response = await client.post(f"{BASE}/images", data=form(png16(), None, media_first=True))
    await assert_rejected(response, 400, storage)


async def test_empty_body_is_rejected(client, storage):
    response = await client.post(
        f"{BASE}/images", data=b"", headers={"Content-Type": "multipart/form-data; boundary=x"}
    )
    await assert_rejected(response, 400, storage)


async def test_a_body_that_is_not_multipart_is_415(client, storage):
    response = await client.post(f"{BASE}/images", data=png16(), headers={"Content-Type": "image/png"})
    await assert_rejected(response, 415, storage)


async def test_media_declared_as_another_type_is_415(client, storage):
    await assert_rejected(await upload(client, media_type="image/jpeg"), 415, storage)


async def test_truncated_png_is_400(client, storage):
    media = png16(128, 64)
    await assert_rejected(await upload(client, media=media[: len(media) // 2]), 400, storage)


async def test_png_with_a_bad_crc_is_400(client, storage):
    media = bytearray(png16())
    media[29] ^= 0xFF  # IHDR's CRC
    await assert_rejected(await upload(client, media=bytes(media)), 400, storage)


async def test_random_bytes_are_400(client, storage):
    await assert_rejected(await upload(client, media=b"this is not an image at all" * 10), 400, storage)


async def test_8_bit_grayscale_png_is_415(client, storage):
    media = png_from(np.zeros((16, 16), np.uint8))
    problem = await assert_rejected(await upload(client, media=media), 415, storage)
    assert "8-bit" in problem["detail"]


async def test_rgb_png_is_415(client, storage):
    media = png_from(np.zeros((16, 16, 3), np.uint16))
    problem = await assert_rejected(await upload(client, media=media), 415, storage)
    assert "RGB" in problem["detail"]


async def test_jpeg_renamed_to_png_is_415(client, storage):
    _ok, jpeg = cv2.imencode(".jpg", np.zeros((16, 16), np.uint8))
    problem = await assert_rejected(await upload(client, media=jpeg.tobytes()), 415, storage)
    assert "JPEG" in problem["detail"]


async def test_decompression_bomb_beyond_max_pixels_is_413_before_inflating(client, storage):
    header = struct.pack(">IIBBBBB", 100_000, 100_000, 16, 0, 0, 0, 0)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    bomb = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(10_000_000)))
    await assert_rejected(await upload(client, media=bomb), 413, storage)


async def test_image_over_configured_max_pixels_is_413(aiohttp_client, make_app, storage):
    from .conftest import ALICE

    client = await aiohttp_client(make_app(storage, max_pixels=1000), headers=ALICE)
    await assert_rejected(await upload(client, media=png16(40, 30)), 413, storage)


async def test_body_over_max_upload_bytes_is_413(aiohttp_client, make_app, storage):
    from .conftest import ALICE

    client = await aiohttp_client(make_app(storage, max_upload_bytes=4096), headers=ALICE)
    await assert_rejected(await upload(client, media=png16(256, 256)), 413, storage)


async def test_body_over_max_upload_bytes_is_413_while_streaming_without_content_length(
    aiohttp_client, make_app, storage
):
    from .conftest import ALICE

    client = await aiohttp_client(make_app(storage, max_upload_bytes=4096), headers=ALICE)
    multipart = form(png16(256, 256), sample_image_info())()
    buffer = io.BytesIO()

    class Sink:
        async def write(self, data):
            buffer.write(data)

    await multipart.write(Sink())

    async def chunked_body():
        data = buffer.getvalue()
        for i in range(0, len(data), 1000):
            yield data[i : i + 1000]

    response = await client.post(
        f"{BASE}/images", data=chunked_body(), headers={"Content-Type": multipart.content_type}
    )
    await assert_rejected(response, 413, storage)


async def test_uploads_are_stored_byte_for_byte(client):
    media = png16(100, 80, seed=3)
    body = await create(client, media=media)
    response = await client.get(f"{BASE}/images/{body['id']}/media")
    assert await response.read() == media
