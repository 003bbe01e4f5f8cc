"""The application factory: wires settings, storage, index, sweeper, workers and routes together."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
import time
from collections.abc import AsyncIterator, Iterable

from aiohttp import web

from backends import Storage, open_storage
from filters_server.api import appkeys as keys
from filters_server.api import filter_routes, image_routes, listing_routes, modality_routes
from filters_server.api.audit import access_log_args, send_request_id
from filters_server.api.auth import UsersAuth
from filters_server.api.errors import error_middleware
from filters_server.api.metrics import METRICS, Metrics, metrics_handler, metrics_middleware
from filters_server.api.service_routes import add_service_routes
from filters_server.api.viewer_routes import add_viewer_routes
from filters_server.clients.modality import ModalityClient
from filters_server.config import Settings
from filters_server.core.authentication import Authenticator
from filters_server.core.background import BackgroundTasks
from filters_server.core.decoded import DecodedImages
from filters_server.core.index import Clock, ResourceIndex
from filters_server.core.pixel_budget import PixelBudget
from filters_server.core.removals import Removals
from filters_server.core.result_bounds import ResultBounds
from filters_server.core.results import ResultCache
from filters_server.core.sessions import SessionWatch
from filters_server.core.sweeper import Sweeper
from filters_server.core.throttle import LoginThrottle
from filters_server.core.users import Credential, parse_users, read_users_file
from filters_server.core.workers import WorkerPool

log = logging.getLogger(__name__)


def load_users(settings: Settings) -> dict[str, Credential]:
    users = parse_users(settings.users)
    if settings.users_file:
        users.update(read_users_file(settings.users_file))
    return users


def create_app(
    settings: Settings | None = None,
    *,
    storage: Storage | None = None,
    clock: Clock | None = None,
    users: dict[str, Credential] | None = None,
    modality: ModalityClient | None = None,
    removals: Removals | None = None,
) -> web.Application:
    """Build the server. ``storage``/``clock``/``users``/``modality`` override what ``settings`` name (tests).

    An injected ``modality`` client is started here but closed by whoever made it. ``removals``: the
    count of removals this process shares with the others on its store (``--processes``).
    """
    settings = settings or Settings()
    users = users if users is not None else load_users(settings)
    authenticator = make_authenticator(settings, users)
    metrics = Metrics()
    app = web.Application(
        middlewares=[
            metrics_middleware(metrics),
            error_middleware(metrics.storage_errors.inc),
            UsersAuth(authenticator),
        ],
        client_max_size=settings.max_json_bytes,
        handler_args=handler_args(settings),
    )
    app.on_response_prepare.append(send_request_id)
    app[METRICS] = metrics
    app[keys.SETTINGS] = settings
    app[keys.CLOCK] = clock or time.time
    app[keys.STORAGE] = storage or open_storage(
        settings.storage,
        endpoint_url=settings.s3_endpoint_url,
        region=settings.s3_region,
        create_bucket=settings.s3_create_bucket,
        shared=settings.processes > 1,
        timeout=settings.storage_timeout_seconds,
        min_free_bytes=settings.min_free_bytes,
    )
    app[keys.INDEX] = ResourceIndex(app[keys.STORAGE], app[keys.CLOCK], removals)
    app[keys.AUTHENTICATOR] = authenticator
    app.cleanup_ctx.append(_users_lifetime)
    app.cleanup_ctx.append(_storage_lifetime)
    app.cleanup_ctx.append(_sweeper_lifetime)
    app.cleanup_ctx.append(_workers_lifetime)
    if modality is not None or settings.modality_url:
        app.cleanup_ctx.append(functools.partial(_modality_lifetime, injected=modality))

    base = settings.base_path.rstrip("/")
    add_service_routes(app, base)
    app.router.add_get("/metrics", metrics_handler)
    _add_routes(app, base, modality_routes.routes)
    _add_routes(app, base, image_routes.routes)
    _add_routes(app, base, listing_routes.routes)
    _add_routes(app, base, filter_routes.routes)
    if settings.viewer:
        add_viewer_routes(app, base)
    return app


def make_authenticator(settings: Settings, users: dict[str, Credential]) -> Authenticator:
    throttle = LoginThrottle(
        per_user=settings.auth_max_failures_per_user,
        per_address=settings.auth_max_failures_per_address,
        window=settings.auth_failure_window_seconds,
    )
    return Authenticator(
        users,
        throttle=throttle,
        hash_threads=settings.auth_hash_threads,
        queue_depth=settings.auth_queue_depth,
        cache_size=settings.auth_cache_size,
        cache_seconds=settings.auth_cache_seconds,
    )


async def reload_users(app: web.Application) -> bool:
    """Read the users again (SIGHUP); a file that cannot be used keeps the table in force."""
    settings = app[keys.SETTINGS]
    try:
        users = await asyncio.get_running_loop().run_in_executor(None, load_users, settings)
        app[keys.AUTHENTICATOR].replace_users(users)
    except (OSError, ValueError) as exc:
        log.error("users NOT reloaded from %s, the previous users stay in force: %s", settings.users_file, exc)
        return False
    log.info("users reloaded from %s: %d users", settings.users_file, len(users))
    return True


async def _users_lifetime(app: web.Application) -> AsyncIterator[None]:
    """SIGHUP reloads --users-file without a restart, where the platform has signals."""
    loop = asyncio.get_running_loop()
    reloads: set[asyncio.Task[bool]] = set()

    def on_sighup() -> None:
        task = loop.create_task(reload_users(app), name="reload-users")
        reloads.add(task)
        task.add_done_callback(reloads.discard)

    watching = False
    if app[keys.SETTINGS].users_file and hasattr(signal, "SIGHUP"):
        try:
            loop.add_signal_handler(signal.SIGHUP, on_sighup)
            watching = True
        except (NotImplementedError, RuntimeError, ValueError):  # no signals here (Windows, not the main thread)
            log.info("SIGHUP cannot be handled here: users are read once at start")
    try:
        yield
    finally:
        if watching:
            loop.remove_signal_handler(signal.SIGHUP)
        for task in list(reloads):
            task.cancel()
        app[keys.AUTHENTICATOR].close()


def handler_args(settings: Settings) -> dict[str, object]:
    """Connection limits and the audit log for aiohttp's protocol handler; any runner (run_app,
    TestServer) applies them.

    The keep-alive timer also runs while a connection has not finished its request headers,
    so a client trickling header bytes is cut off after it too.
    """
    return {
        "keepalive_timeout": settings.keepalive_timeout_seconds,
        "max_line_size": settings.max_request_line_bytes,
        "max_field_size": settings.max_header_bytes,
        "max_headers": settings.max_headers,
        **access_log_args(),
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
    sweeper = Sweeper(app[keys.INDEX], app[keys.SETTINGS].sweep_interval_seconds, on_swept=app[METRICS].swept.inc)
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
    background = app[keys.BACKGROUND] = BackgroundTasks()
    pixels = app[keys.PIXELS] = PixelBudget(settings.max_decoded_bytes)
    bounds = ResultBounds(
        app[keys.INDEX].storage,
        per_image=settings.max_results_bytes_per_image,
        total=settings.max_results_bytes,
        on_evicted=app[METRICS].results_evicted.inc,
    )
    await bounds.load()
    app[keys.INDEX].discard_listeners.append(bounds.forget_resource)
    app[METRICS].watch_results(bounds)
    app[keys.RESULTS] = ResultCache(
        app[keys.INDEX],
        DecodedImages(settings.decoded_cache_bytes),
        pool,
        background,
        on_stored=app[METRICS].bytes_stored.labels("result").inc,
        pixels=pixels,
        bounds=bounds,
    )
    yield
    await background.drain()
    await asyncio.get_running_loop().run_in_executor(None, pool.shutdown)


async def _modality_lifetime(app: web.Application, *, injected: ModalityClient | None) -> AsyncIterator[None]:
    """One long-lived Modality API client (connection pool) for the life of the app."""
    settings = app[keys.SETTINGS]
    client = injected
    if client is None:
        assert settings.modality_url
        if settings.modality_insecure:
            log.warning(
                "TLS certificates of the Modality API at %s are NOT verified (--modality-insecure)",
                settings.modality_url,
            )
        client = ModalityClient(
            settings.modality_url,
            user=settings.modality_user,
            password=settings.modality_password,
            verify_tls=not settings.modality_insecure,
            ca_file=settings.modality_ca_file,
            timeout=settings.modality_timeout_seconds,
        )
    await client.start()
    app[keys.MODALITY] = client
    app[keys.SESSIONS] = SessionWatch(client, app[keys.CLOCK], settings.modality_session_check_seconds)
    try:
        yield
    finally:
        if injected is None:
            await client.close()
