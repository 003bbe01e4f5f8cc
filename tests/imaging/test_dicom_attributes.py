"""The ``dicom`` upload part: a whitelisted DICOM JSON model, validated and made canonical."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydicom.sr.codedict import codes

from filters_server.imaging.dicom_attributes import DicomAttributesRejected, parse_dicom_part

TOOTH_11 = {"00080100": {"vr": "SH", "Value": ["422653006"]}, "00080102": {"vr": "SH", "Value": ["SCT"]}}
JAW = {"00080100": {"vr": "SH", "Value": ["661005"]}, "00080102": {"vr": "SH", "Value": ["SCT"]}}
CANINE_REGION = {"00080100": {"vr": "SH", "Value": ["699510004"]}, "00080102": {"vr": "SH", "Value": ["SCT"]}}

FULL_PART: dict[str, Any] = {
    "00100010": {"vr": "PN", "Value": [{"Alphabetic": "Doe^Jane", "Ideographic": "ドウ^ジェーン"}]},
    "00100020": {"vr": "LO", "Value": ["P-0042"]},
    "00100021": {"vr": "LO", "Value": ["Clinic A"]},
    "00100030": {"vr": "DA", "Value": ["19800131"]},
    "00100040": {"vr": "CS", "Value": ["F"]},
    "0020000D": {"vr": "UI", "Value": ["1.2.826.0.1.3680043.8.498.12345"]},
    "00200010": {"vr": "SH", "Value": ["ST-7"]},
    "00080020": {"vr": "DA", "Value": ["20260102"]},
    "00080030": {"vr": "TM", "Value": ["093000"]},
    "00081030": {"vr": "LO", "Value": ["Bitewings"]},
    "00080050": {"vr": "SH", "Value": ["ACC-1"]},
    "00080090": {"vr": "PN", "Value": [{"Alphabetic": "Smith^John^^Dr"}]},
    "0008103E": {"vr": "LO", "Value": ["Left bitewing"]},
    "00200011": {"vr": "IS", "Value": [7]},
    "00081070": {"vr": "PN", "Value": [{"Alphabetic": "Op^One"}, {"Alphabetic": "Op^Two"}]},
    "00080080": {"vr": "LO", "Value": ["Dental Clinic"]},
    "00081040": {"vr": "LO", "Value": ["Radiology"]},
    "00187004": {"vr": "CS", "Value": ["SCINTILLATOR"]},
    "00181508": {"vr": "CS", "Value": ["RIGID"]},
    "00200020": {"vr": "CS", "Value": ["L", "F"]},
    "00200062": {"vr": "CS", "Value": ["L"]},
    "00082218": {"vr": "SQ", "Value": [dict(JAW)]},
    "00082228": {"vr": "SQ", "Value": [dict(TOOTH_11)]},
}


def parse(document: Any) -> dict[str, Any]:
    return parse_dicom_part(json.dumps(document).encode())


def test_whitelisted_attributes_are_accepted_with_their_values() -> None:
    out = parse(FULL_PART)
    assert out["00100010"]["Value"] == [{"Alphabetic": "Doe^Jane", "Ideographic": "ドウ^ジェーン"}]
    assert out["00200020"]["Value"] == ["L", "F"]
    assert out["00200011"]["Value"] == [7]
    assert set(out) == set(FULL_PART)


def test_canonical_form_is_sorted_json_and_parses_to_itself() -> None:
    shuffled = dict(reversed(list(FULL_PART.items())))
    out = parse(shuffled)
    assert list(out) == sorted(out)
    assert parse(out) == out
    assert json.dumps(parse(shuffled)) == json.dumps(parse(FULL_PART))


def test_lower_case_tags_are_accepted() -> None:
    assert "0008103E" in parse({"0008103e": {"vr": "LO", "Value": ["x"]}})


def test_padding_spaces_are_taken_off() -> None:
    out = parse(
        {
            "00100020": {"vr": "LO", "Value": ["  P-1 "]},
            "00200062": {"vr": "CS", "Value": ["L "]},
            "00100010": {"vr": "PN", "Value": [{"Alphabetic": " Doe^Jane "}]},
        }
    )
    assert (out["00100020"]["Value"], out["00200062"]["Value"]) == (["P-1"], ["L"])
    assert out["00100010"]["Value"] == [{"Alphabetic": "Doe^Jane"}]


def test_code_meaning_is_filled_in_from_the_context_group() -> None:
    out = parse({"00082228": {"vr": "SQ", "Value": [TOOTH_11]}})
    item = out["00082228"]["Value"][0]
    assert item["00080104"]["Value"] == ["Permanent maxillary right central incisor tooth"]


def test_several_teeth_are_accepted() -> None:
    teeth = [
        {"00080100": {"vr": "SH", "Value": [code.value]}, "00080102": {"vr": "SH", "Value": ["SCT"]}}
        for code in codes.cid4018.concepts.values()
    ]
    out = parse({"00082228": {"vr": "SQ", "Value": teeth}})
    assert len(out["00082228"]["Value"]) == 32


def test_code_meaning_is_the_standards_whatever_the_client_wrote() -> None:
    tooth = dict(TOOTH_11, **{"00080104": {"vr": "LO", "Value": ["lower left molar"]}})
    out = parse({"00082228": {"vr": "SQ", "Value": [tooth]}})
    assert out["00082228"]["Value"][0]["00080104"]["Value"] == ["Permanent maxillary right central incisor tooth"]


def test_deciduous_teeth_are_accepted() -> None:
    deciduous_canine = {"00080100": {"vr": "SH", "Value": ["43281008"]}, "00080102": {"vr": "SH", "Value": ["SCT"]}}
    assert parse({"00082228": {"vr": "SQ", "Value": [deciduous_canine]}})


def test_anatomic_region_with_its_modifier_is_accepted() -> None:
    region = dict(JAW, **{"00082220": {"vr": "SQ", "Value": [CANINE_REGION]}})
    out = parse({"00082218": {"vr": "SQ", "Value": [region]}})
    modifier = out["00082218"]["Value"][0]["00082220"]["Value"][0]
    assert modifier["00080104"]["Value"] == ["Canine region"]


REJECTED: dict[str, tuple[Any, str]] = {
    "tag outside the whitelist": ({"00101000": {"vr": "LO", "Value": ["x"]}}, "00101000"),
    "pixel data": ({"7FE00010": {"vr": "OW", "InlineBinary": "AAAA"}}, "PixelData"),
    "not a tag": ({"PatientName": {"vr": "PN", "Value": [{"Alphabetic": "x"}]}}, "PatientName"),
    "wrong VR": ({"00100010": {"vr": "LO", "Value": ["Doe^Jane"]}}, "PatientName"),
    "missing VR": ({"00100020": {"Value": ["x"]}}, "PatientID"),
    "bulk data URI": ({"00100020": {"vr": "LO", "BulkDataURI": "http://example.invalid/x"}}, "BulkDataURI"),
    "inline binary": ({"00100020": {"vr": "LO", "InlineBinary": "eA=="}}, "InlineBinary"),
    "element not an object": ({"00100020": "P-1"}, "PatientID"),
    "blank string": ({"00100020": {"vr": "LO", "Value": ["   "]}}, "PatientID"),
    "blank name group": ({"00100010": {"vr": "PN", "Value": [{"Alphabetic": ""}]}}, "PatientName"),
    "empty value": ({"00100020": {"vr": "LO", "Value": []}}, "PatientID"),
    "no value": ({"00100020": {"vr": "LO"}}, "PatientID"),
    "two values for VM 1": ({"00100020": {"vr": "LO", "Value": ["a", "b"]}}, "PatientID"),
    "one value for VM 2": ({"00200020": {"vr": "CS", "Value": ["L"]}}, "PatientOrientation"),
    "number for a string VR": ({"00100020": {"vr": "LO", "Value": [42]}}, "PatientID"),
    "DA with dashes": ({"00100030": {"vr": "DA", "Value": ["1980-01-31"]}}, "PatientBirthDate"),
    "TM with colons": ({"00080030": {"vr": "TM", "Value": ["09:30"]}}, "StudyTime"),
    "LO too long": ({"00081030": {"vr": "LO", "Value": ["x" * 65]}}, "StudyDescription"),
    "SH too long": ({"00200010": {"vr": "SH", "Value": ["x" * 17]}}, "StudyID"),
    "CS lower case": ({"00100040": {"vr": "CS", "Value": ["f"]}}, "PatientSex"),
    "sex not enumerated": ({"00100040": {"vr": "CS", "Value": ["X"]}}, "PatientSex"),
    "laterality not enumerated": ({"00200062": {"vr": "CS", "Value": ["U"]}}, "ImageLaterality"),
    "positioner not enumerated": ({"00181508": {"vr": "CS", "Value": ["CHAIR"]}}, "PositionerType"),
    "orientation letters": ({"00200020": {"vr": "CS", "Value": ["L", "X"]}}, "PatientOrientation"),
    "IS as a string": ({"00200011": {"vr": "IS", "Value": ["7"]}}, "SeriesNumber"),
    "IS out of range": ({"00200011": {"vr": "IS", "Value": [2**31]}}, "SeriesNumber"),
    "IS as a boolean": ({"00200011": {"vr": "IS", "Value": [True]}}, "SeriesNumber"),
    "PN as a string": ({"00100010": {"vr": "PN", "Value": ["Doe^Jane"]}}, "PatientName"),
    "backslash": ({"00100020": {"vr": "LO", "Value": ["a\\b"]}}, "PatientID"),
    "control character": ({"00081030": {"vr": "LO", "Value": ["a\nb"]}}, "StudyDescription"),
    "backslash in a name": ({"00100010": {"vr": "PN", "Value": [{"Alphabetic": "Doe\\Jane"}]}}, "PatientName"),
    "equals sign in a name": ({"00100010": {"vr": "PN", "Value": [{"Alphabetic": "Doe=Jane"}]}}, "PatientName"),
    "six name components": ({"00100010": {"vr": "PN", "Value": [{"Alphabetic": "a^b^c^d^e^f"}]}}, "PatientName"),
    "PN unknown group": ({"00100010": {"vr": "PN", "Value": [{"Alias": "x"}]}}, "PatientName"),
    "UID with letters": ({"0020000D": {"vr": "UI", "Value": ["1.2.abc"]}}, "StudyInstanceUID"),
    "UID with a leading zero": ({"0020000D": {"vr": "UI", "Value": ["1.02.3"]}}, "StudyInstanceUID"),
    "tooth code in the region": ({"00082218": {"vr": "SQ", "Value": [TOOTH_11]}}, "4016"),
    "region code as a tooth": ({"00082228": {"vr": "SQ", "Value": [JAW]}}, "4018"),
    "unknown coding scheme": (
        {
            "00082228": {
                "vr": "SQ",
                "Value": [{"00080100": {"vr": "SH", "Value": ["11"]}, "00080102": {"vr": "SH", "Value": ["ISO3950"]}}],
            }
        },
        "ISO3950",
    ),
    "code without a scheme": (
        {"00082228": {"vr": "SQ", "Value": [{"00080100": {"vr": "SH", "Value": ["422653006"]}}]}},
        "CodingSchemeDesignator",
    ),
    "extra attribute in a code item": (
        {"00082228": {"vr": "SQ", "Value": [dict(TOOTH_11, **{"00080105": {"vr": "CS", "Value": ["DCMR"]}})]}},
        "00080105",
    ),
    "modifier outside the region": (
        {"00082228": {"vr": "SQ", "Value": [dict(TOOTH_11, **{"00082220": {"vr": "SQ", "Value": [CANINE_REGION]}})]}},
        "00082220",
    ),
    "two regions": (
        {"00082218": {"vr": "SQ", "Value": [JAW, JAW]}, "00082228": {"vr": "SQ", "Value": [TOOTH_11]}},
        "AnatomicRegionSequence",
    ),
    "region without modifier or teeth": ({"00082218": {"vr": "SQ", "Value": [JAW]}}, "AnatomicRegionModifierSequence"),
    "item not an object": ({"00082228": {"vr": "SQ", "Value": ["422653006"]}}, "PrimaryAnatomicStructureSequence"),
}


@pytest.mark.parametrize(("document", "named"), list(REJECTED.values()), ids=list(REJECTED))
def test_rejected_part_names_the_offending_attribute(document: Any, named: str) -> None:
    with pytest.raises(DicomAttributesRejected, match=named):
        parse(document)


@pytest.mark.parametrize(
    "raw",
    [b"{", b"", b"\xff\xfe", b'{"00100020": {"vr": "LO", "Value": ["a"]}', b"[" * 65536],
    ids=["truncated", "empty", "not utf-8", "unclosed", "nested beyond the stack"],
)
def test_malformed_json_is_rejected(raw: bytes) -> None:
    with pytest.raises(DicomAttributesRejected, match="not valid JSON"):
        parse_dicom_part(raw)


@pytest.mark.parametrize(
    "raw",
    [
        '{"00100020": {"vr": "LO", "Value": ["a"]}, "00100020": {"vr": "LO", "Value": ["b"]}}',
        '{"0008103E": {"vr": "LO", "Value": ["a"]}, "0008103e": {"vr": "LO", "Value": ["b"]}}',
        '{"00100020": {"vr": "LO", "vr": "LO", "Value": ["a"]}}',
    ],
    ids=["same tag twice", "same tag in two cases", "same member twice"],
)
def test_duplicate_keys_are_rejected(raw: str) -> None:
    with pytest.raises(DicomAttributesRejected, match="duplicate key"):
        parse_dicom_part(raw)


@pytest.mark.parametrize("document", [[], "x", 3, None], ids=["array", "string", "number", "null"])
def test_a_document_that_is_not_an_object_is_rejected(document: Any) -> None:
    with pytest.raises(DicomAttributesRejected, match="DICOM JSON object"):
        parse(document)


def test_rejection_is_a_value_error() -> None:
    assert issubclass(DicomAttributesRejected, ValueError)


def test_a_lone_surrogate_in_a_value_is_refused() -> None:
    raw = '{"00100010": {"vr": "PN", "Value": [{"Alphabetic": "\\ud800"}]}}'  # JSON escape of half a pair
    with pytest.raises(DicomAttributesRejected, match="not Unicode"):
        parse_dicom_part(raw)
