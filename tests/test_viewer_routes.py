"""The viewer's files: served from the package without credentials, with strict security headers."""

from __future__ import annotations

import hashlib
import importlib.resources
import re

import pytest

from filters_server.api.viewer_routes import SECURITY_HEADERS

from .conftest import BASE

VIEWER = importlib.resources.files("filters_server.api").joinpath("viewer")
FILES = sorted(entry.name for entry in VIEWER.iterdir() if entry.is_file())
TYPES = {"html": "text/html", "js": "text/javascript", "css": "text/css"}


def assert_secured(response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, name


def test_the_csp_allows_only_this_server_and_no_inline_code():
    policy = dict(part.strip().split(" ", 1) for part in SECURITY_HEADERS["Content-Security-Policy"].split(";"))
    assert policy["default-src"] == policy["script-src"] == policy["style-src"] == policy["connect-src"] == "'self'"
    assert (policy["frame-ancestors"], policy["base-uri"], policy["form-action"]) == ("'none'",) * 3


@pytest.mark.parametrize("name", FILES)
async def test_every_file_is_served_without_credentials_with_its_type_and_the_headers(anonymous, name):
    response = await anonymous.get(f"{BASE}/viewer/{name}")
    assert response.status == 200
    assert response.content_type == TYPES[name.rpartition(".")[2]]
    assert await response.read() == VIEWER.joinpath(name).read_bytes()
    assert_secured(response)


async def test_the_folder_url_serves_the_page(anonymous):
    response = await anonymous.get(f"{BASE}/viewer/")
    assert (response.status, response.content_type) == (200, "text/html")
    assert await response.read() == VIEWER.joinpath("index.html").read_bytes()
    assert_secured(response)


async def test_the_viewer_without_slash_redirects_to_the_folder(anonymous):
    response = await anonymous.get(f"{BASE}/viewer", allow_redirects=False)
    assert (response.status, response.headers["Location"]) == (301, f"{BASE}/viewer/")
    assert_secured(response)


@pytest.mark.parametrize("name", ["missing.js", "sub/main.js", "..%2Fopenapi.yaml", "main.js.map"])
async def test_a_file_the_viewer_does_not_have_is_404_with_the_headers(anonymous, name):
    response = await anonymous.get(f"{BASE}/viewer/{name}")
    assert (response.status, response.content_type) == (404, "application/problem+json")
    assert_secured(response)


async def test_a_file_the_browser_holds_is_answered_304(anonymous):
    first = await anonymous.get(f"{BASE}/viewer/main.js")
    again = await anonymous.get(f"{BASE}/viewer/main.js", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status == 304
    assert_secured(again)


async def test_an_operator_can_turn_the_viewer_off(aiohttp_client, make_app, storage):
    client = await aiohttp_client(make_app(storage, viewer=False))
    response = await client.get(f"{BASE}/viewer/")
    assert response.status == 401  # no such route: like any unknown API path, credentials first


def test_the_page_has_no_inline_script_or_style_and_loads_nothing_from_elsewhere():
    for name in FILES:
        text = VIEWER.joinpath(name).read_text("utf-8")
        assert not re.search(r"https?://", text), name
        if name.endswith(".html"):
            assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text)
            assert not re.search(r"<style|\sstyle=|\son[a-z]+=", text)


def test_the_viewer_code_and_assets_stay_under_300_kb():
    assert sum(len(VIEWER.joinpath(name).read_bytes()) for name in FILES) < 300 * 1024


def test_etags_name_the_content():
    # A changed file gets a new ETag, so browsers revalidating with no-cache never keep stale code.
    from filters_server.api.viewer_routes import ViewerFiles

    files = ViewerFiles().files
    assert files["main.js"][2].strip('"') == hashlib.sha256(files["main.js"][0]).hexdigest()[:32]


async def test_a_page_script_gets_401_without_the_basic_challenge(anonymous):
    response = await anonymous.get(f"{BASE}/images", headers={"X-Requested-With": "XMLHttpRequest"})
    assert (response.status, response.content_type) == (401, "application/problem+json")
    assert "WWW-Authenticate" not in response.headers


async def test_every_other_client_keeps_the_basic_challenge(anonymous):
    response = await anonymous.get(f"{BASE}/images", headers={"X-Requested-With": "something-else"})
    assert response.status == 401
    assert response.headers["WWW-Authenticate"] == 'Basic realm="dsio-filters", charset="UTF-8"'
