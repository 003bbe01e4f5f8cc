"""DICOM out: every output kind as a standards-valid Digital Intra-Oral X-Ray object."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from pydicom.uid import UID

from filters_server.imaging import Lut, ae, select, supreme, unmap
from filters_server.imaging import phantoms as ph
from filters_server.imaging.dicom import DicomContext, encode_dicom
from filters_server.imaging.dicom_attributes import parse_dicom_part
from filters_server.imaging.params import PITCH_MM_BINNED, PITCH_MM_UNBINNED

from .conftest import INVERTED_LUT, UPRIGHT_LUT

RESOURCE_ID = "3f2b8c1e-9d4a-4e0b-8a53-2f6c1d7e9a10"
OTHER_RESOURCE_ID = "a1b2c3d4-0000-4000-8000-000000000001"
CREATED_ON = 1_764_000_000.5  # 2025-11-24T16:00:00.5Z
PRESENTATION = "1.2.840.10008.5.1.4.1.1.1.3"
PROCESSING = "1.2.840.10008.5.1.4.1.1.1.3.1"
KINDS: dict[str, dict[str, Any]] = {
    "media": {},
    "unmap": {},
    "select": {"mode": "edgePro"},
    "supreme": {"task": "general", "sharpness": 70.0},
    "ae": {"task": "endodontic", "sharpness": 40.0},
}
SMOOTHING, EDGE_ENHANCEMENT = "113087", "113086"

PATIENT_PART = {
    "00100010": {"vr": "PN", "Value": [{"Alphabetic": "Doe^Jane"}]},
    "00100020": {"vr": "LO", "Value": ["P-0042"]},
    "00100030": {"vr": "DA", "Value": ["19800131"]},
    "00100040": {"vr": "CS", "Value": ["F"]},
    "00080050": {"vr": "SH", "Value": ["ACC-1"]},
    "0008103E": {"vr": "LO", "Value": ["Left bitewing"]},
    "00200062": {"vr": "CS", "Value": ["L"]},
    "00082228": {
        "vr": "SQ",
        "Value": [{"00080100": {"vr": "SH", "Value": ["422653006"]}, "00080102": {"vr": "SH", "Value": ["SCT"]}}],
    },
}


def pixels_of(kind: str, image: np.ndarray, lut: Lut, binned: bool, params: Mapping[str, Any]) -> np.ndarray:
    """What the server hands the PNG encoder for this request."""
    filters: dict[str, Callable[..., np.ndarray]] = {"select": select, "supreme": supreme, "ae": ae}
    if kind == "media":
        return image
    if kind == "unmap":
        return unmap(image, lut)
    return filters[kind](image, lut, binned=binned, **params)


@pytest.fixture(scope="module")
def source() -> np.ndarray:
    return ph.image(ph.dental_scene((96, 128), PITCH_MM_UNBINNED), INVERTED_LUT, seed=7)


@pytest.fixture(params=list(KINDS), ids=list(KINDS))
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make(source: np.ndarray) -> Callable[..., tuple[np.ndarray, bytes]]:
    """(pixels, file) of one output; keyword arguments override the context's fields."""

    def build(
        kind: str,
        *,
        binned: bool = False,
        lut: Lut = INVERTED_LUT,
        params: Mapping[str, Any] | None = None,
        attributes: Mapping[str, Any] | None = None,
        resource_id: str = RESOURCE_ID,
    ) -> tuple[np.ndarray, bytes]:
        params = KINDS[kind] if params is None else params
        pixels = pixels_of(kind, source, lut, binned, params)
        context = DicomContext(
            resource_id=resource_id,
            created_on=CREATED_ON,
            kind=kind,
            lut=lut,
            binned=binned,
            params=params,
            attributes=attributes or {},
        )
        return pixels, encode_dicom(pixels, context)

    return build


def read(data: bytes) -> pydicom.Dataset:
    return pydicom.dcmread(io.BytesIO(data))


# --- file format and SOP class ----------------------------------------------------------------


