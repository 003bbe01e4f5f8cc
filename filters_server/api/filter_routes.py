"""Handlers of the Filters API: parse, look up the cache, run in the worker pool, respond.

A result is stored under its resource (``images/<id>/results/<name>``), so it
shares the resource's lifetime and goes with it on delete or expiry. Outputs
are deterministic, so a result's ETag is derived from the source media's ETag
and the canonical request: it is known before any work, a conditional repeat
costs nothing, and a recomputed result carries the same ETag.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from aiohttp import web
from marshmallow import Schema, validate

from backends import ObjectNotFound

from . import imaging, keys
from .images import lookup
from .jsonbody import read_json_body
from .media import Representation, serve
from .metrics import METRICS
from .negotiation import negotiate
from .problems import Problem
from .resources import Resource, media_key, result_key
from .schemas import FiniteFloat, LenientEnum, LenientSchema
from .workers import PoolSaturated

routes = web.RouteTableDef()

EXTENSIONS = {"image/png": "png", "image/tiff": "tiff", "image/jpeg": "jpg", "image/gif": "gif"}


class SelectFilterSchema(LenientSchema):
    enhancementMode = LenientEnum(imaging.SELECT_MODES, load_default="edgePro")


class SupremeFilterSchema(LenientSchema):
    task = LenientEnum(imaging.SUPREME_TASKS, load_default="general")
    sharpness = FiniteFloat(load_default=70.0, validate=validate.Range(min=0, max=100))


class AEFilterSchema(LenientSchema):
    task = LenientEnum(imaging.AE_TASKS, load_default="general")
    sharpness = FiniteFloat(load_default=70.0, validate=validate.Range(min=0, max=100))


class NoParameters(Schema):
    """unmap takes no body (the vendor SDK posts none); whatever is sent is ignored."""


# filter name -> (schema of its body, canonical body -> imaging.run_filter params)
FILTERS: dict[str, tuple[Schema, Callable[[dict[str, Any]], dict[str, Any]]]] = {
    "unmap": (NoParameters(), lambda body: {}),
    "select": (SelectFilterSchema(), lambda body: {"mode": body["enhancementMode"]}),
    "supreme": (SupremeFilterSchema(), lambda body: {"task": body["task"], "sharpness": body["sharpness"]}),
    "ae": (AEFilterSchema(), lambda body: {"task": body["task"], "sharpness": body["sharpness"]}),
}


async def read_parameters(request: web.Request, name: str) -> dict[str, Any]:
    """The filter's canonical parameters from the request body (absent body or fields: defaults)."""
    schema, to_params = FILTERS[name]
    if name == "unmap":
        return {}
    return to_params(await read_json_body(request, schema, f"{name} filter parameters", default={}))


def lut_of(resource: Resource) -> imaging.Lut:
    info = resource.image_info.get("lutInfo")
    if not info:
        raise Problem(400, "The resource's imageInfo has no lutInfo, so no filter can be applied.")
    lut = imaging.Lut(gamma=info["gamma"], slope=info["slope"], offset=info["offset"],
                      total_grays=info["totalGrays"], minimum_gray=info["minimumGray"],
                      maximum_gray=info["maximumGray"])
    try:
        imaging.check_lut(lut)
    except imaging.DegenerateLut as exc:
        raise Problem(400, f"The resource's imageInfo.lutInfo makes the map degenerate: {exc}.") from None
    return lut


def cache_name(name: str, params: dict[str, Any], media_type: str) -> str:
    canonical = json.dumps(params, sort_keys=True, separators=(",", ":"))
    digest = hashlib.blake2b(canonical.encode(), digest_size=8).hexdigest()
    return f"{name}-{digest}.{EXTENSIONS[media_type]}"


