"""Decode uploads, encode results. C codecs only: they dominate the request time.

PNG decode: ``imaging.png_decoder`` (zlib-ng inflates while libpng un-filters segments on a
second thread: the pixels of libpng, in about 60 % of its time), else OpenCV's imdecode. TIFF,
JPEG: OpenCV imencode/imdecode. PNG encode: our streaming writer (``imaging.png``: numpy Sub
filter + ISA-L deflate of the two halves at once, about 6x faster than libpng). GIF: Pillow,
because OpenCV's GIF writer (opencv-python-headless 5.0) refuses single-channel images and
palette-quantises colour ones, while Pillow writes an 8-bit grayscale GIF losslessly. All
outputs are deterministic: no timestamps, fixed settings.
"""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image

from filters_server.imaging.png import SIGNATURE as PNG_SIGNATURE
from filters_server.imaging.png import encode_png16
from filters_server.imaging.png_decoder import read_png16

# The one list of output formats: media type -> file extension, in the server's order of preference.
OUTPUT_FORMATS: dict[str, str] = {
    "image/png": "png",
    "image/tiff": "tiff",
    "image/jpeg": "jpg",
    "image/gif": "gif",
    "application/dicom": "dcm",  # written by imaging.dicom, which needs the resource's context
}
OUTPUT_TYPES: tuple[str, ...] = tuple(OUTPUT_FORMATS)

# What libpng (through OpenCV) would need to write the same kind of file as imaging.png: zlib
# level 1, Huffman-only, the Sub row filter. Not used to answer requests; the benchmarks compare
# the two writers with it (docs/filters.md, "PNG output").
LIBPNG_PARAMS = [
    cv2.IMWRITE_PNG_COMPRESSION,
    1,
    cv2.IMWRITE_PNG_STRATEGY,
    cv2.IMWRITE_PNG_STRATEGY_HUFFMAN_ONLY,
    cv2.IMWRITE_PNG_FILTER,
    cv2.IMWRITE_PNG_FILTER_SUB,
]
TIFF_PARAMS = [cv2.IMWRITE_TIFF_COMPRESSION, cv2.IMWRITE_TIFF_COMPRESSION_NONE]
JPEG_QUALITY = 90
JPEG_PARAMS = [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]


def decode_png16(data: bytes) -> np.ndarray:
    """A 16-bit grayscale PNG -> 2-D uint16 array; ValueError for anything else."""
    if not data.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG file (bad signature)")
    image = read_png16(data)
    if image is not None:
        return image
    # Whatever the fast path leaves (interlaced, unusual chunks, damage): libpng, whole.
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ValueError("PNG data could not be decoded")
    if image.ndim != 2:
        raise ValueError(f"expected a grayscale PNG, got {image.shape[2]} channels")
    if image.dtype != np.uint16:
        raise ValueError(f"expected a 16-bit PNG, got {image.dtype.itemsize * 8}-bit samples")
    return image


def to_8bit(image: np.ndarray, white: int = 65535) -> np.ndarray:
    """Linear 16 -> 8 bit: ``round(v * 255 / white)``, saturating above ``white``."""
    return cv2.convertScaleAbs(image, alpha=255.0 / white)


def encode(image: np.ndarray, media_type: str, *, white: int = 65535) -> bytes:
    """Encode a 2-D uint16 image as ``media_type`` (one of OUTPUT_TYPES).

    PNG and TIFF keep all 16 bits. JPEG and GIF are 8-bit: the image is scaled linearly
    so that ``white`` (default: the 16-bit maximum, right for mapped images, which are
    display-ready) becomes 255.
    """
    if image.ndim != 2 or image.dtype != np.uint16:
        raise ValueError(f"expected a 2-D uint16 image, got {image.dtype} with shape {image.shape}")
    if media_type == "image/png":
        return encode_png16(image)
    if media_type == "image/tiff":
        ok, buf = cv2.imencode(".tif", image, TIFF_PARAMS)
    elif media_type == "image/jpeg":
        ok, buf = cv2.imencode(".jpg", to_8bit(image, white), JPEG_PARAMS)
    elif media_type == "image/gif":
        out = io.BytesIO()
        Image.fromarray(to_8bit(image, white)).save(out, format="GIF")
        return out.getvalue()
    else:
        raise ValueError(f"unsupported output media type {media_type!r}; expected one of {OUTPUT_TYPES}")
    if not ok:  # pragma: no cover - OpenCV only fails here on invalid input, checked above
        raise ValueError(f"encoding {media_type} failed")
    return buf.tobytes()
