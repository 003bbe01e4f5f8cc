"""The service's own routes: the API root (the vendor SDK's availability check), health probes,
and the OpenAPI document of what this server really does."""

from __future__ import annotations

import asyncio
import functools
import importlib.resources

from aiohttp import web

from backends import StorageError
from filters_server import __version__
from filters_server.api import appkeys as keys
from filters_server.api.auth import public
from filters_server.api.problems import problem_response

READY_TIMEOUT_SECONDS = 5.0


@public
async def service_root(request: web.Request) -> web.Response:
    """The vendor SDK's availability check: 200 without credentials."""
    base = request.app[keys.SETTINGS].base_path.rstrip("/")
    return web.json_response(
        {
            "name": "dsio-filters-server",
            "description": "Dentsply Sirona Intraoral Filters API v1 (open implementation)",
            "apiVersion": "1.0",
            "version": __version__,
            "openapi": f"{base}/openapi.yaml",
        }
    )


@public
async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


@public
async def readyz(request: web.Request) -> web.Response:
    try:
        await asyncio.wait_for(request.app[keys.STORAGE].ping(), timeout=READY_TIMEOUT_SECONDS)
    except (TimeoutError, StorageError, OSError) as exc:
        return problem_response(503, f"Storage is not reachable: {type(exc).__name__}.", headers={"Retry-After": "5"})
    return web.json_response({"status": "ready"})


@functools.lru_cache(maxsize=8)
def _openapi_bytes(base: str) -> bytes:
    text = importlib.resources.files("filters_server.api").joinpath("openapi.yaml").read_text("utf-8")
    return text.replace("/api/dsio/filters/v1", base).encode()


async def openapi_document(request: web.Request) -> web.Response:
    """The OpenAPI document of what this server really does, with its own base path."""
    base = request.app[keys.SETTINGS].base_path.rstrip("/")
    return web.Response(body=_openapi_bytes(base), content_type="application/yaml")


def add_service_routes(app: web.Application, base: str) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get(base + "/", service_root)
    if base:
        app.router.add_get(base, service_root)
    app.router.add_get(base + "/openapi.yaml", openapi_document)
