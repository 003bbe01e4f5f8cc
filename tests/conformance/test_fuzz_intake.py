"""Fuzzing what clients send (Hypothesis): the upload intake and filter bodies never answer 5xx
and a rejected request never leaves anything in storage.

The PNG validator has its own fuzz tests (tests/pngcheck); here the bytes around it vary.
"""

from __future__ import annotations

import json

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from filters_server.testing import png16, sample_image_info

from .conftest import AUTH, ThreadedServer

FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
MEDIA = png16(16, 8)
HEADERS = {"Authorization": AUTH}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
# Objects that look like an ImageInfo often enough to get past the first checks.
info_keys = st.sampled_from(
    [
        "lutInfo",
        "LutInfo",
        "acquisitionInfo",
        "AcquisitionInfo",
        "binning",
        "gamma",
        "slope",
        "offset",
        "totalGrays",
        "minimumGray",
        "maximumGray",
        "x",
    ]
)
info_like = st.recursive(
    st.none() | st.integers(-2, 70000) | st.floats() | st.text(max_size=10) | st.booleans(),
    lambda children: st.dictionaries(info_keys, children, max_size=6),
    max_leaves=25,
)
content_types = st.sampled_from(
    [
        "multipart/form-data; boundary=B",
        "multipart/form-data",
        "multipart/mixed; boundary=B",
        "multipart/form-data; boundary=",
        'multipart/form-data; boundary="B"',
        "application/json",
        "image/png",
        "text/plain",
        "",
    ]
) | st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40).map(str.strip)


@pytest.fixture(scope="module")
def server():
    with ThreadedServer() as running:
        yield running


def post_images(server: ThreadedServer, body: bytes, content_type: str) -> requests.Response:
    headers = dict(HEADERS)
    if content_type:
        headers["Content-Type"] = content_type
    return requests.post(f"{server.base_url}/images", data=body, headers=headers, timeout=30)


def settle(server: ThreadedServer, response: requests.Response) -> None:
    """No 5xx; a created resource is removed again; a refused one left nothing."""
    assert response.status_code < 500, response.text
    if response.status_code == 201:
        requests.delete(f"{server.base_url}/images/{response.json()['id']}", headers=HEADERS, timeout=30)
    else:
        assert response.headers["Content-Type"].startswith("application/problem+json")
    assert server.stored_keys() == []


def part(name: bytes, content: bytes, content_type: bytes | None) -> bytes:
    head = b'Content-Disposition: form-data; name="' + name + b'"'
    if name.lower() == b"imagemedia":
        head += b'; filename="a.png"'
    if content_type is not None:
        head += b"\r\nContent-Type: " + content_type
    return head + b"\r\n\r\n" + content


part_names = st.sampled_from([b"imageInfo", b"ImageInfo", b"imageMedia", b"media", b"other", b""]) | st.binary(
    max_size=8
)
part_bodies = st.sampled_from([MEDIA, MEDIA[:40], json.dumps(sample_image_info()).encode(), b"{}", b""]) | st.binary(
    max_size=64
)
part_types = st.none() | st.sampled_from(
    [
        b"application/json",
        b"text/plain; charset=utf-8",
        b"image/png",
        b"application/octet-stream",
        b"text/plain; charset=nonesuch",
    ]
)


@FUZZ
@given(body=st.binary(max_size=2048), content_type=content_types)
def test_arbitrary_bytes_as_an_upload_never_fail_the_server(server, body, content_type):
    settle(server, post_images(server, body, content_type))


@FUZZ
@given(
    parts=st.lists(st.tuples(part_names, part_bodies, part_types), max_size=6),
    epilogue=st.sampled_from([b"--B--\r\n", b"--B--", b"--B", b"", b"--B--\r\ntrailing"]),
)
def test_arbitrary_multipart_forms_never_fail_the_server(server, parts, epilogue):
    body = b"".join(b"--B\r\n" + part(*fields) + b"\r\n" for fields in parts) + epilogue
    settle(server, post_images(server, body, "multipart/form-data; boundary=B"))


@FUZZ
@given(info=info_like | json_values)
def test_arbitrary_json_as_image_info_is_201_or_a_problem(server, info):
    body = (
        b"--B\r\n" + part(b"imageInfo", json.dumps(info).encode(), b"application/json") + b"\r\n"
        b"--B\r\n" + part(b"imageMedia", MEDIA, b"image/png") + b"\r\n--B--\r\n"
    )
    response = post_images(server, body, "multipart/form-data; boundary=B")
    assert response.status_code in (201, 400), response.text
    settle(server, response)


@pytest.fixture(scope="module")
def resource(server):
    created = server.create_resource(MEDIA)
    yield created
    requests.delete(f"{server.base_url}/images/{created['id']}", headers=HEADERS, timeout=30)


filter_bodies = (
    json_values.map(lambda value: json.dumps(value).encode())
    | st.dictionaries(
        st.sampled_from(["enhancementMode", "EnhancementMode", "task", "Task", "sharpness", "Sharpness"]),
        st.integers(-3, 120) | st.floats() | st.text(max_size=12) | st.none(),
        max_size=3,
    ).map(lambda value: json.dumps(value).encode())
    | st.binary(max_size=64)
)


@FUZZ
@given(
    name=st.sampled_from(["unmap", "select", "supreme", "ae"]),
    body=filter_bodies,
    content_type=st.sampled_from(["application/json", "text/plain", "", "application/json; charset=utf-16"]),
)
def test_arbitrary_filter_bodies_are_an_image_or_a_problem(server, resource, name, body, content_type):
    headers = dict(HEADERS, **({"Content-Type": content_type} if content_type else {}))
    response = requests.post(
        f"{server.base_url}/images/{resource['id']}/filters/{name}", data=body, headers=headers, timeout=60
    )
    assert response.status_code in (200, 400), response.text
    prefix = f"images/{resource['id']}/"
    assert all(key.startswith(prefix) or key.startswith("expiry/") for key in server.stored_keys())
