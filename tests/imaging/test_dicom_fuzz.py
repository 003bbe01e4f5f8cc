"""Properties over generated ``dicom`` parts: anything is either refused with
DicomAttributesRejected or accepted, and what is accepted comes out of encode_dicom unchanged."""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import pydicom
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from filters_server.imaging.dicom import DicomContext, encode_dicom
from filters_server.imaging.dicom_attributes import DicomAttributesRejected, parse_dicom_part

fuzz = settings(deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow])

RESOURCE_ID = "3f2b8c1e-9d4a-4e0b-8a53-2f6c1d7e9a10"
IMAGE = np.arange(12, dtype=np.uint16).reshape(3, 4)

# Any text, with the characters that matter to DICOM strings (delimiters, controls, non-ASCII) made likely.
texts = st.one_of(
    st.text(alphabet=st.one_of(st.sampled_from("\\^=\n\x00 éß山"), st.characters()), max_size=70),
    st.text(alphabet="ABab01 ^", max_size=20),
)
STRING_TAGS = {
    "00100020": "LO",
    "00081030": "LO",
    "00200010": "SH",
    "00080050": "SH",
    "00100040": "CS",
    "00100030": "DA",
    "00080030": "TM",
    "00200062": "CS",
}


@st.composite
def parts(draw: st.DrawFn) -> dict[str, Any]:
    part: dict[str, Any] = {}
    for tag in draw(st.lists(st.sampled_from(sorted(STRING_TAGS)), max_size=4, unique=True)):
        part[tag] = {"vr": STRING_TAGS[tag], "Value": draw(st.lists(texts, min_size=1, max_size=2))}
    if draw(st.booleans()):
        name = draw(st.fixed_dictionaries({}, optional={"Alphabetic": texts, "Ideographic": texts}))
        part["00100010"] = {"vr": "PN", "Value": [name]}
    return part


def read_back(attributes: dict[str, Any]) -> pydicom.Dataset:
    context = DicomContext(RESOURCE_ID, 0.0, "media", None, False, attributes=attributes)
    return pydicom.dcmread(io.BytesIO(encode_dicom(IMAGE, context)))


@fuzz
@given(parts())
def test_a_part_is_refused_or_comes_out_unchanged(part: dict[str, Any]) -> None:
    try:
        attributes = parse_dicom_part(json.dumps(part).encode())
    except DicomAttributesRejected:
        return
    ds = read_back(attributes)
    for tag, element in part.items():
        written = ds[int(tag, 16)]
        if element["vr"] == "PN":
            name = element["Value"][0]
            groups = [name.get("Alphabetic", "").strip(" "), name.get("Ideographic", "").strip(" ")]
            assert str(written.value) == "=".join(groups).rstrip("=")
        else:  # leading and trailing spaces are padding in these VRs
            values = list(written.value) if written.VM > 1 else [written.value]
            assert [str(v) for v in values] == [v.strip(" ") for v in element["Value"]]
