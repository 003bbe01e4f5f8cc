"""Wire compatibility: requests byte for byte as real clients send them, answers read strictly.

The request bodies are written out as bytes (exact boundaries, part headers, key case, enum
encodings) and sent unchanged with http.client. Answers are checked against the published
spec's ImageResource made strict: every listed property has its type, no unlisted property
appears, and timestamps have the vendor's format (the spec's own examples are malformed).
"""

from __future__ import annotations

import copy
import http.client
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from filters_server.testing import png16

from .conftest import AUTH

PUBLISHED_SPEC = Path(__file__).parent / "spec" / "dsio-filters-v1.yaml"  # the vendor document, unchanged
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
MEDIA = png16(40, 30, seed=9)
LUT_PASCAL = b'{"Gamma":2.3,"Slope":65535.0,"Offset":0.0,"TotalGrays":4096,"MinimumGray":3612,"MaximumGray":418}'


def strict(schema: Any, components: dict[str, Any]) -> Any:
    """Inline $refs; objects with listed properties allow no others; drop examples and formats."""
    if isinstance(schema, list):
        return [strict(item, components) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        return strict(components[schema["$ref"].rsplit("/", 1)[1]], components)
    out = {
        key: strict(value, components)
        for key, value in schema.items()
        if key not in ("example", "description", "format")
    }
    if out.get("type") == "object" and "properties" in out:
        out["additionalProperties"] = False
    return out


@pytest.fixture(scope="module")
def image_resource_schema() -> dict[str, Any]:
    document = yaml.safe_load(PUBLISHED_SPEC.read_text("utf-8"))
    components = copy.deepcopy(document["components"]["schemas"])
    schema = strict(components["ImageResource"], components)
    schema["required"] = ["id", "mediaType", "url", "createdOn", "expires", "imageInfo", "modalitySession"]
    # Uploads carry "modalitySession": null, as the vendor's ASP.NET service serializes an absent
    # object; the published schema does not say nullable, so null is allowed here explicitly.
    schema["properties"]["modalitySession"] = {"anyOf": [{"type": "null"}, schema["properties"]["modalitySession"]]}
    return schema


def assert_image_resource(document: Any, schema: dict[str, Any]) -> None:
    jsonschema.validate(document, schema)
    assert TIMESTAMP.match(document["createdOn"]) and TIMESTAMP.match(document["expires"])


def exchange(server, method: str, path: str, headers: list[tuple[str, str]], body: bytes | None = None):
    """One request with exactly these headers (no Host or Accept-Encoding added) and body."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.putrequest(method, server.base_path + path, skip_host=True, skip_accept_encoding=True)
        for name, value in headers:
            connection.putheader(name, value)
        connection.endheaders(body)
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type") or "", response.read()
    finally:
        connection.close()


def host(server) -> tuple[str, str]:
    return ("Host", f"127.0.0.1:{server.port}")


# --- the three upload shapes ---------------------------------------------------------------------


def postman_form() -> tuple[str, bytes]:
    """Postman: imageInfo first as application/json, then the file."""
    boundary = "--------------------------556477234916452961882537"
    body = (
        f"--{boundary}\r\n".encode()
        + b'Content-Disposition: form-data; name="imageInfo"\r\nContent-Type: application/json\r\n\r\n'
        + b'{\n    "acquisitionInfo": {\n        "binning": "Unbinned"\n    },\n    "lutInfo": {\n'
        + b'        "gamma": 2.3,\n        "slope": 65535.0,\n        "offset": 0.0,\n        "totalGrays": 4096,\n'
        + b'        "minimumGray": 3612,\n        "maximumGray": 418\n    }\n}\r\n'
        + f"--{boundary}\r\n".encode()
        + b'Content-Disposition: form-data; name="imageMedia"; filename="xray.png"\r\nContent-Type: image/png\r\n\r\n'
        + MEDIA
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return f"multipart/form-data; boundary={boundary}", body


def dotnet_form() -> tuple[str, bytes]:
    """.NET HttpClient MultipartFormDataContent: media first, StringContent named ImageInfo, PascalCase, int enums."""
    boundary = '"6a1e3b0f-2c4d-4e5f-9a8b-7c6d5e4f3a2b"'
    bare = boundary.strip('"')
    body = (
        f"--{bare}\r\n".encode()
        + b"Content-Type: image/png\r\n"
        + b"Content-Disposition: form-data; name=imageMedia; filename=image.png; filename*=utf-8''image.png\r\n\r\n"
        + MEDIA
        + f"\r\n--{bare}\r\n".encode()
        + b"Content-Type: text/plain; charset=utf-8\r\n"
        + b"Content-Disposition: form-data; name=ImageInfo\r\n\r\n"
        + b'{"AcquisitionInfo":{"Binning":1},"LutInfo":'
        + LUT_PASCAL
        + b"}"
        + f"\r\n--{bare}--\r\n".encode()
    )
    return f"multipart/form-data; boundary={boundary}", body


def curl_form() -> tuple[str, bytes]:
    """curl -F 'imageInfo=<info.json;type=application/json' -F 'imageMedia=@xray.png;type=image/png'."""
    boundary = "------------------------d74496d66958873e"
    body = (
        f"--{boundary}\r\n".encode()
        + b'Content-Disposition: form-data; name="imageInfo"\r\nContent-Type: application/json\r\n\r\n'
        + b'{"acquisitionInfo":{"binning":"Binned2x2"},"lutInfo":{"gamma":2.3,"slope":65535,"offset":0,'
        + b'"totalGrays":4096,"minimumGray":3612,"maximumGray":418}}\r\n'
        + f"--{boundary}\r\n".encode()
        + b'Content-Disposition: form-data; name="imageMedia"; filename="xray.png"\r\nContent-Type: image/png\r\n\r\n'
        + MEDIA
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return f"multipart/form-data; boundary={boundary}", body


FORMS = {
    "postman": (
        postman_form,
        [
            ("User-Agent", "PostmanRuntime/7.39.0"),
            ("Accept", "*/*"),
            ("Cache-Control", "no-cache"),
            ("Connection", "keep-alive"),
        ],
    ),
    "dotnet": (dotnet_form, [("Accept", "application/json")]),
    "curl": (curl_form, [("User-Agent", "curl/8.5.0"), ("Accept", "*/*")]),
}
EXPECTED_BINNING = {"postman": "Unbinned", "dotnet": "Binned2x2", "curl": "Binned2x2"}


def upload(server, client: str) -> tuple[int, str, bytes]:
    build, extra = FORMS[client]
    content_type, body = build()
    headers = [
        host(server),
        ("Authorization", AUTH),
        *extra,
        ("Content-Type", content_type),
        ("Content-Length", str(len(body))),
    ]
    return exchange(server, "POST", "/images", headers, body)


@pytest.mark.parametrize("client", sorted(FORMS))
def test_each_clients_upload_is_201_with_a_strict_image_resource(threaded_server, image_resource_schema, client):
    status, content_type, body = upload(threaded_server, client)
    assert status == 201, body
    assert content_type.startswith("application/json")
    document = json.loads(body)
    assert_image_resource(document, image_resource_schema)
    assert document["imageInfo"]["acquisitionInfo"]["binning"] == EXPECTED_BINNING[client]
    assert document["imageInfo"]["lutInfo"] == {
        "gamma": 2.3,
        "slope": 65535.0,
        "offset": 0.0,
        "totalGrays": 4096,
        "minimumGray": 3612,
        "maximumGray": 418,
    }


@pytest.fixture(scope="module")
def dotnet_resource(threaded_server) -> dict[str, Any]:
    status, _type, body = upload(threaded_server, "dotnet")
    assert status == 201
    return json.loads(body)


def test_the_get_the_dotnet_sdk_sends_reads_back_the_same_resource(
    threaded_server, image_resource_schema, dotnet_resource
):
    status, _type, body = exchange(
        threaded_server,
        "GET",
        f"/images/{dotnet_resource['id']}",
        [host(threaded_server), ("Authorization", AUTH), ("Accept", "application/json")],
    )
    assert status == 200
    document = json.loads(body)
    assert_image_resource(document, image_resource_schema)
    assert document == dotnet_resource


@pytest.mark.parametrize(
    "name, body",
    [
        ("supreme", b'{"Task":0,"Sharpness":70.0}'),
        ("ae", b'{"Task":0,"Sharpness":70.0}'),
        ("select", b'{"EnhancementMode":3}'),
    ],
)
def test_dotnet_filter_bodies_give_a_png(threaded_server, dotnet_resource, name, body):
    status, content_type, image = exchange(
        threaded_server,
        "POST",
        f"/images/{dotnet_resource['id']}/filters/{name}",
        [
            host(threaded_server),
            ("Authorization", AUTH),
            ("Content-Type", "application/json; charset=utf-8"),
            ("Content-Length", str(len(body))),
        ],
        body,
    )
    assert status == 200 and content_type == "image/png"
    assert image.startswith(b"\x89PNG\r\n\x1a\n")


def test_dotnet_unmap_with_content_length_zero_gives_a_png(threaded_server, dotnet_resource):
    status, content_type, image = exchange(
        threaded_server,
        "POST",
        f"/images/{dotnet_resource['id']}/filters/unmap",
        [host(threaded_server), ("Authorization", AUTH), ("Content-Length", "0")],
    )
    assert status == 200 and content_type == "image/png"
    assert image.startswith(b"\x89PNG\r\n\x1a\n")


def test_the_sdk_availability_check_needs_no_credentials(threaded_server):
    status, content_type, _body = exchange(threaded_server, "GET", "/", [host(threaded_server)])
    assert status == 200 and content_type.startswith("application/json")


def test_media_comes_back_byte_for_byte(threaded_server, dotnet_resource):
    status, content_type, media = exchange(
        threaded_server,
        "GET",
        f"/images/{dotnet_resource['id']}/media",
        [host(threaded_server), ("Authorization", AUTH)],
    )
    assert (status, content_type, media) == (200, "image/png", MEDIA)


def test_delete_as_the_sdk_sends_it_is_204_then_404_problem(threaded_server):
    status, _type, body = upload(threaded_server, "curl")
    resource_id = json.loads(body)["id"]
    headers = [host(threaded_server), ("Authorization", AUTH)]
    assert exchange(threaded_server, "DELETE", f"/images/{resource_id}", headers)[0] == 204
    status, content_type, body = exchange(threaded_server, "GET", f"/images/{resource_id}", headers)
    assert status == 404 and content_type == "application/problem+json"
    assert set(json.loads(body)) >= {"type", "title", "status", "detail"}
