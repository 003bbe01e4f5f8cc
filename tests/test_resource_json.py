"""The ImageResource document is encoded in parts cached per resource: the same bytes as encoding it whole."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from filters_server.core.resource import Resource

PLACEHOLDER_LOOKALIKE = "\0url\0"  # what the cache splits on, as a client could send it in imageInfo
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text() | st.just(PLACEHOLDER_LOOKALIKE),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)


def _resource(image_info: dict[str, Any], session: dict[str, str] | None = None) -> Resource:
    return Resource(
        id="2a5f7b35-917d-4a38-a7d3-d304fd67fbf9",
        owner="alice",
        created_on=1_700_000_000.0,
        expires=1_700_028_800.0,
        image_info=image_info,
        media_type="image/png",
        media_size=10,
        media_etag="e",
        width=2,
        height=3,
        modality_session=session,
    )


@given(st.dictionaries(st.text(max_size=8), json_values, max_size=4), st.text())
def test_the_document_is_the_json_of_the_representation(image_info: dict[str, Any], url: str) -> None:
    resource = _resource(image_info)
    assert resource.representation_json(url) == json.dumps(resource.representation(url)).encode()


def test_each_url_gets_its_own_document_from_one_resource() -> None:
    resource = _resource({"note": PLACEHOLDER_LOOKALIKE}, {"id": "s"})
    first = json.loads(resource.representation_json("http://a/media"))
    second = json.loads(resource.representation_json("https://b:8443/media"))
    assert (first["url"], second["url"]) == ("http://a/media", "https://b:8443/media")
    assert first["imageInfo"] == second["imageInfo"] == {"note": PLACEHOLDER_LOOKALIKE}
