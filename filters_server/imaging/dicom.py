"""DICOM out: an image of a resource as a Digital Intra-Oral X-Ray Part 10 file.

``encode_dicom(pixels, context)`` writes the same uint16 array the PNG encoder gets as a
Digital Intra-Oral X-Ray Image (For Presentation for the stored media and the select,
supreme and ae results; For Processing for unmap's sensor values), Explicit VR Little
Endian. Everything in the object comes from the pixels and the DicomContext: UIDs are
derived from the resource id, the kind and the canonical parameters, and the only time
written is the resource's createdOn, so the same inputs give byte-identical files (the
server's result cache and ETags rely on it). docs/dicom.md lists every attribute and why.
"""

from __future__ import annotations

import json
import math
import struct
import sys
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

import cv2
import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_data_element, write_file_meta_info
from pydicom.sequence import Sequence
from pydicom.sr.codedict import codes
from pydicom.uid import UID, ExplicitVRLittleEndian

from . import params as P
from .dicom_attributes import dataset_of
from .lut import Lut

MEDIA_TYPE = "application/dicom"

FOR_PRESENTATION_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.1.3"  # Digital Intra-Oral X-Ray Image Storage - For Presentation
FOR_PROCESSING_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.1.3.1"  # ... - For Processing

KINDS: tuple[str, ...] = ("media", "unmap", "select", "supreme", "ae")
# Series Number of each kind's series (results of one kind with other parameters are other series).
SERIES_NUMBERS: dict[str, int] = {kind: number for number, kind in enumerate(KINDS, start=1)}

# Identifies this writer in the file meta (fixed: a new value would change every file's bytes).
IMPLEMENTATION_CLASS_UID = f"2.25.{uuid.uuid5(uuid.NAMESPACE_URL, 'urn:dsio-filters-server:dicom').int}"
IMPLEMENTATION_VERSION_NAME = "DSIO_FILTERS_1"
MANUFACTURER = "dsio-filters"
MODEL_NAME = "dsio-filters-server"

# What the DX and Intra-Oral Image Modules require (type 1 / 1C) when the client's dicom part
# does not say (docs/dicom.md, "Defaults"): labial mounting (the patient's left to the right, feet
# down), both sides, no positioner, "Teeth, gums and supporting structures" (CID 4016) refined by
# "First molar region" (CID 4017; the region needs a modifier unless teeth are named, and
# posterior bitewings and periapicals are the commonest intra-oral views).
DEFAULT_PATIENT_ORIENTATION = ("L", "F")
DEFAULT_IMAGE_LATERALITY = "B"
DEFAULT_POSITIONER_TYPE = "NONE"
DEFAULT_ANATOMIC_REGION = codes.cid4016.TeethGumsAndSupportingStructures
DEFAULT_ANATOMIC_REGION_MODIFIER = codes.cid4017.FirstMolarRegion

_PARAM_NAMES = {"mode": "enhancementMode", "task": "task", "sharpness": "sharpness"}  # API names in descriptions
_PROFILES: dict[str, Mapping[str, P.Profile]] = {
    "select": P.SELECT_PROFILES,
    "supreme": P.SUPREME_PROFILES,
    "ae": P.AE_PROFILES,
}
_LO_MAX = 64
_PREAMBLE = bytes(128) + b"DICM"
_ENCODINGS = ["ISO_IR 192"]
_LITTLE_ENDIAN_HOST = sys.byteorder == "little"


