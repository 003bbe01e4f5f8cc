"""The optional ``dicom`` upload part: patient/study/anatomy attributes as a DICOM JSON model.

The part is a PS3.18 Annex F document (``{"00100010": {"vr": "PN", "Value": [{"Alphabetic":
"Doe^Jane"}]}}``) restricted to WHITELIST. ``parse_dicom_part`` validates it with pydicom
(``Dataset.from_json`` for the model, ``validate_value`` for each value's VR rules) plus the
checks pydicom leaves to the application (tag allowed, VR of the tag, value multiplicity,
enumerated values, codes from the IOD's context groups) and returns a canonical DICOM JSON
dict: what the server stores with the resource and hands back in ``DicomContext.attributes``.
Pure: no I/O, no server imports.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydicom import config
from pydicom.datadict import dictionary_VM, dictionary_VR, keyword_for_tag, tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.uid import UID
from pydicom.valuerep import validate_value

# The caller answers 413 above this; the whole whitelist at maximum lengths with 32 teeth is 7.6 KB.
MAX_PART_BYTES = 64 * 1024

MEDIA_TYPE = "application/dicom+json"


class DicomAttributesRejected(ValueError):
    """The ``dicom`` part is not acceptable; the message names the offending tag/keyword."""


@dataclass(frozen=True)
class Allowed:
    """One whitelisted attribute: its enumerated values (if any) and, for code sequences,
    the context groups its codes must come from and how many items it takes."""

    enumerated: tuple[str, ...] = ()
    pattern: str | None = None
    cids: tuple[int, ...] = ()
    max_items: int | None = None


_CODE_ITEM = ("CodeValue", "CodingSchemeDesignator", "CodingSchemeVersion", "CodeMeaning")

# keyword -> rules. VRs and VMs come from pydicom's data dictionary.
WHITELIST: dict[str, Allowed] = {
    # Patient
    "PatientName": Allowed(),
    "PatientID": Allowed(),
    "IssuerOfPatientID": Allowed(),
    "PatientBirthDate": Allowed(),
    "PatientSex": Allowed(enumerated=("M", "F", "O")),
    # General Study (a PACS files the results under the client's own study when it sends one)
    "StudyInstanceUID": Allowed(),
    "StudyID": Allowed(),
    "StudyDate": Allowed(),
    "StudyTime": Allowed(),
    "StudyDescription": Allowed(),
    "AccessionNumber": Allowed(),
    "ReferringPhysicianName": Allowed(),
    # General Series / General Equipment
    "SeriesDescription": Allowed(),
    "SeriesNumber": Allowed(),
    "OperatorsName": Allowed(),
    "InstitutionName": Allowed(),
    "InstitutionalDepartmentName": Allowed(),
    # DX Detector / Intra-oral Image (anatomy: the IOD's context groups)
    "DetectorType": Allowed(enumerated=("DIRECT", "SCINTILLATOR", "STORAGE", "FILM")),
    "PositionerType": Allowed(enumerated=("NONE", "CEPHALOSTAT", "RIGID")),
    "PatientOrientation": Allowed(pattern=r"[APRLHF]{1,3}"),  # two values: row, then column direction
    "ImageLaterality": Allowed(enumerated=("R", "L", "B")),
    "AnatomicRegionSequence": Allowed(cids=(4016,), max_items=1),
    "PrimaryAnatomicStructureSequence": Allowed(cids=(4018, 4019), max_items=None),
}
# Only inside an Anatomic Region Sequence item.
_MODIFIER = Allowed(cids=(4017,), max_items=1)

_FORBIDDEN = re.compile(r"[\\\x00-\x1f\x7f]")
_TAG_OF: dict[str, str] = {f"{tag_for_keyword(k):08X}": k for k in WHITELIST}


def _concepts(cid: int) -> dict[tuple[str, str], str]:
    """(scheme, value) -> code meaning of every concept in a context group."""
    group = getattr(codes, f"cid{cid}")
    return {(c.scheme_designator, c.value): c.meaning for c in group.concepts.values()}


_CID_CONCEPTS: dict[int, dict[tuple[str, str], str]] = {cid: _concepts(cid) for cid in (4016, 4017, 4018, 4019)}


def parse_dicom_part(raw: bytes | str) -> dict[str, Any]:
    """Validate the ``dicom`` part and return its canonical DICOM JSON form.

    Raises DicomAttributesRejected for anything malformed, not whitelisted or non-conforming.
    The result has tags in ascending order and code meanings filled in from the standard's
    context groups, so equal attributes always serialise to the same bytes.
    """
    try:
        document = json.loads(raw, object_pairs_hook=_unique_keys)
    except (ValueError, RecursionError) as exc:  # RecursionError: nesting deeper than Python's stack
        raise DicomAttributesRejected(f"the dicom part is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise DicomAttributesRejected("the dicom part must be a DICOM JSON object of tag -> attribute")
    try:  # JSON's \ud800-style escapes can spell lone surrogates, which no DICOM character set holds
        json.dumps(document, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise DicomAttributesRejected("the dicom part holds text that is not Unicode (a lone surrogate)") from None
    return canonical(_dataset(document, WHITELIST, path=""))


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are unique, also ignoring case (tags are hex): no silent last-wins."""
    seen: set[str] = set()
    for key, _ in pairs:
        if key.upper() in seen:
            raise ValueError(f"duplicate key {key!r}")
        seen.add(key.upper())
    return dict(pairs)