@routes.post(r"/images/{id}/filters/{name:unmap|select|supreme|ae}")
async def apply_filter(request: web.Request) -> web.StreamResponse:
    resource = await lookup(request)
    name = request.match_info["name"]
    params = await read_parameters(request, name)
    media_type = negotiate(request.headers.get("Accept"), imaging.OUTPUT_TYPES)
    if media_type is None:
        raise Problem(406, "None of the Accept header's types can be produced; available: "
                           + ", ".join(imaging.OUTPUT_TYPES) + ".")
    lut = lut_of(resource)
    index = request.app[keys.INDEX]
    storage = index.storage
    result = cache_name(name, params, media_type)
    key = result_key(resource.id, result)
    etag = hashlib.blake2b(f"{resource.media_etag}/{result}".encode(), digest_size=16).hexdigest()
    headers = {"Vary": "Accept"}

    metrics = request.app[METRICS]
    writing = request.app[keys.RESULTS_BEING_STORED].get(key)
    if writing is not None:  # a repeat that came before our own cache write finished
        metrics.cache.labels("hit").inc()
        return _answer(request, writing, media_type, etag, headers | {"X-Cache": "hit"})
    try:
        info = await storage.stat(key)
    except ObjectNotFound:
        info = None
    if info is not None:
        metrics.cache.labels("hit").inc()
        rep = Representation(storage, key, size=info.size, etag=etag, last_modified=info.last_modified,
                             content_type=media_type, extra_headers=headers | {"X-Cache": "hit"})
        try:
            return await serve(request, rep)
        except ObjectNotFound:  # deleted between stat and read
            raise Problem(404, "No image resource with this id exists (it was deleted meanwhile).") from None

    if _client_has(request, etag):  # deterministic results: no need to compute what it holds
        return web.Response(status=304, headers=headers | {"ETag": f'"{etag}"'})
    metrics.cache.labels("miss").inc()
    decoded = request.app[keys.DECODED]
    image = decoded.get(resource.id, resource.media_etag)
    source = None
    if image is None:
        try:
            source = await storage.get_bytes(media_key(resource.id))
        except ObjectNotFound:
            raise Problem(410, "The media of this image resource can no longer be read from storage.") from None
    try:
        image, output = await request.app[keys.WORKERS].run(
            _filter_job, name, source, image, lut, binned=resource.binned, params=params, media_type=media_type)
    except PoolSaturated:
        raise Problem(503, "All filter workers are busy; retry shortly.", headers={"Retry-After": "1"}) from None
    except ValueError as exc:  # undecodable stored media: the resource is unusable
        raise Problem(410, f"The media of this image resource cannot be decoded: {exc}.") from None
    decoded.put(resource.id, resource.media_etag, image)
    # The client gets its bytes now; the cache write (an fsync on local disk) finishes behind it,
    # and repeats meanwhile are answered from memory.
    request.app[keys.RESULTS_BEING_STORED][key] = output
    request.app[keys.BACKGROUND].spawn(_store_result(request.app, resource, key, output))
    return _answer(request, output, media_type, etag, headers | {"X-Cache": "miss"})


def _client_has(request: web.Request, etag: str) -> bool:
    """``If-None-Match`` names this result (or ``*``)."""
    return any(tag.strip().removeprefix("W/") in (f'"{etag}"', "*")
               for tag in request.headers.get("If-None-Match", "").split(","))


def _answer(request: web.Request, output: bytes, media_type: str, etag: str,
            headers: dict[str, str]) -> web.Response:
    if _client_has(request, etag):
        return web.Response(status=304, headers=headers | {"ETag": f'"{etag}"'})
    return web.Response(body=output, content_type=media_type,
                        headers=headers | {"ETag": f'"{etag}"', "Cache-Control": "private, no-cache"})


def _filter_job(name: str, source: bytes | None, image: Any, lut: imaging.Lut, **kwargs: Any) -> tuple[Any, bytes]:
    """One worker call: decode unless already decoded, then filter and encode."""
    if image is None:
        assert source is not None
        image = imaging.decode_png16(source)
    return image, imaging.filter_image(name, image, lut, **kwargs)


async def _store_result(app: web.Application, resource: Resource, key: str, output: bytes) -> None:
    index = app[keys.INDEX]
    try:
        await index.storage.put_bytes(key, output)
    finally:
        app[keys.RESULTS_BEING_STORED].pop(key, None)
    app[METRICS].bytes_stored.labels("result").inc(len(output))
    # A delete that ran meanwhile must not leave this result behind (invariant 2).
    try:
        await index.get(resource.owner, resource.id)
    except LookupError:
        await index.storage.delete(key)