@dataclass(frozen=True)
class DicomContext:
    """What the server knows about the image besides its pixels.

    resource_id: the resource's id (a UUID string); every UID of the object derives from it.
    created_on:  the resource's createdOn (epoch seconds): the only time written (Study, Series
                 and Content Date/Time, UTC).
    kind:        "media" (the stored image) or the filter: "unmap", "select", "supreme", "ae".
    lut:         the resource's lutInfo; required for unmap (Bits Stored from totalGrays, intensity
                 sign, derivation), unused by the other kinds (None is fine for media).
    binned:      acquisitionInfo.binning == Binned2x2 (pixel spacing, Detector Binning).
    pitch_mm:    the pitch override the filters got, if any (else the binning's pitch, params.py).
    params:      the filter's canonical parameters ({"mode": "edgePro"}, {"task": "general",
                 "sharpness": 70.0}); empty for media and unmap.
    attributes:  the canonical form of the upload's ``dicom`` part (parse_dicom_part), or {}.
    """

    resource_id: str
    created_on: float
    kind: str
    lut: Lut | None
    binned: bool
    params: Mapping[str, Any] = field(default_factory=dict)
    attributes: Mapping[str, Any] = field(default_factory=dict)
    pitch_mm: float | None = None

    def __post_init__(self) -> None:
        P.pitch_mm(self.binned, self.pitch_mm)  # ValueError unless > 0
        uuid.UUID(self.resource_id)  # ValueError if it is not one
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}; got {self.kind!r}")
        if self.kind == "unmap" and self.lut is None:
            raise ValueError("unmap needs the resource's LUT")
        if self.kind in ("media", "unmap") and self.params:
            raise ValueError(f"{self.kind} takes no parameters; got {sorted(self.params)}")
        if self.kind in _PROFILES:
            _check_params(self.kind, self.params)
        if not math.isfinite(self.created_on):
            raise ValueError(f"created_on must be finite; got {self.created_on!r}")

    @property
    def for_processing(self) -> bool:
        return self.kind == "unmap"


def _check_params(kind: str, params: Mapping[str, Any]) -> None:
    """The canonical parameters of a filter, as the server passes them to the filter itself."""
    key = "mode" if kind == "select" else "task"
    expected = {key} if kind == "select" else {key, "sharpness"}
    if set(params) != expected:
        raise ValueError(f"{kind} parameters must be {sorted(expected)}; got {sorted(params)}")
    if params[key] not in _PROFILES[kind]:
        raise ValueError(f"{kind} {key} must be one of {', '.join(_PROFILES[kind])}; got {params[key]!r}")
    sharpness = params.get("sharpness", 0.0)
    if isinstance(sharpness, bool) or not isinstance(sharpness, int | float) or not 0 <= sharpness <= 100:
        raise ValueError(f"{kind} sharpness must be a number in [0, 100]; got {sharpness!r}")


# --- UIDs ------------------------------------------------------------------------------------


def canonical_params(params: Mapping[str, Any]) -> str:
    """Parameters as the JSON that names them in UIDs: sorted keys, numbers as floats (70 == 70.0)."""

    def norm(value: Any) -> Any:
        return float(value) if isinstance(value, int) and not isinstance(value, bool) else value

    return json.dumps({k: norm(v) for k, v in params.items()}, sort_keys=True, separators=(",", ":"))


def _uid(resource_id: str, *parts: str) -> str:
    """``2.25.<UUID>`` (PS3.5 B.2) with a name-based UUID5 in the resource id's namespace."""
    return f"2.25.{uuid.uuid5(uuid.UUID(resource_id), '/'.join(parts)).int}"


def study_uid(resource_id: str) -> str:
    return _uid(resource_id, "study")


def series_uid(resource_id: str, kind: str, params: Mapping[str, Any] | None = None) -> str:
    return _uid(resource_id, "series", kind, canonical_params(params or {}))


def instance_uid(resource_id: str, kind: str, params: Mapping[str, Any] | None = None) -> str:
    """SOP Instance UID of one output; ``instance_uid(id, "media")`` is what derived objects reference."""
    return _uid(resource_id, "instance", kind, canonical_params(params or {}))


# --- pixel facts -----------------------------------------------------------------------------


def bits_stored(context: DicomContext) -> int:
    """16 for presentation outputs; unmap's sensor values need only ceil(log2(totalGrays)) bits."""
    return _bits_stored(context.for_processing, context.lut)


def _bits_stored(for_processing: bool, lut: Lut | None) -> int:
    if not for_processing or lut is None:  # no LUT only for presentation kinds (DicomContext checks)
        return 16
    # Never below 9: the DX Image Module pairs Bits Allocated 16 with Bits Stored 9..16.
    return max(9, min(16, (lut.total_grays - 1).bit_length()))


def intensity_sign(context: DicomContext) -> int:
    """Pixel Intensity Relationship Sign: -1 when higher values mean less X-ray intensity."""
    return _intensity_sign(context.for_processing, context.lut)