def canonical(ds: Dataset) -> dict[str, Any]:
    """A dataset as sorted DICOM JSON (``to_json_dict`` keeps insertion order)."""
    document: dict[str, Any] = json.loads(json.dumps(ds.to_json_dict(), sort_keys=True))
    return document


def dataset_of(attributes: Mapping[str, Any]) -> Dataset:
    """The canonical form back as a pydicom Dataset (trusted: it came from parse_dicom_part)."""
    return Dataset.from_json(dict(attributes))


def _dataset(document: Mapping[str, Any], allowed: Mapping[str, Allowed], path: str) -> Dataset:
    """Check every element of one (sub)document against ``allowed``, then let pydicom parse it."""
    tag_of = _TAG_OF if allowed is WHITELIST else {f"{tag_for_keyword(k):08X}": k for k in allowed}
    for key, element in document.items():
        where = f"{path}{key}"
        keyword = tag_of.get(key.upper()) if isinstance(key, str) else None
        if keyword is None:
            raise DicomAttributesRejected(
                f"{where} ({_name(key)}) is not an accepted attribute of the dicom part; "
                f"accepted: {', '.join(sorted(allowed))}"
            )
        where = f"{path}{keyword} ({key.upper()})"
        if not isinstance(element, dict):
            raise DicomAttributesRejected(f"{where} must be an object with 'vr' and 'Value'")
        extra = set(element) - {"vr", "Value"}
        if extra:  # BulkDataURI, InlineBinary, anything else
            raise DicomAttributesRejected(f"{where}: only 'vr' and 'Value' are accepted, got {sorted(extra)}")
        tag = int(key, 16)
        vr = dictionary_VR(tag)
        if element.get("vr") != vr:
            raise DicomAttributesRejected(f"{where} has VR {vr}, got {element.get('vr')!r}")
        values = element.get("Value")
        if not isinstance(values, list) or not values:
            raise DicomAttributesRejected(f"{where} needs a non-empty 'Value' array (leave the attribute out instead)")
        rules = allowed[keyword]
        if vr == "SQ":  # a sequence's VM is 1 whatever its items: their number is checked here
            _check_items(where, keyword, values, rules)
        else:
            _check_multiplicity(where, dictionary_VM(tag), len(values))
            element["Value"] = _check_values(where, vr, values, rules)  # our own parse of the part
    try:
        ds = Dataset.from_json({k.upper(): v for k, v in document.items()})
    except (ValueError, TypeError, KeyError, AttributeError) as exc:  # what pydicom raises for bad models
        raise DicomAttributesRejected(f"{path or 'the dicom part'}: not a valid DICOM JSON model: {exc}") from None
    if allowed is WHITELIST:
        _check_dataset(ds)
    return ds


def _check_dataset(ds: Dataset) -> None:
    """Rules across attributes."""
    if "StudyInstanceUID" in ds and not UID(ds.StudyInstanceUID).is_valid:
        raise DicomAttributesRejected(f"StudyInstanceUID (0020000D): {ds.StudyInstanceUID!r} is not a valid UID")
    if (
        "AnatomicRegionSequence" in ds
        and "PrimaryAnatomicStructureSequence" not in ds
        and "AnatomicRegionModifierSequence" not in ds.AnatomicRegionSequence[0]
    ):
        raise DicomAttributesRejected(
            "AnatomicRegionSequence (00082218) needs an AnatomicRegionModifierSequence (00082220) item "
            "(CID 4017) unless PrimaryAnatomicStructureSequence (00082228) names the teeth"
        )


def _check_multiplicity(where: str, vm: str, count: int) -> None:
    low, _, high = vm.partition("-")
    if count < int(low) or (high == "" and count != int(low)) or (high not in ("", "n") and count > int(high)):
        raise DicomAttributesRejected(f"{where} takes {vm} value(s), got {count}")


