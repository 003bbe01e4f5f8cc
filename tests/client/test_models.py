"""Models speak the wire's camelCase; enums and formats."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from filters_client import (
    AcquisitionInfo,
    Binning,
    Filter,
    ImageInfo,
    ImageResource,
    LutInfo,
    ModalitySession,
    OutputFormat,
    SelectMode,
    Task,
)
from filters_client.models import UTC, extension, media_type

WIRE: dict[str, Any] = {
    "id": "0f8fad5b-d9cb-469f-a165-70867728950e",
    "mediaType": "image/png",
    "url": "http://127.0.0.1:43809/api/dsio/filters/v1/images/0f8fad5b-d9cb-469f-a165-70867728950e/media",
    "createdOn": "2026-12-01T12:00:00.123Z",
    "expires": "2026-12-01T20:00:00.123Z",
    "imageInfo": {
        "acquisitionInfo": {"binning": "Binned2x2"},
        "lutInfo": {
            "gamma": 2.3,
            "slope": 65535.0,
            "offset": 0.0,
            "totalGrays": 4096,
            "minimumGray": 3612,
            "maximumGray": 418,
        },
    },
    "modalitySession": None,
}


def test_an_image_resource_reads_the_wire_form() -> None:
    resource = ImageResource.from_json(WIRE)
    assert resource.created_on == datetime(2026, 12, 1, 12, 0, 0, 123000, tzinfo=UTC)
    assert resource.image_info == ImageInfo(
        LutInfo(2.3, 65535.0, 0.0, 4096, 3612, 418), AcquisitionInfo(Binning.BINNED_2X2)
    )
    assert resource.modality_session is None


def test_an_image_resource_writes_the_wire_form_back() -> None:
    assert ImageResource.from_json(WIRE).to_json() == WIRE


def test_a_modality_session_round_trips() -> None:
    wire = WIRE | {"modalitySession": {"sessionId": "s-1", "imageId": "i-2"}}
    resource = ImageResource.from_json(wire)
    assert resource.modality_session == ModalitySession("s-1", "i-2")
    assert resource.to_json() == wire


def test_image_info_reads_keys_in_any_case() -> None:
    info = ImageInfo.from_json(
        {
            "LutInfo": {
                "Gamma": 2.3,
                "SLOPE": 65535,
                "offset": 0,
                "TotalGrays": 4096,
                "minimumgray": 3612,
                "MaximumGray": 418,
            }
        }
    )
    assert info.lut_info.total_grays == 4096
    assert info.acquisition_info.binning is Binning.UNBINNED


def test_image_info_without_a_lut_is_refused() -> None:
    with pytest.raises(ValueError, match="lutInfo"):
        ImageInfo.from_json({"acquisitionInfo": {"binning": "Unbinned"}})


def test_the_enums_hold_the_spec_values() -> None:
    assert [m.value for m in SelectMode] == ["smooth", "edgeLow", "edgeHigh", "edgePro"]
    assert [t.value for t in Task] == ["general", "endodontic", "periodontic", "restorative", "hygiene"]


@pytest.mark.parametrize(
    "given, expected",
    [
        ("png", "image/png"),
        ("TIFF", "image/tiff"),
        ("jpg", "image/jpeg"),
        (OutputFormat.GIF, "image/gif"),
        ("application/dicom", "application/dicom"),
    ],
)
def test_formats_by_short_name_or_any_media_type(given: Any, expected: str) -> None:
    assert media_type(given) == expected


def test_a_format_that_is_not_a_media_type_is_refused() -> None:
    with pytest.raises(ValueError):
        media_type("webp")


@pytest.mark.parametrize(
    "given, ext",
    [("image/jpeg", "jpg"), ("image/tiff", "tiff"), ("application/dicom", "dcm"), ("image/x-custom+xml", "x-custom")],
)
def test_file_extensions_of_media_types(given: str, ext: str) -> None:
    assert extension(given) == ext


def test_filters_build_their_bodies() -> None:
    assert Filter.unmap().body() is None
    assert Filter.select("EDGE_HIGH").body() == {"enhancementMode": "edgeHigh"}
    assert Filter.supreme("Endodontic", 35).body() == {"task": "endodontic", "sharpness": 35.0}


def test_ae_refuses_the_hygiene_task() -> None:
    with pytest.raises(ValueError, match="hygiene"):
        Filter.ae(Task.HYGIENE)


def test_sharpness_outside_0_to_100_is_refused() -> None:
    with pytest.raises(ValueError, match="sharpness"):
        Filter.supreme(sharpness=101)


def test_filter_labels_for_file_names() -> None:
    assert Filter.supreme("endodontic", 70).label == "-endodontic-70"
    assert Filter.ae("general", 72.5).label == "-general-72.5"
    assert Filter.select().label == "-edgePro"
    assert Filter.unmap().label == ""