def _intensity_sign(for_processing: bool, lut: Lut | None) -> int:
    # Mapped images are display-ready with bone bright (MONOCHROME2): -1. Sensor values run the
    # other way round from the map: Y rises with X when slope * (maximumGray - minimumGray) > 0,
    # and then higher X is less intensity (-1), else +1.
    if not for_processing or lut is None:
        return -1
    return -1 if lut.slope * (lut.maximum_gray - lut.minimum_gray) > 0 else 1


WINDOW_EXPLANATIONS = ("FULL RANGE", "DATA RANGE")


def windows(pixels: np.ndarray) -> tuple[list[str], list[str]]:
    """(centers, widths) of WINDOW_EXPLANATIONS: the full 16-bit range first (what the PNG shows),
    then the image's data range. DICOM's linear window maps [c - 0.5 - (w-1)/2, c - 0.5 + (w-1)/2]."""
    low, high, _, _ = cv2.minMaxLoc(pixels)
    lo, hi = int(low), int(high)
    return ["32768", _ds((lo + hi + 1) / 2)], ["65536", str(hi - lo + 1)]


def _ds(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:.1f}"


# --- the object ------------------------------------------------------------------------------


def encode_dicom(pixels: np.ndarray, context: DicomContext) -> bytes:
    """A Digital Intra-Oral X-Ray Image Part 10 file of ``pixels`` (2-D uint16, only read)."""
    if pixels.ndim != 2 or pixels.dtype != np.uint16 or not pixels.size or max(pixels.shape) > 65535:
        raise ValueError(
            f"expected a non-empty 2-D uint16 image of at most 65535 rows and columns, "
            f"got {pixels.dtype} with shape {pixels.shape}"
        )
    stored = bits_stored(context)
    if stored < 16 and int(cv2.minMaxLoc(pixels)[1]) >= 1 << stored:
        raise ValueError(f"{context.kind} pixels exceed {stored} bits (the LUT's totalGrays)")
    client = dataset_of(context.attributes) if context.attributes else Dataset()
    lut = context.lut if context.for_processing else None  # only unmap's header depends on the LUT
    elements = dict(
        _static_elements(
            context.kind,
            context.binned,
            P.pitch_mm(context.binned, context.pitch_mm),
            lut,
            "PrimaryAnatomicStructureSequence" not in client,
        )
    )
    if context.kind in _PROFILES:
        elements.update(_parameter_elements(context.kind, canonical_params(context.params)))
    dynamic = _dynamic(pixels, context, client)
    elements.update(_encoded(dynamic))  # the client's attributes replace the defaults
    out = DicomBytesIO()
    out.is_little_endian, out.is_implicit_VR = True, False
    out.write(_PREAMBLE)
    write_file_meta_info(out, _file_meta(str(dynamic.SOPClassUID), str(dynamic.SOPInstanceUID)), enforce_standard=True)
    # Pixel Data goes last (the highest tag) and is appended as one buffer: pydicom's writer would
    # copy the 8 MB twice more (into its stream, then out of it), which is most of its time.
    data = pixels if _LITTLE_ENDIAN_HOST else pixels.astype("<u2")
    return b"".join(
        [
            out.getvalue(),
            *(elements[tag] for tag in sorted(elements)),
            _pixel_data_header(data.nbytes),
            np.ascontiguousarray(data).data,
        ]
    )


def _pixel_data_header(length: int) -> bytes:
    """(7FE0,0010) OW, explicit VR little endian: tag, VR, 2 reserved bytes, 32-bit length (even)."""
    return struct.pack("<HH2sHI", 0x7FE0, 0x0010, b"OW", 0, length)


def _encoded(ds: Dataset) -> dict[int, bytes]:
    """Each top-level element of ``ds`` encoded by pydicom (explicit VR little endian, UTF-8), by tag.

    Elements are self-delimiting, so a dataset is its elements' bytes in ascending tag order
    (PS3.5 7.1): this lets the elements that only depend on the kind of output be encoded once.
    """
    fp = DicomBytesIO()
    fp.is_little_endian, fp.is_implicit_VR = True, False
    bounds: list[tuple[int, int, int]] = []
    for element in ds:
        start = fp.tell()
        write_data_element(fp, element, _ENCODINGS)
        bounds.append((int(element.tag), start, fp.tell()))
    data = fp.getvalue()
    return {tag: data[start:end] for tag, start, end in bounds}