def _check_values(where: str, vr: str, values: list[Any], rules: Allowed) -> list[Any]:
    """The values, checked, with the spaces DICOM ignores (padding) taken off."""
    out: list[Any] = []
    for value in values:
        if vr == "PN":
            if not isinstance(value, dict) or not value or set(value) - {"Alphabetic", "Ideographic", "Phonetic"}:
                raise DicomAttributesRejected(
                    f"{where}: a PN value is an object with 'Alphabetic' "
                    f"(and optionally 'Ideographic', 'Phonetic'), got {value!r}"
                )
            name = {key: _check_one(where, vr, group) for key, group in value.items()}
            for group in name.values():
                if "=" in group or group.count("^") > 4:  # groups are the JSON keys; 5 components at most
                    raise DicomAttributesRejected(
                        f"{where}: a PN group has at most 5 '^'-separated components and no '=', got {group!r}"
                    )
            out.append(name)
        elif vr == "IS":
            if isinstance(value, bool) or not isinstance(value, int) or not -(2**31) <= value < 2**31:
                raise DicomAttributesRejected(
                    f"{where}: an IS value is a JSON integer in the signed 32-bit range, got {value!r}"
                )
            out.append(value)
        else:
            text = _check_one(where, vr, value)
            if rules.enumerated and text not in rules.enumerated:
                raise DicomAttributesRejected(f"{where} must be one of {', '.join(rules.enumerated)}, got {value!r}")
            if rules.pattern and not re.fullmatch(rules.pattern, text):
                raise DicomAttributesRejected(f"{where}: {value!r} does not match {rules.pattern}")
            out.append(text)
    return out


def _check_one(where: str, vr: str, value: Any) -> str:
    """One string value, checked against its VR, without leading and trailing spaces."""
    if not isinstance(value, str):
        raise DicomAttributesRejected(f"{where}: a {vr} value is a JSON string, got {value!r}")
    # A backslash would split the value in two when encoded (it is the value delimiter), and no
    # whitelisted VR allows control characters.
    if _FORBIDDEN.search(value):
        raise DicomAttributesRejected(f"{where}: a {vr} value has no backslash or control characters, got {value!r}")
    text = value.strip(" ")  # padding: insignificant in every whitelisted VR, and readers drop it
    if not text:
        raise DicomAttributesRejected(f"{where}: a value must not be empty or blank (leave the attribute out)")
    try:
        validate_value(vr, text, config.RAISE)
    except ValueError as exc:
        raise DicomAttributesRejected(f"{where}: {exc}") from None
    return text


def _check_items(where: str, keyword: str, items: list[Any], rules: Allowed) -> None:
    if rules.max_items is not None and len(items) > rules.max_items:
        raise DicomAttributesRejected(f"{where} takes at most {rules.max_items} item(s), got {len(items)}")
    inner: dict[str, Allowed] = {k: Allowed() for k in _CODE_ITEM}
    if keyword == "AnatomicRegionSequence":
        inner["AnatomicRegionModifierSequence"] = _MODIFIER
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise DicomAttributesRejected(f"{where} item {index + 1} must be an object")
        item_where = f"{where} item {index + 1} > "
        _dataset(item, inner, path=item_where)
        _fill_code(item_where, item, rules.cids)


def _fill_code(where: str, item: dict[str, Any], cids: tuple[int, ...]) -> None:
    """Require a code of ``cids`` and give it the standard's Code Meaning (whatever the client wrote)."""

    def value_of(keyword: str) -> str | None:
        element = item.get(f"{tag_for_keyword(keyword):08X}")  # code item tags are all digits: no case
        return element["Value"][0] if element else None

    scheme, value = value_of("CodingSchemeDesignator"), value_of("CodeValue")
    if scheme is None or value is None:
        raise DicomAttributesRejected(f"{where}CodeValue and CodingSchemeDesignator are required")
    meaning = next((_CID_CONCEPTS[cid][(scheme, value)] for cid in cids if (scheme, value) in _CID_CONCEPTS[cid]), None)
    if meaning is None:
        cid_names = " or ".join(f"CID {cid}" for cid in cids)
        raise DicomAttributesRejected(f"{where}({value}, {scheme}) is not a code of {cid_names}")
    item[f"{tag_for_keyword('CodeMeaning'):08X}"] = {"vr": "LO", "Value": [meaning]}


def _name(key: object) -> str:
    if not isinstance(key, str) or len(key) != 8:
        return "not a tag"
    try:
        return keyword_for_tag(int(key, 16)) or "unknown tag"
    except ValueError:
        return "not a tag"