def test_file_is_part_10_explicit_vr_little_endian(make: Callable[..., tuple[np.ndarray, bytes]], kind: str) -> None:
    _, data = make(kind)
    assert data[:128] == bytes(128) and data[128:132] == b"DICM"
    ds = read(data)
    assert ds.file_meta.TransferSyntaxUID == pydicom.uid.ExplicitVRLittleEndian
    assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
    assert ds.file_meta.MediaStorageSOPClassUID == ds.SOPClassUID


@pytest.mark.parametrize(
    ("kind", "sop_class", "intent"),
    [
        ("media", PRESENTATION, "FOR PRESENTATION"),
        ("unmap", PROCESSING, "FOR PROCESSING"),
        ("select", PRESENTATION, "FOR PRESENTATION"),
        ("supreme", PRESENTATION, "FOR PRESENTATION"),
        ("ae", PRESENTATION, "FOR PRESENTATION"),
    ],
)
def test_sop_class_and_intent_follow_the_kind(
    make: Callable[..., tuple[np.ndarray, bytes]], kind: str, sop_class: str, intent: str
) -> None:
    ds = read(make(kind)[1])
    assert (ds.SOPClassUID, ds.PresentationIntentType, ds.Modality) == (sop_class, intent, "IO")


# --- pixels -----------------------------------------------------------------------------------


def test_pixel_data_reads_back_exactly(make: Callable[..., tuple[np.ndarray, bytes]], kind: str, binned: bool) -> None:
    pixels, data = make(kind, binned=binned)
    ds = read(data)
    assert ds.pixel_array.dtype == np.uint16
    np.testing.assert_array_equal(ds.pixel_array, pixels)


def test_pixel_module_is_16_bit_monochrome2(make: Callable[..., tuple[np.ndarray, bytes]], kind: str) -> None:
    pixels, data = make(kind)
    ds = read(data)
    assert (ds.Rows, ds.Columns) == pixels.shape
    assert (ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.BitsAllocated, ds.PixelRepresentation) == (
        1,
        "MONOCHROME2",
        16,
        0,
    )
    assert ds.HighBit == ds.BitsStored - 1


@pytest.mark.parametrize("kind", ["media", "select", "supreme", "ae"])
def test_presentation_outputs_store_16_bits(make: Callable[..., tuple[np.ndarray, bytes]], kind: str) -> None:
    assert read(make(kind)[1]).BitsStored == 16


@pytest.mark.parametrize(("total_grays", "bits"), [(4096, 12), (16384, 14), (65536, 16), (5000, 13), (300, 9)])
def test_unmap_stores_the_bits_of_total_grays(
    make: Callable[..., tuple[np.ndarray, bytes]], total_grays: int, bits: int
) -> None:
    lut = Lut(
        gamma=1.0, slope=65535.0, offset=0.0, total_grays=total_grays, minimum_gray=0, maximum_gray=total_grays - 1
    )
    pixels, data = make("unmap", lut=lut)
    ds = read(data)
    assert (ds.BitsStored, ds.HighBit) == (bits, bits - 1)
    assert int(pixels.max()) < 1 << bits


def test_pixels_above_bits_stored_are_refused() -> None:
    context = DicomContext(RESOURCE_ID, CREATED_ON, "unmap", INVERTED_LUT, False)  # totalGrays 4096: 12 bits
    with pytest.raises(ValueError, match="exceed 12 bits"):
        encode_dicom(np.full((4, 4), 4096, np.uint16), context)


@pytest.mark.parametrize(
    "array",
    [
        np.zeros((4, 4), np.uint8),
        np.zeros((4, 4), np.int16),
        np.zeros((2, 4, 4), np.uint16),
        np.zeros(16, np.uint16),
        np.zeros((0, 4), np.uint16),
        np.zeros((1, 65536), np.uint16),
    ],
    ids=["uint8", "int16", "3-D", "1-D", "empty", "too wide for Columns"],
)
def test_only_2d_uint16_images_are_encoded(array: np.ndarray) -> None:
    with pytest.raises(ValueError, match="2-D uint16"):
        encode_dicom(array, DicomContext(RESOURCE_ID, CREATED_ON, "media", INVERTED_LUT, False))


