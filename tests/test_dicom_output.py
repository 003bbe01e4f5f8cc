"""``Accept: application/dicom`` on the media and on every filter, and the optional ``dicom`` upload part."""

from __future__ import annotations

import io
import json
import shutil
import subprocess

import cv2
import numpy as np
import pydicom
import pytest

from backends.memory import MemoryStorage
from filters_server.testing import sample_image_info

from .conftest import ALICE, BASE, create, stored_keys, upload

DICOM = "application/dicom"
FOR_PRESENTATION = "1.2.840.10008.5.1.4.1.1.1.3"
FOR_PROCESSING = "1.2.840.10008.5.1.4.1.1.1.3.1"
FILTERS = {
    "unmap": None,
    "select": {"enhancementMode": "smooth"},
    "supreme": {"task": "endodontic", "sharpness": 40},
    "ae": {"task": "periodontic", "sharpness": 90},
}
PATIENT = {
    "00100010": {"vr": "PN", "Value": [{"Alphabetic": "Doe^Jane"}]},
    "00100020": {"vr": "LO", "Value": ["P-1234"]},
    "00081030": {"vr": "LO", "Value": ["Bitewings"]},
}
MEDIA = cv2.imencode(".png", np.random.default_rng(3).integers(2000, 60000, (48, 64), dtype=np.uint16))[1].tobytes()


def read(body: bytes) -> pydicom.Dataset:
    return pydicom.dcmread(io.BytesIO(body))


async def as_dicom(client, resource, name: str | None = None, accept: str = DICOM):
    """The media (name None) or a filter's output, asked for with ``accept``."""
    if name is None:
        return await client.get(f"{BASE}/images/{resource['id']}/media", headers={"Accept": accept})
    return await client.post(
        f"{BASE}/images/{resource['id']}/filters/{name}", json=FILTERS[name], headers={"Accept": accept}
    )


@pytest.fixture
async def resource(client):
    return await create(client, media=MEDIA)


async def test_the_media_as_dicom_is_for_presentation_with_the_stored_pixels(client, resource):
    response = await as_dicom(client, resource)
    assert response.status == 200 and response.content_type == DICOM
    assert response.headers["Vary"] == "Accept"
    ds = read(await response.read())
    assert (ds.SOPClassUID, ds.Modality, list(ds.ImageType)[:2]) == (FOR_PRESENTATION, "IO", ["ORIGINAL", "PRIMARY"])
    assert np.array_equal(ds.pixel_array, cv2.imdecode(np.frombuffer(MEDIA, np.uint8), cv2.IMREAD_UNCHANGED))


@pytest.mark.parametrize("accept", [None, "image/png", "*/*", "text/html", "image/png, application/dicom;q=0.5"])
async def test_the_media_stays_png_unless_dicom_is_preferred(client, resource, accept):
    headers = {"Accept": accept} if accept else {}
    response = await client.get(f"{BASE}/images/{resource['id']}/media", headers=headers)
    assert response.content_type == "image/png"
    assert await response.read() == MEDIA


@pytest.mark.parametrize("name", list(FILTERS))
async def test_each_filter_as_dicom_holds_exactly_the_pixels_of_its_png(client, resource, name):
    ds = read(await (await as_dicom(client, resource, name)).read())
    png = await (await as_dicom(client, resource, name, accept="image/png")).read()
    assert np.array_equal(ds.pixel_array, cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED))


@pytest.mark.parametrize("name", list(FILTERS))
async def test_each_filter_as_dicom_names_its_sop_class_and_provenance(client, resource, name):
    media = read(await (await as_dicom(client, resource)).read())
    ds = read(await (await as_dicom(client, resource, name)).read())
    assert ds.SOPClassUID == (FOR_PROCESSING if name == "unmap" else FOR_PRESENTATION)
    assert ds.Modality == "IO"
    assert list(ds.ImageType)[:2] == ["DERIVED", "SECONDARY"]
    assert name in ds.DerivationDescription.lower()
    if name != "unmap":  # CID 7203 has no code for a LUT inversion (docs/dicom.md)
        assert {item.CodeValue for item in ds.DerivationCodeSequence} <= {"113087", "113086"}  # smoothing, edges
        assert ds.DerivationCodeSequence
    assert ds.SourceImageSequence[0].ReferencedSOPInstanceUID == media.SOPInstanceUID
    assert ds.StudyInstanceUID == media.StudyInstanceUID  # everything of one resource: one study
    assert ds.SOPInstanceUID != media.SOPInstanceUID


@pytest.mark.parametrize(("binning", "spacing"), [("Unbinned", 0.015), ("Binned2x2", 0.030)])
async def test_the_pixel_spacing_follows_the_binning(client, binning, spacing):
    resource = await create(client, media=MEDIA, info=sample_image_info(binning))
    ds = read(await (await as_dicom(client, resource, "supreme")).read())
    assert [float(v) for v in ds.ImagerPixelSpacing] == pytest.approx([spacing, spacing])


