"""HTTP face of the simulator: the Modality API v1 routes (plus one simulator-only route).

Implemented (under the base path, Basic auth on all but ``GET {base}/``):

    GET    /devices                              GET /devices/{deviceId}
    GET    /devices/{deviceId}/sensor            GET /devices/{deviceId}/icon.png
    POST   /acquisition                          GET /acquisition[?deviceId=]
    GET    /acquisition/{sessionId}              PUT /acquisition/{sessionId}
    DELETE /acquisition/{sessionId}
    GET    /acquisition/{sessionId}/status
    GET    /acquisition/{sessionId}/info         PUT /acquisition/{sessionId}/info
    GET    /acquisition/{sessionId}/images
    GET    /acquisition/{sessionId}/images/{imageId}            ImageInfo
    GET    /acquisition/{sessionId}/images/{imageId}/media      16-bit grayscale PNG
    GET    /acquisition/{sessionId}/images/{imageId}/preview    8-bit JPEG thumbnail
    POST   /acquisition/{sessionId}/expose       simulator only: "press the x-ray button"

Not implemented: the two Server-Sent-Events subscriptions (poll ``/status`` instead).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import concurrent.futures
import hmac
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import cv2
import numpy as np
from aiohttp import web

from . import imaging, wire
from .state import Exposure, ImageRecord, Simulator, SimulatorError

__all__ = ["DEFAULT_BASE_PATH", "SIMULATOR", "create_app"]

DEFAULT_BASE_PATH = "/api/dsio/modality/v1"
REALM = "dsio-modality-simulator"

SIMULATOR = web.AppKey("simulator", Simulator)
_BASE_PATH = web.AppKey("base_path", str)
_USERS = web.AppKey("users", dict)
_EXECUTOR = web.AppKey("executor", concurrent.futures.Executor)
_AUTO_EXPOSE: web.AppKey[float | None] = web.AppKey("auto_expose")  # seconds, or None: never
_TASKS: web.AppKey[set[asyncio.Task[None]]] = web.AppKey("tasks")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def create_app(
    users: dict[str, str],
    *,
    seed: int = 0,
    base_path: str = DEFAULT_BASE_PATH,
    auto_expose: float | None = None,
    hash_alg: str = "SHA256",
) -> web.Application:
    """Build the simulator application.

    ``users`` maps user name to password for Basic auth. ``seed`` fixes ids and pixels.
    ``auto_expose``: seconds after AcquisitionInfo enables a session at which the simulator
    exposes by itself (as if someone pressed the x-ray button); None to expose only via the
    simulator-only ``POST .../expose`` route.
    """
    base = "/" + base_path.strip("/") if base_path.strip("/") else ""
    app = web.Application(middlewares=[_problem_middleware, _auth_middleware])
    app[SIMULATOR] = Simulator(seed, hash_alg=hash_alg)
    app[_BASE_PATH] = base
    app[_USERS] = dict(users)
    app[_AUTO_EXPOSE] = auto_expose
    app[_TASKS] = set()
    app.cleanup_ctx.append(_executor_ctx)
    app.on_shutdown.append(_cancel_tasks)

    r = app.router
    r.add_get(base + "/", _root)
    if base:
        r.add_get(base, _root)
    r.add_get(base + "/devices", _devices)
    r.add_get(base + "/devices/{deviceId}", _device)
    r.add_get(base + "/devices/{deviceId}/sensor", _sensor)
    r.add_get(base + "/devices/{deviceId}/icon.png", _icon)
    r.add_post(base + "/acquisition", _create_session)
    r.add_get(base + "/acquisition", _list_sessions)
    r.add_get(base + "/acquisition/{sessionId}", _get_session)
    r.add_put(base + "/acquisition/{sessionId}", _update_session)
    r.add_delete(base + "/acquisition/{sessionId}", _delete_session)
    r.add_get(base + "/acquisition/{sessionId}/status", _status)
    r.add_get(base + "/acquisition/{sessionId}/info", _get_info)
    r.add_put(base + "/acquisition/{sessionId}/info", _put_info)
    r.add_post(base + "/acquisition/{sessionId}/expose", _expose)
    r.add_get(base + "/acquisition/{sessionId}/images", _images)
    r.add_get(base + "/acquisition/{sessionId}/images/{imageId}", _image)
    r.add_get(base + "/acquisition/{sessionId}/images/{imageId}/media", _media)
    r.add_get(base + "/acquisition/{sessionId}/images/{imageId}/preview", _preview)
    return app


# Lifetimes ---------------------------------------------------------------------------------


async def _executor_ctx(app: web.Application) -> AsyncIterator[None]:
    # One worker: image synthesis is CPU-bound and must not starve the event loop's core.
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="sim-pixels") as pool:
        app[_EXECUTOR] = pool
        yield


async def _cancel_tasks(app: web.Application) -> None:
    pending = app[_TASKS]
    tasks = list(pending)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


# Middlewares -------------------------------------------------------------------------------


def _problem(status: int, title: str, detail: str, headers: dict[str, str] | None = None) -> web.Response:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return web.json_response(body, status=status, headers=headers, content_type="application/problem+json")


@web.middleware
async def _problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except SimulatorError as exc:
        return _problem(exc.status, exc.title, str(exc))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _problem(
            exc.status,
            exc.reason,
            exc.text or exc.reason,
            headers={k: v for k, v in exc.headers.items() if k.lower() in ("www-authenticate", "allow")},
        )


@web.middleware
async def _auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    base = request.app[_BASE_PATH]
    if request.path.rstrip("/") == base:  # the availability probe answers without credentials
        return await handler(request)
    if not _authorised(request.headers.get("Authorization", ""), request.app[_USERS]):
        raise web.HTTPUnauthorized(
            text="valid Basic credentials required", headers={"WWW-Authenticate": f'Basic realm="{REALM}"'}
        )
    return await handler(request)


def _authorised(header: str, users: dict[str, str]) -> bool:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, sep, password = base64.b64decode(value, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    expected = users.get(user)
    # Compare even for unknown users so timing does not reveal which names exist.
    ok = hmac.compare_digest(password.encode(), (expected or "\0").encode())
    return bool(sep) and expected is not None and ok


# Helpers -----------------------------------------------------------------------------------


def _sim(request: web.Request) -> Simulator:
    return request.app[SIMULATOR]


def _base_url(request: web.Request) -> str:
    return f"{request.url.origin()}{request.app[_BASE_PATH]}"


async def _json_body(request: web.Request) -> Any:
    try:
        return await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise web.HTTPBadRequest(text="request body is not valid JSON") from None


# Handlers ----------------------------------------------------------------------------------


async def _root(request: web.Request) -> web.Response:
    return web.json_response({"name": "DSIO Modality API simulator", "version": "1.0"})


async def _devices(request: web.Request) -> web.Response:
    sim, base = _sim(request), _base_url(request)
    return web.json_response([wire.device_info(sim, d, base) for d in sim.devices.values()])


async def _device(request: web.Request) -> web.Response:
    sim = _sim(request)
    device = sim.device(request.match_info["deviceId"])
    return web.json_response(wire.device_info(sim, device, _base_url(request)))


async def _sensor(request: web.Request) -> web.Response:
    return web.json_response(wire.sensor_info(_sim(request).device(request.match_info["deviceId"])))


async def _icon(request: web.Request) -> web.Response:
    _sim(request).device(request.match_info["deviceId"])
    return web.Response(body=_ICON, content_type="image/png")


async def _create_session(request: web.Request) -> web.Response:
    session = _sim(request).create_session(await _json_body(request))
    return web.json_response(wire.session_json(session), status=201)


async def _list_sessions(request: web.Request) -> web.Response:
    sessions = _sim(request).list_sessions(request.query.get("deviceId"))
    return web.json_response([wire.session_json(s) for s in sessions])


async def _get_session(request: web.Request) -> web.Response:
    return web.json_response(wire.session_json(_sim(request).session(request.match_info["sessionId"])))


async def _update_session(request: web.Request) -> web.Response:
    session = _sim(request).update_session(request.match_info["sessionId"], await _json_body(request))
    return web.json_response(wire.session_json(session))


async def _delete_session(request: web.Request) -> web.Response:
    _sim(request).delete_session(request.match_info["sessionId"])
    return web.Response(status=200)


async def _status(request: web.Request) -> web.Response:
    return web.json_response(wire.status_json(_sim(request).session(request.match_info["sessionId"])))


async def _get_info(request: web.Request) -> web.Response:
    session = _sim(request).session(request.match_info["sessionId"])
    return web.json_response(wire.acquisition_info(session.settings))


async def _put_info(request: web.Request) -> web.Response:
    session_id = request.match_info["sessionId"]
    sim = _sim(request)
    sim.session(session_id)  # 404 before 400, as the spec lists them
    settings = sim.set_acquisition_info(session_id, await _json_body(request))
    delay = request.app[_AUTO_EXPOSE]
    if settings.enable and delay is not None:
        task = asyncio.create_task(_auto_expose(request.app, session_id, float(delay)))
        request.app[_TASKS].add(task)
        task.add_done_callback(request.app[_TASKS].discard)
    return web.json_response(wire.acquisition_info(settings))


async def _expose(request: web.Request) -> web.Response:
    sim = _sim(request)
    session_id = request.match_info["sessionId"]
    record = await _run_exposure(request.app, sim.begin_exposure(session_id))
    if record is None:
        raise web.HTTPNotFound(text=f"session {session_id!r} was deleted during the exposure")
    return web.json_response(wire.image_info(sim, sim.session(session_id), record, _base_url(request)), status=201)


async def _images(request: web.Request) -> web.Response:
    sim, base = _sim(request), _base_url(request)
    session = sim.session(request.match_info["sessionId"])
    return web.json_response([wire.image_info(sim, session, img, base) for img in session.images.values()])


async def _image(request: web.Request) -> web.Response:
    sim = _sim(request)
    session_id, image_id = request.match_info["sessionId"], request.match_info["imageId"]
    record = sim.image(session_id, image_id)
    return web.json_response(wire.image_info(sim, sim.session(session_id), record, _base_url(request)))


async def _media(request: web.Request) -> web.Response:
    record = _sim(request).image(request.match_info["sessionId"], request.match_info["imageId"])
    return web.Response(body=record.png, content_type="image/png")


async def _preview(request: web.Request) -> web.Response:
    record = _sim(request).image(request.match_info["sessionId"], request.match_info["imageId"])
    return web.Response(body=record.preview, content_type="image/jpeg")


# Exposures ---------------------------------------------------------------------------------


async def _auto_expose(app: web.Application, session_id: str, delay: float) -> None:
    await asyncio.sleep(delay)
    session = app[SIMULATOR].sessions.get(session_id)
    if session is None or not session.ready:
        return  # deleted, disabled or already exposed by hand meanwhile
    await _run_exposure(app, app[SIMULATOR].begin_exposure(session_id))


async def _run_exposure(app: web.Application, exposure: Exposure) -> ImageRecord | None:
    sim = app[SIMULATOR]
    loop = asyncio.get_running_loop()
    try:
        developed = await loop.run_in_executor(app[_EXECUTOR], _develop, exposure, sim.hash_alg)
    except BaseException:
        sim.abort_exposure(exposure)
        raise
    return sim.finish_exposure(exposure, **developed)


def _develop(exposure: Exposure, hash_alg: str) -> dict[str, Any]:
    """Worker thread: synthesise, encode and hash one image (all the CPU work of an exposure)."""
    settings = exposure.settings
    image = imaging.render(
        exposure.device.sensor,
        binned=settings.binning == "Binned2x2",
        rotation=settings.rotation,
        apply_map=settings.apply_lut,
        seed=exposure.seed,
    )
    height, width = image.pixels.shape
    return {
        "width": width,
        "height": height,
        "bits_per_pixel": image.bits_per_pixel,
        "lut": image.lut,
        "exposure_value": image.exposure_value,
        "pixel_hash": imaging.pixel_hash(image.pixels, hash_alg),
        "png": imaging.encode_png16(image.pixels),
        "preview": imaging.encode_preview(image),
    }


def _make_icon() -> bytes:
    icon = np.zeros((32, 32), np.uint8)
    cv2.rectangle(icon, (6, 4), (25, 27), 200, -1)
    cv2.rectangle(icon, (14, 27), (17, 31), 200, -1)  # the cable exits south
    return cv2.imencode(".png", icon)[1].tobytes()


_ICON = _make_icon()