def test_non_contiguous_pixels_are_written_in_row_order(
    make: Callable[..., tuple[np.ndarray, bytes]], source: np.ndarray
) -> None:
    view = source[::2, ::3]
    data = encode_dicom(view, DicomContext(RESOURCE_ID, CREATED_ON, "media", INVERTED_LUT, False))
    np.testing.assert_array_equal(read(data).pixel_array, view)


# --- spacing, window, intensity ---------------------------------------------------------------


def test_imager_pixel_spacing_is_the_binning_pitch(
    make: Callable[..., tuple[np.ndarray, bytes]], kind: str, binned: bool
) -> None:
    ds = read(make(kind, binned=binned)[1])
    pitch = PITCH_MM_BINNED if binned else PITCH_MM_UNBINNED
    assert [float(v) for v in ds.ImagerPixelSpacing] == [pitch, pitch]
    assert [int(v) for v in ds.DetectorBinning] == ([2, 2] if binned else [1, 1])


def test_pitch_override_of_the_filters_is_the_spacing(source: np.ndarray) -> None:
    context = DicomContext(RESOURCE_ID, CREATED_ON, "media", None, True, pitch_mm=0.0185)
    assert [float(v) for v in read(encode_dicom(source, context)).ImagerPixelSpacing] == [0.0185, 0.0185]


@pytest.mark.parametrize("kind", ["media", "select", "supreme", "ae"])
def test_presentation_windows_are_full_range_then_data_range(
    make: Callable[..., tuple[np.ndarray, bytes]], kind: str
) -> None:
    pixels, data = make(kind)
    ds = read(data)
    assert list(ds.WindowCenterWidthExplanation) == ["FULL RANGE", "DATA RANGE"]

    def edges(i: int) -> tuple[float, float]:  # PS3.3 C.11.2.1.2.1, linear function
        c, w = float(ds.WindowCenter[i]), float(ds.WindowWidth[i])
        return c - 0.5 - (w - 1) / 2, c - 0.5 + (w - 1) / 2

    assert edges(0) == (0, 65535)
    assert edges(1) == (int(pixels.min()), int(pixels.max()))
    assert ds.PresentationLUTShape == "IDENTITY"


def test_for_processing_has_no_voi_window(make: Callable[..., tuple[np.ndarray, bytes]]) -> None:
    ds = read(make("unmap")[1])
    assert "WindowCenter" not in ds and "WindowWidth" not in ds


def test_media_needs_no_lut(source: np.ndarray) -> None:
    with_lut = encode_dicom(source, DicomContext(RESOURCE_ID, CREATED_ON, "media", INVERTED_LUT, False))
    assert encode_dicom(source, DicomContext(RESOURCE_ID, CREATED_ON, "media", None, False)) == with_lut


def test_a_flat_image_gets_a_window_one_code_wide() -> None:
    data = encode_dicom(
        np.full((8, 8), 1000, np.uint16), DicomContext(RESOURCE_ID, CREATED_ON, "media", INVERTED_LUT, False)
    )
    ds = read(data)
    assert (float(ds.WindowCenter[1]), float(ds.WindowWidth[1])) == (1000.5, 1.0)


def test_presentation_values_are_bone_bright(make: Callable[..., tuple[np.ndarray, bytes]]) -> None:
    ds = read(make("select")[1])
    assert (ds.PixelIntensityRelationship, ds.PixelIntensityRelationshipSign) == ("LOG", -1)


@pytest.mark.parametrize(("lut", "sign"), [(INVERTED_LUT, 1), (UPRIGHT_LUT, -1)], ids=["inverted", "upright"])
def test_unmap_sign_says_which_way_sensor_values_run(
    make: Callable[..., tuple[np.ndarray, bytes]], lut: Lut, sign: int
) -> None:
    # Inverted LUT: the highest sensor values map to black (air, most intensity): sign +1.
    ds = read(make("unmap", lut=lut)[1])
    assert (ds.PixelIntensityRelationship, ds.PixelIntensityRelationshipSign) == ("LIN", sign)


# --- provenance and identity ------------------------------------------------------------------