async def test_the_unmap_object_stores_the_bits_its_sensor_has(client, resource):
    ds = read(await (await as_dicom(client, resource, "unmap")).read())
    assert (ds.BitsAllocated, ds.BitsStored, ds.HighBit) == (16, 12, 11)  # totalGrays 4096


async def test_a_recomputed_dicom_output_is_byte_identical(aiohttp_client, make_app):
    storage = MemoryStorage()
    first = await aiohttp_client(make_app(storage), headers=ALICE)
    resource = await create(first, media=MEDIA)
    computed = await (await as_dicom(first, resource, "ae")).read()
    for key in [key for key in stored_keys(storage) if "/results/" in key]:
        await storage.delete(key)  # no cached result: the next request computes again
    second = await aiohttp_client(make_app(storage, decoded_cache_bytes=0), headers=ALICE)
    again = await as_dicom(second, resource, "ae")
    assert again.headers["X-Cache"] == "miss"
    assert await again.read() == computed


async def test_different_parameters_give_different_instances(client, resource):
    smooth = read(await (await as_dicom(client, resource, "select")).read())
    other = await client.post(
        f"{BASE}/images/{resource['id']}/filters/select", json={"enhancementMode": "edgePro"}, headers={"Accept": DICOM}
    )
    assert read(await other.read()).SOPInstanceUID != smooth.SOPInstanceUID


async def test_dicom_is_offered_in_the_406_answer(client, resource):
    response = await client.post(f"{BASE}/images/{resource['id']}/filters/select", headers={"Accept": "image/webp"})
    assert response.status == 406
    assert DICOM in (await response.json())["detail"]


# --- the dicom upload part --------------------------------------------------------------------


async def upload_with_dicom(client, part: bytes | str):
    import aiohttp

    data = aiohttp.FormData()
    data.add_field("imageInfo", json.dumps(sample_image_info()), content_type="application/json")
    data.add_field("imageMedia", MEDIA, filename="x.png", content_type="image/png")
    data.add_field("dicom", part, content_type="application/dicom+json")
    return await client.post(f"{BASE}/images", data=data)


async def test_patient_and_study_attributes_from_the_upload_are_in_every_object(client):
    response = await upload_with_dicom(client, json.dumps(PATIENT))
    assert response.status == 201
    resource = await response.json()
    assert "dicom" not in resource  # the ImageResource itself is unchanged
    for name in (None, "unmap", "supreme"):
        ds = read(await (await as_dicom(client, resource, name)).read())
        assert (str(ds.PatientName), ds.PatientID, ds.StudyDescription) == ("Doe^Jane", "P-1234", "Bitewings")


async def test_without_the_part_patient_attributes_are_present_and_empty(client, resource):
    ds = read(await (await as_dicom(client, resource, "select")).read())
    assert "PatientName" in ds and not ds.PatientName
    assert "PatientID" in ds and not ds.PatientID


@pytest.mark.parametrize(
    ("part", "status"),
    [
        ("{not json", 400),
        (json.dumps({"00280010": {"vr": "US", "Value": [1]}}), 400),  # Rows: outside the whitelist
        (json.dumps({"00100010": {"vr": "LO", "Value": ["x"]}}), 400),  # wrong VR
        (json.dumps({"00081030": {"vr": "LO", "Value": ["x" * 70_000]}}), 413),
    ],
    ids=["malformed", "outside-whitelist", "wrong-vr", "too-large"],
)
async def test_a_rejected_dicom_part_stores_nothing(client, storage, part, status):
    response = await upload_with_dicom(client, part)
    assert response.status == status
    problem = await response.json()
    assert response.content_type == "application/problem+json"
    assert problem["detail"].endswith(".") and not problem["detail"].endswith("..")
    assert stored_keys(storage) == []


async def test_vendor_uploads_without_the_part_are_unaffected(client, storage):
    assert (await upload(client, MEDIA)).status == 201


# --- independent validation -------------------------------------------------------------------

DCIODVFY = shutil.which("dciodvfy")


@pytest.mark.skipif(DCIODVFY is None, reason="dciodvfy (dicom3tools) is not installed; .ci/run installs it")
@pytest.mark.parametrize("name", [None, *FILTERS])
async def test_dciodvfy_finds_no_error_in_what_the_server_sends(client, resource, name, tmp_path):
    path = tmp_path / "out.dcm"
    path.write_bytes(await (await as_dicom(client, resource, name)).read())
    result = subprocess.run([DCIODVFY, str(path)], capture_output=True, text=True, timeout=60, check=False)
    report = result.stdout + result.stderr
    assert "Intraoral" in report, report
    assert [line for line in report.splitlines() if line.startswith("Error")] == [], report
