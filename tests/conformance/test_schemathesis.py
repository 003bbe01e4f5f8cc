"""Property-based API tests (Schemathesis): generated requests from the served and the published document.

Every generated request is sent to a real server on a loopback port. Path ids are
sometimes the id of a live resource, so requests reach real images, not only 404s.
The runtime is bounded and the generation is derandomized, so CI sees the same
requests every run.
"""

from __future__ import annotations

import copy
import importlib.resources
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
import yaml
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from schemathesis.transport.serialization import Binary

from filters_server.config import Settings
from filters_server.testing import png16

from .conftest import AUTH, PASSWORD, USER, ThreadedServer

PUBLISHED_SPEC = Path(__file__).parent / "spec" / "dsio-filters-v1.yaml"  # the vendor document, unchanged
SETTINGS = hypothesis.settings(
    max_examples=25, deadline=None, derandomize=True, database=None, suppress_health_check=list(hypothesis.HealthCheck)
)
MEDIA = png16(48, 32, seed=5)
# Part names the server reads (in any case) rather than ignores: see skip_unsendable_parts.
MEANINGFUL_PART_NAMES = frozenset({"imageinfo", "imagemedia", "media", "dicom"})
# A schema can say "binary image/png" but not "16-bit grayscale": image/png parts are real ones.
schemathesis.openapi.media_type("image/png", st.just(MEDIA))


class LiveResource:
    """The id of a resource that exists; replaced when a generated DELETE removes it."""

    def __init__(self) -> None:
        self.server: ThreadedServer | None = None
        self.id = "00000000-0000-4000-8000-000000000000"

    def start(self, server: ThreadedServer) -> None:
        self.server = server
        self.id = server.create_resource(MEDIA)["id"]

    def renew_if_deleted(self, case: schemathesis.Case, response: requests.Response) -> None:
        if case.method.upper() == "DELETE" and response.status_code == 204 and self.server is not None:
            self.id = self.server.create_resource(MEDIA)["id"]


# Schemathesis parametrizes at collection time, before any fixture runs, so the schemas are
# loaded eagerly and the server-dependent parts (base URL, live id) are filled in per test.
LIVE = LiveResource()


def use_live_ids(schema: Any) -> Any:
    """Half the generated path ids are the live resource's."""

    @schema.hook
    def before_generate_path_parameters(context: schemathesis.HookContext, strategy: Any) -> Any:
        return st.one_of(strategy, st.builds(lambda: {"id": LIVE.id}))

    schema.config.update(basic_auth=(USER, PASSWORD))
    # Documented answers to schema-valid requests: 304 to a matching If-None-Match, 406 to an
    # Accept header naming nothing we produce.
    schema.config.checks.positive_data_acceptance.expected_statuses = ["2xx", "304", "401", "403", "404", "406"]
    return schema


def served_document() -> dict[str, Any]:
    """The packaged document the server serves (a test below checks they are the same)."""
    text = importlib.resources.files("filters_server.api").joinpath("openapi.yaml").read_text("utf-8")
    return yaml.safe_load(text)


def published_document() -> dict[str, Any]:
    """The vendor's document as clients read it, given our Basic auth (servers: set per call)."""
    document = copy.deepcopy(yaml.safe_load(PUBLISHED_SPEC.read_text("utf-8")))
    document["servers"] = [{"url": "/api/dsio/filters/v1"}]
    document.setdefault("components", {})["securitySchemes"] = {"basicAuth": {"type": "http", "scheme": "basic"}}
    document["security"] = [{"basicAuth": []}]
    # The one deliberate difference: uploads carry "modalitySession": null, as the vendor's ASP.NET
    # service serializes an absent object; the published schema forgot to mark it nullable.
    document["components"]["schemas"]["ImageResource"]["properties"]["modalitySession"]["nullable"] = True
    return document


served = use_live_ids(schemathesis.openapi.from_dict(served_document()))
published = use_live_ids(schemathesis.openapi.from_dict(published_document()))


@pytest.fixture(scope="module")
def live(threaded_server: ThreadedServer) -> Iterator[LiveResource]:
    LIVE.start(threaded_server)
    yield LIVE
    LIVE.server = None


def is_png16(media: object) -> bool:
    data = media.data if isinstance(media, Binary) else media
    return isinstance(data, bytes) and data[:8] == b"\x89PNG\r\n\x1a\n" and data[24:26] == b"\x10\x00"


def skip_unsendable_parts(case: schemathesis.Case) -> schemathesis.Case:
    """Reject positive POST /images cases that are not what their label says.

    * Part names holding control characters: RFC 9110 field values cannot carry them, so
      such a part header is malformed HTTP (we answer 400), not a schema-valid request.
    * An ``imageInfo`` that is not an object: Schemathesis' coverage phase ("multipart body
      with custom encoding") sends an empty string there, which the schema does not allow.
    * Media that is not a 16-bit grayscale PNG: the coverage phase ignores the registered
      image/png strategy and sends its own 8-bit PNG (the description rules that out).
    * Extra parts the description gives a meaning to: another ``imageInfo``/``imageMedia`` in
      another case, a ``media`` part (the media part's other name) or a ``dicom`` part (with
      rules of its own), and more parts than --max-parts. The schema admits any extra part; the
      description says which are not just ignored. (Hypothesis draws property names from string
      constants in our own code, so such names come up.)
    """
    if (
        (case.operation.method.upper(), case.operation.path) == ("POST", "/images")
        and case.meta is not None
        and case.meta.generation.mode == GenerationMode.POSITIVE
        and isinstance(case.body, dict)
    ):
        extra = [name.lower() for name in case.body if name not in ("imageInfo", "imageMedia")]
        if (
            any(ord(char) < 0x20 or ord(char) == 0x7F for name in case.body for char in name)
            or not isinstance(case.body.get("imageInfo"), dict)
            or not is_png16(case.body.get("imageMedia"))
            or any(name in MEANINGFUL_PART_NAMES for name in extra)
            or len(case.body) > Settings().max_parts
        ):
            hypothesis.reject()
    return case


def origin(server: ThreadedServer) -> str:
    return server.base_url[: -len(server.base_path)]


def test_the_document_under_test_is_the_one_served(threaded_server: ThreadedServer) -> None:
    response = requests.get(f"{threaded_server.base_url}/openapi.yaml", headers={"Authorization": AUTH}, timeout=10)
    assert yaml.safe_load(response.text) == served_document()


@served.parametrize()
@SETTINGS
def test_served_document_holds_for_generated_requests(
    case: schemathesis.Case, live: LiveResource, threaded_server: ThreadedServer
) -> None:
    response = skip_unsendable_parts(case).call_and_validate(base_url=threaded_server.base_url, timeout=30)
    live.renew_if_deleted(case, response)


@published.parametrize()
@SETTINGS
def test_published_document_holds_for_generated_requests(
    case: schemathesis.Case, live: LiveResource, threaded_server: ThreadedServer
) -> None:
    response = skip_unsendable_parts(case).call_and_validate(
        base_url=threaded_server.base_url, timeout=30, checks=[not_a_server_error, response_schema_conformance]
    )
    live.renew_if_deleted(case, response)
