"""Handlers of the Filters API: parse the request, negotiate the output, answer it.

Answering (cache, ETags, 304) is :mod:`filters_server.api.result_responses`; the cache itself
(keys, computing in the worker pool, storing behind the answer) is :mod:`filters_server.core.results`.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from marshmallow import Schema, validate

from filters_server import imaging
from filters_server.api.jsonbody import read_json_body
from filters_server.api.negotiation import negotiate
from filters_server.api.problems import Problem
from filters_server.api.resource_lookup import lookup
from filters_server.api.result_responses import answer_output
from filters_server.api.schemas import FiniteFloat, LenientEnum, LenientSchema
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
    return await answer_output(request, resource, name, params, media_type)
