"""The served OpenAPI document is valid and in step with the routes the server really has."""

from __future__ import annotations

import yaml
from openapi_spec_validator import validate

from filters_server.imaging import FILTER_NAMES

from .conftest import BASE


async def served_document(client) -> dict:
    response = await client.get(f"{BASE}/openapi.yaml")
    assert response.status == 200
    return yaml.safe_load(await response.text())


async def test_the_served_document_is_valid_openapi(client):
    validate(await served_document(client))


async def test_every_api_route_is_documented_with_its_methods(client, app):
    documented = {
        (method.upper(), BASE + path.rstrip("/") if path != "/" else BASE + "/")
        for path, item in (await served_document(client))["paths"].items()
        for method in item
        if method in ("get", "post", "delete", "put", "patch")
    }
    served = set()
    for route in app.router.routes():
        path = route.resource.canonical if route.resource else ""
        if not path.startswith(BASE) or route.method == "HEAD" or path == BASE:
            continue
        if path.startswith(BASE + "/viewer"):  # the browser viewer's static files are a web page, not API
            continue
        # One route serves every filter; the document lists each filter's path.
        names = FILTER_NAMES if "{name}" in path else ("",)
        served |= {(route.method, path.replace("{name}", name)) for name in names}
    assert served == documented


async def test_the_document_names_the_configured_base_path(aiohttp_client, make_app, storage):
    from .conftest import ALICE

    client = await aiohttp_client(make_app(storage, base_path="/filters"), headers=ALICE)
    response = await client.get("/filters/openapi.yaml")
    assert yaml.safe_load(await response.text())["servers"][0]["url"] == "/filters"
