"""The application factory: wires settings, storage, index, sweeper and routes together."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib.resources
import logging
import time
from collections.abc import AsyncIterator, Iterable

from aiohttp import web

from backends import Storage, StorageError, open_storage

from . import __version__, filters, images, keys, modality_resources
from .auth import Credential, UsersAuth, parse_users, public, read_users_file
from .background import BackgroundTasks
from .config import Settings
from .decoded import DecodedImages
from .index import Clock, ResourceIndex, Sweeper
from .metrics import METRICS, Metrics, metrics_handler, metrics_middleware
from .modality import ModalityClient
from .problems import problem_middleware, problem_response
from .sessions import SessionWatch
from .workers import WorkerPool

log = logging.getLogger(__name__)


def load_users(settings: Settings) -> dict[str, Credential]:
    users = parse_users(settings.users)
    if settings.users_file:
        users.update(read_users_file(settings.users_file))
    return users


def create_app(settings: Settings | None = None, *, storage: Storage | None = None, clock: Clock | None = None,
               users: dict[str, Credential] | None = None,
               modality: ModalityClient | None = None) -> web.Application:
    """Build the server. ``storage``/``clock``/``users``/``modality`` override what ``settings`` name (tests).

    An injected ``modality`` client is started here but closed by whoever made it.
    """
    settings = settings or Settings()
    users = users if users is not None else load_users(settings)
    metrics = Metrics()
    app = web.Application(middlewares=[metrics_middleware(metrics), problem_middleware, UsersAuth(users)],
                          client_max_size=settings.max_json_bytes, handler_args=handler_args(settings))
    app[METRICS] = metrics
    app[keys.SETTINGS] = settings
    app[keys.CLOCK] = clock or time.time
    app[keys.STORAGE] = storage or open_storage(
        settings.storage, endpoint_url=settings.s3_endpoint_url, region=settings.s3_region,
        create_bucket=settings.s3_create_bucket)
    app[keys.INDEX] = ResourceIndex(app[keys.STORAGE], app[keys.CLOCK])
    app[keys.DECODED] = DecodedImages(settings.decoded_cache_bytes)
    app[keys.RESULTS_BEING_STORED] = {}
    app.cleanup_ctx.append(_storage_lifetime)
    app.cleanup_ctx.append(_sweeper_lifetime)
    app.cleanup_ctx.append(_workers_lifetime)
    if modality is not None or settings.modality_url:
        app.cleanup_ctx.append(functools.partial(_modality_lifetime, injected=modality))

    base = settings.base_path.rstrip("/")
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_handler)
    app.router.add_get(base + "/", service_root)
    if base:
        app.router.add_get(base, service_root)
    app.router.add_get(base + "/openapi.yaml", openapi_document)
    _add_routes(app, base, modality_resources.routes)
    _add_routes(app, base, images.routes)
    _add_routes(app, base, filters.routes)
    return app


def handler_args(settings: Settings) -> dict[str, float | int]:
    """Connection limits for aiohttp's protocol handler; any runner (run_app, TestServer) applies them.

    The keep-alive timer also runs while a connection has not finished its request headers,
    so a client trickling header bytes is cut off after it too.
    """
    return {
        "keepalive_timeout": settings.keepalive_timeout_seconds,
        "max_line_size": settings.max_request_line_bytes,
        "max_field_size": settings.max_header_bytes,
        "max_headers": settings.max_headers,
    }


def _add_routes(app: web.Application, prefix: str, table: Iterable[web.AbstractRouteDef]) -> None:
    for route in table:
        assert isinstance(route, web.RouteDef)
        if route.method == "GET":  # GET routes answer HEAD too
            app.router.add_get(prefix + route.path, route.handler, **route.kwargs)
        else:
            app.router.add_route(route.method, prefix + route.path, route.handler, **route.kwargs)


async def _storage_lifetime(app: web.Application) -> AsyncIterator[None]:
    storage = app[keys.STORAGE]
    await storage.start()
    await app[keys.INDEX].load()
    try:
        yield
    finally:
        await storage.close()


async def _sweeper_lifetime(app: web.Application) -> AsyncIterator[None]:
    sweeper = Sweeper(app[keys.INDEX], app[keys.SETTINGS].sweep_interval_seconds,
                      on_swept=app[METRICS].swept.inc)
    app[keys.SWEEPER] = sweeper
    task = asyncio.create_task(sweeper.run(), name="sweeper")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _workers_lifetime(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    pool = WorkerPool(settings.worker_count, settings.queue_depth)
    app[keys.WORKERS] = pool
    app[METRICS].watch_pool(pool)
    app[keys.BACKGROUND] = BackgroundTasks()
    yield
    await app[keys.BACKGROUND].drain()
    await asyncio.get_running_loop().run_in_executor(None, pool.shutdown)


async def _modality_lifetime(app: web.Application, *, injected: ModalityClient | None) -> AsyncIterator[None]:
    """One long-lived Modality API client (connection pool) for the life of the app."""
    settings = app[keys.SETTINGS]
    client = injected
    if client is None:
        assert settings.modality_url
        if settings.modality_insecure:
            log.warning("TLS certificates of the Modality API at %s are NOT verified (--modality-insecure)",
                        settings.modality_url)
        client = ModalityClient(
            settings.modality_url, user=settings.modality_user, password=settings.modality_password,
            verify_tls=not settings.modality_insecure, ca_file=settings.modality_ca_file,
            timeout=settings.modality_timeout_seconds)
    await client.start()
    app[keys.MODALITY] = client
    app[keys.SESSIONS] = SessionWatch(client, app[keys.CLOCK], settings.modality_session_check_seconds)
    try:
        yield
    finally:
        if injected is None:
            await client.close()


@public
async def service_root(request: web.Request) -> web.Response:
    """The vendor SDK's availability check: 200 without credentials."""
    base = request.app[keys.SETTINGS].base_path.rstrip("/")
    return web.json_response({
        "name": "dsio-filters-server",
        "description": "Dentsply Sirona Intraoral Filters API v1 (open implementation)",
        "apiVersion": "1.0",
        "version": __version__,
        "openapi": f"{base}/openapi.yaml",
    })


@public
async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


@public
async def readyz(request: web.Request) -> web.Response:
    try:
        await asyncio.wait_for(request.app[keys.STORAGE].ping(), timeout=5)
    except (StorageError, OSError, asyncio.TimeoutError) as exc:
        return problem_response(503, f"Storage is not reachable: {type(exc).__name__}.",
                                headers={"Retry-After": "5"})
    return web.json_response({"status": "ready"})


_OPENAPI_CACHE: dict[str, bytes] = {}


async def openapi_document(request: web.Request) -> web.Response:
    """The OpenAPI document of what this server really does, with its own base path."""
    base = request.app[keys.SETTINGS].base_path.rstrip("/")
    if base not in _OPENAPI_CACHE:
        text = importlib.resources.files("filters_server").joinpath("openapi.yaml").read_text("utf-8")
        _OPENAPI_CACHE[base] = text.replace("/api/dsio/filters/v1", base).encode()
    return web.Response(body=_OPENAPI_CACHE[base], content_type="application/yaml")