def test_media_is_original_primary_without_source(make: Callable[..., tuple[np.ndarray, bytes]]) -> None:
    ds = read(make("media")[1])
    assert list(ds.ImageType) == ["ORIGINAL", "PRIMARY"]
    assert "SourceImageSequence" not in ds and "DerivationDescription" not in ds


@pytest.mark.parametrize("kind", ["unmap", "select", "supreme", "ae"])
def test_filter_output_is_derived_from_the_media_object(
    make: Callable[..., tuple[np.ndarray, bytes]], kind: str
) -> None:
    media, derived = read(make("media")[1]), read(make(kind)[1])
    assert list(derived.ImageType) == ["DERIVED", "SECONDARY"]
    (source,) = derived.SourceImageSequence
    assert source.ReferencedSOPInstanceUID == media.SOPInstanceUID
    assert source.ReferencedSOPClassUID == media.SOPClassUID
    assert source.PurposeOfReferenceCodeSequence[0].CodeValue == "121322"
    assert derived.StudyInstanceUID == media.StudyInstanceUID
    assert derived.SeriesInstanceUID != media.SeriesInstanceUID


@pytest.mark.parametrize(
    ("kind", "params", "codes"),
    [
        ("select", {"mode": "smooth"}, [SMOOTHING]),
        ("select", {"mode": "edgePro"}, [SMOOTHING, EDGE_ENHANCEMENT]),
        ("supreme", {"task": "general", "sharpness": 70.0}, [SMOOTHING, EDGE_ENHANCEMENT]),
        ("supreme", {"task": "general", "sharpness": 0.0}, [SMOOTHING]),
        ("ae", {"task": "restorative", "sharpness": 100.0}, [SMOOTHING, EDGE_ENHANCEMENT]),
    ],
    ids=["select-smooth", "select-edgePro", "supreme-70", "supreme-0", "ae-100"],
)
def test_derivation_codes_name_what_the_filter_did(
    make: Callable[..., tuple[np.ndarray, bytes]], kind: str, params: dict[str, Any], codes: list[str]
) -> None:
    ds = read(make(kind, params=params)[1])
    assert [(item.CodeValue, item.CodingSchemeDesignator) for item in ds.DerivationCodeSequence] == [
        (code, "DCM") for code in codes
    ]


@pytest.mark.parametrize(
    ("kind", "params", "words"),
    [
        ("select", {"mode": "edgeLow"}, ["select", "enhancementMode=edgeLow"]),
        ("supreme", {"task": "hygiene", "sharpness": 55.5}, ["supreme", "task=hygiene", "sharpness=55.5"]),
        ("ae", {"task": "periodontic", "sharpness": 70.0}, ["ae", "task=periodontic", "sharpness=70"]),
        ("unmap", {}, ["unmap", "gamma 2.3", "minimumGray 3612", "maximumGray 418", "totalGrays 4096"]),
    ],
    ids=["select", "supreme", "ae", "unmap"],
)
def test_derivation_description_names_filter_and_parameters(
    make: Callable[..., tuple[np.ndarray, bytes]], kind: str, params: dict[str, Any], words: list[str]
) -> None:
    ds = read(make(kind, params=params)[1])
    for word in words:
        assert word in ds.DerivationDescription
    if kind != "unmap":
        for word in words:
            assert word in ds.SeriesDescription


def test_same_inputs_give_byte_identical_files(
    make: Callable[..., tuple[np.ndarray, bytes]], kind: str, binned: bool
) -> None:
    assert make(kind, binned=binned)[1] == make(kind, binned=binned)[1]


_DIGESTS_SCRIPT = """
import hashlib, json, sys
import numpy as np
from filters_server.imaging import phantoms as ph, unmap
from filters_server.imaging.dicom import DicomContext, encode_dicom
from filters_server.imaging.dicom_attributes import parse_dicom_part
image = (np.arange(48 * 64, dtype=np.uint32).reshape(48, 64) * 977 % 65536).astype(np.uint16)
attributes = parse_dicom_part(sys.argv[1])
for kind, params in json.loads(sys.argv[2]).items():
    context = DicomContext(sys.argv[3], 1764000000.5, kind, ph.EXAMPLE_LUT, True, params, attributes)
    pixels = unmap(image, ph.EXAMPLE_LUT) if kind == "unmap" else image
    print(hashlib.sha256(encode_dicom(pixels, context)).hexdigest())
"""


