"""Pure pixel code of the filters: LUT map/unmap, filter pipelines, codecs.

No aiohttp and no asyncio here: the server calls ``run_filter`` (or the pieces) from a
worker thread. See docs/filters.md for what each filter computes.
"""

from filters_server.imaging.codecs import OUTPUT_FORMATS, OUTPUT_TYPES, decode_png16, encode
from filters_server.imaging.dicom import DicomContext
from filters_server.imaging.dicom_attributes import DicomAttributesRejected, parse_dicom_part
from filters_server.imaging.filters import (
    FILTER_NAMES,
    ae,
    filter_image,
    filter_pixels,
    render,
    run_filter,
    select,
    supreme,
    unmap,
)
from filters_server.imaging.lut import DegenerateLut, Lut, check_lut
from filters_server.imaging.params import AE_TASKS, SELECT_MODES, SUPREME_TASKS

__all__ = [
    "AE_TASKS",
    "FILTER_NAMES",
    "OUTPUT_FORMATS",
    "OUTPUT_TYPES",
    "SELECT_MODES",
    "SUPREME_TASKS",
    "DegenerateLut",
    "DicomAttributesRejected",
    "DicomContext",
    "Lut",
    "ae",
    "check_lut",
    "decode_png16",
    "encode",
    "filter_image",
    "filter_pixels",
    "parse_dicom_part",
    "render",
    "run_filter",
    "select",
    "supreme",
    "unmap",
]