@lru_cache(maxsize=256)
def _static_elements(
    kind: str, binned: bool, pitch_mm: float, lut: Lut | None, with_modifier: bool
) -> tuple[tuple[int, bytes], ...]:
    """The encoded elements that depend only on the kind of output, never on the resource."""
    for_processing = kind == "unmap"
    ds = Dataset()
    # SOP Common
    ds.SpecificCharacterSet = "ISO_IR 192"  # UTF-8: client names may be any script
    ds.TimezoneOffsetFromUTC = "+0000"
    # Patient (type 2: empty unless the client's dicom part gives them)
    ds.PatientName = ""
    ds.PatientID = ""
    ds.PatientBirthDate = ""
    ds.PatientSex = ""
    # General Study
    ds.ReferringPhysicianName = ""
    ds.AccessionNumber = ""
    # General Series, DX Series, Intra-oral Series
    ds.Modality = "IO"
    ds.SeriesNumber = SERIES_NUMBERS[kind]
    ds.PresentationIntentType = "FOR PROCESSING" if for_processing else "FOR PRESENTATION"
    # General Equipment
    ds.Manufacturer = MANUFACTURER
    ds.ManufacturerModelName = MODEL_NAME
    # General Image
    ds.InstanceNumber = 1
    ds.PatientOrientation = list(DEFAULT_PATIENT_ORIENTATION)
    ds.ImageType = ["ORIGINAL", "PRIMARY"] if kind == "media" else ["DERIVED", "SECONDARY"]
    if kind == "unmap":
        _derivation(ds, kind, {}, lut)
    ds.BurnedInAnnotation = "NO"
    ds.LossyImageCompression = "00"
    # Image Pixel + DX Image (Rows and Columns are per image)
    stored = _bits_stored(for_processing, lut)
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = stored
    ds.HighBit = stored - 1
    ds.PixelRepresentation = 0
    ds.PixelIntensityRelationship = "LIN" if for_processing else "LOG"
    ds.PixelIntensityRelationshipSign = _intensity_sign(for_processing, lut)
    ds.RescaleIntercept = "0"
    ds.RescaleSlope = "1"
    ds.RescaleType = "US"
    ds.PresentationLUTShape = "IDENTITY"  # MONOCHROME2; type 1 in the DX Image Module for both intents
    if not for_processing:  # VOI LUT Module: required For Presentation, forbidden For Processing
        ds.WindowCenterWidthExplanation = list(WINDOW_EXPLANATIONS)
    # DX Detector
    pitch = _ds_mm(pitch_mm)
    ds.DetectorType = ""
    ds.ImagerPixelSpacing = [pitch, pitch]
    ds.DetectorBinning = ["2", "2"] if binned else ["1", "1"]
    # DX Anatomy Imaged + Intra-oral Image (defaults; the client's dicom part overrides)
    ds.ImageLaterality = DEFAULT_IMAGE_LATERALITY
    ds.PositionerType = DEFAULT_POSITIONER_TYPE
    ds.AnatomicRegionSequence = Sequence([_anatomic_region(with_modifier)])
    # Acquisition Context (type 2: nothing known)
    ds.AcquisitionContextSequence = Sequence()
    return tuple(_encoded(ds).items())


@lru_cache(maxsize=1024)
def _parameter_elements(kind: str, params_json: str) -> tuple[tuple[int, bytes], ...]:
    """select/supreme/ae: the encoded elements that name the parameters (description, derivation)."""
    params = json.loads(params_json)
    ds = Dataset()
    ds.SeriesDescription = _series_description(kind, params, None)
    _derivation(ds, kind, params, None)
    return tuple(_encoded(ds).items())


def _dynamic(pixels: np.ndarray, context: DicomContext, client: Dataset) -> Dataset:
    """The elements of one resource and image: UIDs, dates, size, data window, client attributes."""
    kind, rid = context.kind, context.resource_id
    date, time = _date_time(context.created_on)
    ds = Dataset()
    sop_class = FOR_PROCESSING_SOP_CLASS if context.for_processing else FOR_PRESENTATION_SOP_CLASS
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = instance_uid(rid, kind, context.params)
    ds.StudyInstanceUID = study_uid(rid)
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = date
    ds.StudyTime = ds.SeriesTime = ds.ContentTime = time
    ds.StudyID = uuid.UUID(rid).hex[:16]  # SH: the resource id's first 16 hex digits, to find it again
    ds.SeriesInstanceUID = series_uid(rid, kind, context.params)
    ds.Rows, ds.Columns = pixels.shape
    if not context.for_processing:
        ds.WindowCenter, ds.WindowWidth = windows(pixels)
    if kind != "media":
        ds.SourceImageSequence = Sequence([_source_image(rid)])
    for element in client:
        ds[element.tag] = element
    if kind not in _PROFILES or "SeriesDescription" in client:  # else: _parameter_elements
        ds.SeriesDescription = _series_description(kind, context.params, client.get("SeriesDescription"))
    return ds