def test_files_are_byte_identical_across_processes() -> None:
    # A restarted server must produce the bytes its cached ETags describe: nothing may depend on
    # hash seeds, dict order or anything else of one process.
    args = [json.dumps(PATIENT_PART), json.dumps(KINDS), RESOURCE_ID]
    runs = [
        subprocess.run(
            [sys.executable, "-c", _DIGESTS_SCRIPT, *args],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
            env=os.environ | {"PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2")
    ]
    assert runs[0] == runs[1]
    assert len(set(runs[0].split())) == len(KINDS)


def test_same_attributes_give_byte_identical_files(make: Callable[..., tuple[np.ndarray, bytes]]) -> None:
    first = make("select", attributes=parse_dicom_part(json.dumps(PATIENT_PART)))[1]
    again = make("select", attributes=parse_dicom_part(json.dumps(dict(reversed(list(PATIENT_PART.items()))))))[1]
    assert first == again


@pytest.mark.parametrize(
    ("kind", "one", "other"),
    [
        ("select", {"mode": "edgePro"}, {"mode": "smooth"}),
        ("supreme", {"task": "general", "sharpness": 70.0}, {"task": "general", "sharpness": 71.0}),
        ("supreme", {"task": "general", "sharpness": 70.0}, {"task": "restorative", "sharpness": 70.0}),
        ("ae", {"task": "general", "sharpness": 70.0}, {"task": "general", "sharpness": 20.0}),
    ],
    ids=["select-mode", "supreme-sharpness", "supreme-task", "ae-sharpness"],
)
def test_different_parameters_give_different_instances(
    make: Callable[..., tuple[np.ndarray, bytes]], kind: str, one: dict[str, Any], other: dict[str, Any]
) -> None:
    a, b = read(make(kind, params=one)[1]), read(make(kind, params=other)[1])
    assert a.SOPInstanceUID != b.SOPInstanceUID
    assert a.SeriesInstanceUID != b.SeriesInstanceUID
    assert a.StudyInstanceUID == b.StudyInstanceUID


def test_integer_and_float_sharpness_name_the_same_instance(make: Callable[..., tuple[np.ndarray, bytes]]) -> None:
    a = read(make("supreme", params={"task": "general", "sharpness": 70})[1])
    b = read(make("supreme", params={"task": "general", "sharpness": 70.0})[1])
    assert a.SOPInstanceUID == b.SOPInstanceUID


def test_kinds_get_distinct_instances_and_series(make: Callable[..., tuple[np.ndarray, bytes]]) -> None:
    objects = [read(make(kind)[1]) for kind in KINDS]
    assert len({ds.SOPInstanceUID for ds in objects}) == len(KINDS)
    assert len({ds.SeriesInstanceUID for ds in objects}) == len(KINDS)
    assert len({ds.StudyInstanceUID for ds in objects}) == 1


def test_other_resource_gets_other_uids(make: Callable[..., tuple[np.ndarray, bytes]], kind: str) -> None:
    a, b = read(make(kind)[1]), read(make(kind, resource_id=OTHER_RESOURCE_ID)[1])
    assert {a.SOPInstanceUID, a.SeriesInstanceUID, a.StudyInstanceUID}.isdisjoint(
        {b.SOPInstanceUID, b.SeriesInstanceUID, b.StudyInstanceUID}
    )


def test_uids_are_valid_uuid_derived(make: Callable[..., tuple[np.ndarray, bytes]], kind: str) -> None:
    ds = read(make(kind)[1])
    uids = [ds.SOPInstanceUID, ds.SeriesInstanceUID, ds.StudyInstanceUID, ds.file_meta.ImplementationClassUID]
    if kind != "media":
        uids.append(ds.SourceImageSequence[0].ReferencedSOPInstanceUID)
    for uid in uids:
        assert uid.startswith("2.25.") and UID(uid).is_valid, uid


def test_dates_and_times_are_created_on_in_utc(make: Callable[..., tuple[np.ndarray, bytes]], kind: str) -> None:
    ds = read(make(kind)[1])
    assert (ds.StudyDate, ds.SeriesDate, ds.ContentDate) == ("20251124",) * 3
    assert (ds.StudyTime, ds.SeriesTime, ds.ContentTime) == ("160000.500000",) * 3
    assert ds.TimezoneOffsetFromUTC == "+0000"


# --- patient/study attributes and anatomy ------------------------------------------------------


def test_defaults_without_attributes(make: Callable[..., tuple[np.ndarray, bytes]]) -> None:
    ds = read(make("media")[1])
    assert (ds.PatientName, ds.PatientID, ds.PatientBirthDate, ds.PatientSex) == ("", "", "", "")
    assert (ds.ImageLaterality, ds.PositionerType, list(ds.PatientOrientation)) == ("B", "NONE", ["L", "F"])
    (region,) = ds.AnatomicRegionSequence
    assert (region.CodeValue, region.CodingSchemeDesignator) == ("28035005", "SCT")
    assert region.AnatomicRegionModifierSequence[0].CodeValue == "699507006"
    assert ds.StudyID == RESOURCE_ID.replace("-", "")[:16]


def test_attributes_from_the_part_are_copied(make: Callable[..., tuple[np.ndarray, bytes]], kind: str) -> None:
    ds = read(make(kind, attributes=parse_dicom_part(json.dumps(PATIENT_PART)))[1])
    assert (str(ds.PatientName), ds.PatientID, ds.PatientBirthDate, ds.PatientSex) == (
        "Doe^Jane",
        "P-0042",
        "19800131",
        "F",
    )
    assert (ds.AccessionNumber, ds.ImageLaterality) == ("ACC-1", "L")
    assert ds.PrimaryAnatomicStructureSequence[0].CodeMeaning == "Permanent maxillary right central incisor tooth"
    # Named teeth make the default region modifier unnecessary: it is left out.
    assert "AnatomicRegionModifierSequence" not in ds.AnatomicRegionSequence[0]


def test_client_series_description_heads_every_series(make: Callable[..., tuple[np.ndarray, bytes]]) -> None:
    attributes = parse_dicom_part(json.dumps(PATIENT_PART))
    assert read(make("media", attributes=attributes)[1]).SeriesDescription == "Left bitewing"
    assert read(make("select", attributes=attributes)[1]).SeriesDescription == (
        "Left bitewing - select enhancementMode=edgePro"
    )


def test_client_study_uid_files_every_output_in_that_study(
    make: Callable[..., tuple[np.ndarray, bytes]], kind: str
) -> None:
    study = "1.2.826.0.1.3680043.8.498.777"
    attributes = parse_dicom_part(json.dumps({"0020000D": {"vr": "UI", "Value": [study]}}))
    assert read(make(kind, attributes=attributes)[1]).StudyInstanceUID == study


def test_non_ascii_names_survive(make: Callable[..., tuple[np.ndarray, bytes]]) -> None:
    part = {"00100010": {"vr": "PN", "Value": [{"Alphabetic": "Müller^Zoë", "Ideographic": "山田^太郎"}]}}
    ds = read(make("media", attributes=parse_dicom_part(json.dumps(part)))[1])
    assert ds.SpecificCharacterSet == "ISO_IR 192"
    assert str(ds.PatientName) == "Müller^Zoë=山田^太郎"


# --- the context ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"resource_id": "not-a-uuid"}, "UUID"),
        ({"kind": "blur"}, "kind"),
        ({"kind": "media", "params": {"mode": "edgePro"}}, "no parameters"),
        ({"kind": "unmap", "params": {"mode": "edgePro"}}, "no parameters"),
        ({"created_on": float("nan")}, "created_on"),
        ({"pitch_mm": 0.0}, "pitch"),
        ({"kind": "unmap", "lut": None}, "LUT"),
        ({"kind": "select", "params": {}}, "mode"),
        ({"kind": "select", "params": {"mode": "sharp"}}, "smooth, edgeLow"),
        ({"kind": "ae", "params": {"task": "hygiene", "sharpness": 70.0}}, "general"),
        ({"kind": "supreme", "params": {"task": "general"}}, "sharpness"),
        ({"kind": "supreme", "params": {"task": "general", "sharpness": 101.0}}, r"\[0, 100\]"),
    ],
    ids=[
        "resource-id",
        "kind",
        "media-params",
        "unmap-params",
        "created-on",
        "pitch",
        "unmap-without-lut",
        "select-no-mode",
        "select-bad-mode",
        "ae-hygiene",
        "supreme-no-sharpness",
        "supreme-sharpness-101",
    ],
)
def test_context_refuses_what_the_server_never_sends(fields: dict[str, Any], message: str) -> None:
    base: dict[str, Any] = {
        "resource_id": RESOURCE_ID,
        "created_on": CREATED_ON,
        "kind": "media",
        "lut": INVERTED_LUT,
        "binned": False,
    }
    with pytest.raises(ValueError, match=message):
        DicomContext(**(base | fields))


