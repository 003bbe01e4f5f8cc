"""Filter contract: shapes, dtypes, determinism, enums and parameters, the one-call job."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import pytest

from filters_server.imaging import (
    AE_TASKS,
    SELECT_MODES,
    SUPREME_TASKS,
    DegenerateLut,
    Lut,
    ae,
    decode_png16,
    encode,
    run_filter,
    select,
    supreme,
    unmap,
)

FILTERS: dict[str, Callable[..., np.ndarray]] = {
    **{f"select-{m}": lambda y, lut, b, m=m: select(y, lut, binned=b, mode=m) for m in SELECT_MODES},
    **{f"supreme-{t}": lambda y, lut, b, t=t: supreme(y, lut, binned=b, task=t) for t in SUPREME_TASKS},
    **{f"ae-{t}": lambda y, lut, b, t=t: ae(y, lut, binned=b, task=t) for t in AE_TASKS},
    "unmap": lambda y, lut, b: unmap(y, lut),
}


def test_enums_are_in_the_spec_order() -> None:
    assert SELECT_MODES == ("smooth", "edgeLow", "edgeHigh", "edgePro")
    assert SUPREME_TASKS == ("general", "endodontic", "periodontic", "restorative", "hygiene")
    assert AE_TASKS == ("general", "endodontic", "periodontic", "restorative")


@pytest.mark.parametrize("name", FILTERS)
def test_shape_and_dtype_are_kept(name: str, dental: np.ndarray, inverted_lut: Lut, binned: bool) -> None:
    out = FILTERS[name](dental, inverted_lut, binned)
    assert out.dtype == np.uint16
    assert out.shape == dental.shape


@pytest.mark.parametrize("name", FILTERS)
def test_identical_input_gives_identical_output(name: str, dental: np.ndarray, inverted_lut: Lut) -> None:
    first = FILTERS[name](dental, inverted_lut, False)
    second = FILTERS[name](dental.copy(), inverted_lut, False)
    assert first.tobytes() == second.tobytes()


def test_output_does_not_depend_on_opencv_thread_count(dental: np.ndarray, inverted_lut: Lut) -> None:
    before = cv2.getNumThreads()
    try:
        cv2.setNumThreads(1)
        single = select(dental, inverted_lut, binned=False), supreme(dental, inverted_lut, binned=False)
        cv2.setNumThreads(4)
        multi = select(dental, inverted_lut, binned=False), supreme(dental, inverted_lut, binned=False)
    finally:
        cv2.setNumThreads(before)
    assert [a.tobytes() for a in single] == [b.tobytes() for b in multi]


def test_sharpening_changes_the_image(dental: np.ndarray, inverted_lut: Lut) -> None:
    assert not np.array_equal(supreme(dental, inverted_lut, binned=False), dental)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda y, lut: select(y, lut, binned=False, mode="edgeMax"), "enhancementMode"),
        (lambda y, lut: supreme(y, lut, binned=False, task="ortho"), "task"),
        (lambda y, lut: ae(y, lut, binned=False, task="hygiene"), "task"),
        (lambda y, lut: supreme(y, lut, binned=False, sharpness=100.5), "sharpness"),
        (lambda y, lut: ae(y, lut, binned=False, sharpness=-1), "sharpness"),
        (lambda y, lut: supreme(y, lut, binned=False, sharpness="70"), "sharpness"),
    ],
    ids=["select-mode", "supreme-task", "ae-hygiene", "sharpness-high", "sharpness-low", "sharpness-str"],
)
def test_bad_parameters_raise_value_error_naming_the_field(call, field: str, dental, inverted_lut) -> None:
    with pytest.raises(ValueError, match=field):
        call(dental, inverted_lut)


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("unmap", {}),
        ("select", {"mode": "edgePro"}),
        ("supreme", {"task": "general", "sharpness": 70.0}),
        ("ae", {"task": "endodontic", "sharpness": 30.0}),
    ],
)
def test_run_filter_decodes_filters_and_encodes(name: str, params: dict, dental, inverted_lut) -> None:
    png = encode(dental, "image/png")
    out = decode_png16(run_filter(name, png, inverted_lut, binned=False, params=params, media_type="image/png"))
    direct = {"unmap": unmap, "select": select, "supreme": supreme, "ae": ae}[name]
    expected = direct(dental, inverted_lut) if name == "unmap" else direct(dental, inverted_lut, binned=False, **params)
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("media_type", ["image/tiff", "image/jpeg", "image/gif"])
def test_run_filter_honours_the_media_type(media_type: str, dental, inverted_lut) -> None:
    data = run_filter(
        "select", encode(dental, "image/png"), inverted_lut, binned=False, params={}, media_type=media_type
    )
    assert data == encode(select(dental, inverted_lut, binned=False), media_type)


def test_run_filter_reports_a_degenerate_lut_before_decoding(inverted_lut: Lut) -> None:
    bad = Lut(**{**inverted_lut.__dict__, "slope": 0.0})
    with pytest.raises(DegenerateLut):
        run_filter("unmap", b"not a png", bad, binned=False, params={}, media_type="image/png")


def test_run_filter_rejects_undecodable_media(inverted_lut: Lut) -> None:
    with pytest.raises(ValueError, match="PNG"):
        run_filter("select", b"not a png", inverted_lut, binned=False, params={}, media_type="image/png")


def test_run_filter_rejects_an_unknown_filter(dental, inverted_lut) -> None:
    with pytest.raises(ValueError, match="sepia"):
        run_filter("sepia", encode(dental, "image/png"), inverted_lut, binned=False, params={}, media_type="image/png")


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (7, 300), (300, 7)])
@pytest.mark.parametrize("name", ["select-edgePro", "supreme-general", "ae-endodontic", "unmap"])
def test_tiny_and_thin_images_are_filtered_without_error(name: str, shape, inverted_lut: Lut, binned) -> None:
    image = np.random.default_rng(1).integers(0, 65536, shape, dtype=np.uint16)
    out = FILTERS[name](image, inverted_lut, binned)
    assert out.shape == shape and out.dtype == np.uint16


def test_sharpness_accepts_integers_and_numpy_floats(dental, inverted_lut) -> None:
    expected = supreme(dental, inverted_lut, binned=False, sharpness=70.0)
    np.testing.assert_array_equal(supreme(dental, inverted_lut, binned=False, sharpness=70), expected)
    np.testing.assert_array_equal(supreme(dental, inverted_lut, binned=False, sharpness=np.float32(70)), expected)