def _file_meta(sop_class: str, sop_instance: str) -> FileMetaDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(sop_class)
    meta.MediaStorageSOPInstanceUID = UID(sop_instance)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = UID(IMPLEMENTATION_CLASS_UID)
    meta.ImplementationVersionName = IMPLEMENTATION_VERSION_NAME
    return meta


def _date_time(epoch: float) -> tuple[str, str]:
    moment = datetime.fromtimestamp(epoch, tz=timezone.utc)  # noqa: UP017 - datetime.UTC needs Python 3.11; setup.cfg allows 3.10
    return moment.strftime("%Y%m%d"), moment.strftime("%H%M%S.%f")


def _ds_mm(value: float) -> str:
    return f"{value:.6g}"


def describe(kind: str, params: Mapping[str, Any]) -> str:
    """``select enhancementMode=edgePro``: the filter and its parameters in the API's names."""
    parts = [kind] + [f"{_PARAM_NAMES.get(k, k)}={_value(v)}" for k, v in sorted(params.items())]
    return " ".join(parts)


def _value(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _series_description(kind: str, params: Mapping[str, Any], client: str | None) -> str:
    own = "intra-oral image as stored" if kind == "media" else describe(kind, params)
    if client is None:
        return own
    return (client if kind == "media" else f"{client} - {own}")[:_LO_MAX]


def _derivation(ds: Dataset, kind: str, params: Mapping[str, Any], lut: Lut | None) -> None:
    """Derivation Description and Derivation Code Sequence (CID 7203) of a filter output."""
    if kind == "unmap" and lut is not None:  # DicomContext ensures unmap has its LUT
        ds.DerivationDescription = (
            f"unmap: the sensor LUT inverted (gamma {lut.gamma:g}, slope {lut.slope:g}, offset {lut.offset:g}, "
            f"minimumGray {lut.minimum_gray}, maximumGray {lut.maximum_gray}, totalGrays {lut.total_grays})"
        )
        return  # CID 7203 has no code for a LUT inversion
    profile = _PROFILES[kind][params["mode" if kind == "select" else "task"]]
    strength = 1.0 if kind == "select" else float(params["sharpness"]) / 100.0
    ds.DerivationDescription = (
        f"{describe(kind, params)}: bilateral denoise and multi-band sharpening in the "
        f"linear domain, re-mapped with the image's LUT (dsio-filters)"
    )
    derivation = []
    if profile.denoise > 0:
        derivation.append(codes.cid7203.Smoothing)
    if strength > 0 and any(profile.gains):
        derivation.append(codes.cid7203.EdgeEnhancement)
    ds.DerivationCodeSequence = Sequence([_code_item(code) for code in derivation])


def _source_image(resource_id: str) -> Dataset:
    """Source Image Sequence item: the stored media's object, as encode_dicom writes it for "media"."""
    source = Dataset()
    source.ReferencedSOPClassUID = FOR_PRESENTATION_SOP_CLASS
    source.ReferencedSOPInstanceUID = instance_uid(resource_id, "media")
    source.PurposeOfReferenceCodeSequence = Sequence([_code_item(codes.cid7202.SourceImageForImageProcessingOperation)])
    return source


def _anatomic_region(with_modifier: bool) -> Dataset:
    item = _code_item(DEFAULT_ANATOMIC_REGION)
    if with_modifier:  # 1C: the modifier is required unless the teeth are named
        item.AnatomicRegionModifierSequence = Sequence([_code_item(DEFAULT_ANATOMIC_REGION_MODIFIER)])
    return item


def _code_item(code: Any) -> Dataset:
    item = Dataset()
    item.CodeValue = code.value
    item.CodingSchemeDesignator = code.scheme_designator
    item.CodeMeaning = code.meaning
    return item