# --- dciodvfy ---------------------------------------------------------------------------------

DCIODVFY = shutil.which("dciodvfy")


@pytest.mark.skipif(DCIODVFY is None, reason="dciodvfy (dicom3tools) is not on PATH")
@pytest.mark.parametrize("with_attributes", [False, True], ids=["no-attributes", "patient-attributes"])
def test_dciodvfy_finds_no_error(
    make: Callable[..., tuple[np.ndarray, bytes]], kind: str, binned: bool, with_attributes: bool, tmp_path: Path
) -> None:
    attributes = parse_dicom_part(json.dumps(PATIENT_PART)) if with_attributes else None
    path = tmp_path / f"{kind}.dcm"
    path.write_bytes(make(kind, binned=binned, attributes=attributes)[1])
    result = subprocess.run([str(DCIODVFY), str(path)], capture_output=True, text=True, timeout=60, check=False)
    report = result.stdout + result.stderr
    iod = "IntraoralImageForProcessing" if kind == "unmap" else "IntraoralImageForPresentation"
    assert iod in report.split(), report  # it recognised and checked the intra-oral IOD
    assert [line for line in report.splitlines() if line.startswith("Error")] == [], report


@pytest.mark.skipif(DCIODVFY is None, reason="dciodvfy (dicom3tools) is not on PATH")
@pytest.mark.parametrize("total_grays", [2, 300, 65536])
def test_dciodvfy_finds_no_error_in_unmap_of_any_depth(
    make: Callable[..., tuple[np.ndarray, bytes]], total_grays: int, tmp_path: Path
) -> None:
    lut = Lut(
        gamma=1.0, slope=65535.0, offset=0.0, total_grays=total_grays, minimum_gray=0, maximum_gray=total_grays - 1
    )
    path = tmp_path / "unmap.dcm"
    path.write_bytes(make("unmap", lut=lut)[1])
    result = subprocess.run([str(DCIODVFY), str(path)], capture_output=True, text=True, timeout=60, check=False)
    report = result.stdout + result.stderr
    assert "IntraoralImageForProcessing" in report.split(), report
    assert [line for line in report.splitlines() if line.startswith("Error")] == [], report


DCENTVFY = shutil.which("dcentvfy")


@pytest.mark.skipif(DCENTVFY is None, reason="dcentvfy (dicom3tools) is not on PATH")
@pytest.mark.parametrize("with_attributes", [False, True], ids=["no-attributes", "patient-attributes"])
def test_dcentvfy_finds_the_outputs_of_one_resource_consistent(
    make: Callable[..., tuple[np.ndarray, bytes]], with_attributes: bool, tmp_path: Path
) -> None:
    # Patient, study and series attributes agree across every object that shares their UIDs.
    attributes = parse_dicom_part(json.dumps(PATIENT_PART)) if with_attributes else None
    paths = []
    for kind in KINDS:
        paths.append(tmp_path / f"{kind}.dcm")
        paths[-1].write_bytes(make(kind, attributes=attributes)[1])
    paths.append(tmp_path / "select-smooth.dcm")
    paths[-1].write_bytes(make("select", params={"mode": "smooth"}, attributes=attributes)[1])
    result = subprocess.run([str(DCENTVFY), *map(str, paths)], capture_output=True, text=True, timeout=60, check=False)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")
