"""Handlers of the Filters API: parse the request, ask the result cache, respond.

The cache itself (keys, ETags, computing in the worker pool, storing behind the answer) is
:mod:`filters_server.core.results`.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from marshmallow import Schema, validate

from backends import ObjectNotFound
from filters_server import imaging
from filters_server.api import appkeys as keys
from filters_server.api.jsonbody import read_json_body
from filters_server.api.media import Representation, serve
from filters_server.api.metrics import METRICS
from filters_server.api.negotiation import negotiate
from filters_server.api.problems import Problem
from filters_server.api.resource_lookup import lookup
from filters_server.api.schemas import FiniteFloat, LenientEnum, LenientSchema
from filters_server.core.errors import ResourceNotFound
from filters_server.imaging import params as defaults

routes = web.RouteTableDef()


class SelectFilterSchema(LenientSchema):
    enhancementMode = LenientEnum(imaging.SELECT_MODES, load_default=defaults.DEFAULT_SELECT_MODE)


class SupremeFilterSchema(LenientSchema):
    task = LenientEnum(imaging.SUPREME_TASKS, load_default=defaults.DEFAULT_TASK)
    sharpness = FiniteFloat(load_default=defaults.DEFAULT_SHARPNESS, validate=validate.Range(min=0, max=100))


class AEFilterSchema(LenientSchema):
    task = LenientEnum(imaging.AE_TASKS, load_default=defaults.DEFAULT_TASK)
    sharpness = FiniteFloat(load_default=defaults.DEFAULT_SHARPNESS, validate=validate.Range(min=0, max=100))


# Filters that take a body: its schema. unmap takes none (the vendor SDK posts none; whatever is sent is ignored).
BODY_SCHEMAS: dict[str, Schema] = {
    "select": SelectFilterSchema(),
    "supreme": SupremeFilterSchema(),
    "ae": AEFilterSchema(),
}


async def read_parameters(request: web.Request, name: str) -> dict[str, Any]:
    """The filter's canonical parameters (``imaging.filter_image`` keywords); absent body or fields: defaults."""
    schema = BODY_SCHEMAS.get(name)
    if schema is None:
        return {}
    body = await read_json_body(request, schema, f"{name} filter parameters", default={})
    if name == "select":
        return {"mode": body["enhancementMode"]}
    return {"task": body["task"], "sharpness": body["sharpness"]}


@routes.post(r"/images/{id}/filters/{name:unmap|select|supreme|ae}")
async def apply_filter(request: web.Request) -> web.StreamResponse:
    resource = await lookup(request)
    name = request.match_info["name"]
    params = await read_parameters(request, name)
    media_type = negotiate(request.headers.get("Accept"), imaging.OUTPUT_TYPES)
    if media_type is None:
        raise Problem(
            406,
            "None of the Accept header's types can be produced; available: " + ", ".join(imaging.OUTPUT_TYPES) + ".",
        )
    results = request.app[keys.RESULTS]
    job = results.job(resource, name, params, media_type)
    headers = {"Vary": "Accept"}
    outcome = request.app[METRICS].cache

    cached = await results.find(job)
    if cached is not None and cached.body is not None:  # a repeat that came before our cache write finished
        outcome.labels("hit").inc()
        return _answer(request, cached.body, job.media_type, job.etag, headers | {"X-Cache": "hit"})
    if cached is not None and cached.stored is not None:
        outcome.labels("hit").inc()
        rep = Representation(
            results.index.storage,
            job.key,
            size=cached.stored.size,
            etag=job.etag,
            last_modified=cached.stored.last_modified,
            content_type=media_type,
            extra_headers=headers | {"X-Cache": "hit"},
        )
        try:
            return await serve(request, rep)
        except ObjectNotFound:  # deleted between stat and read
            raise ResourceNotFound("No image resource with this id exists (it was deleted meanwhile).") from None

    if _client_has(request, job.etag):  # deterministic results: no need to compute what it holds
        return web.Response(status=304, headers=headers | {"ETag": f'"{job.etag}"'})
    outcome.labels("miss").inc()
    output = await results.compute(job)
    return _answer(request, output, media_type, job.etag, headers | {"X-Cache": "miss"})


def _client_has(request: web.Request, etag: str) -> bool:
    """``If-None-Match`` names this result (or ``*``)."""
    return any(
        tag.strip().removeprefix("W/") in (f'"{etag}"', "*")
        for tag in request.headers.get("If-None-Match", "").split(",")
    )


def _answer(request: web.Request, output: bytes, media_type: str, etag: str, headers: dict[str, str]) -> web.Response:
    if _client_has(request, etag):
        return web.Response(status=304, headers=headers | {"ETag": f'"{etag}"'})
    return web.Response(
        body=output,
        content_type=media_type,
        headers=headers | {"ETag": f'"{etag}"', "Cache-Control": "private, no-cache"},
    )
