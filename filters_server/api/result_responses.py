"""Answering a computed output (a filter result, or the media re-encoded, e.g. as DICOM).

One path for both: look in the result cache, serve a stored result like media (ranges,
conditional requests), answer 304 to a client that holds the derived ETag, else compute.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from backends import ObjectNotFound
from filters_server.api import appkeys as keys
from filters_server.api.media import Representation, serve
from filters_server.api.metrics import METRICS
from filters_server.api.ranges import none_match
from filters_server.core.errors import ResourceNotFound
from filters_server.core.resource import Resource


async def answer_output(
    request: web.Request, resource: Resource, name: str, params: Mapping[str, Any], media_type: str
) -> web.StreamResponse:
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
        except ObjectNotFound:  # deleted between stat and read: with its resource, or evicted alone
            if not await results.index.exists(resource):
                raise ResourceNotFound("No image resource with this id exists (it was deleted meanwhile).") from None
            # Evicted by the result bounds (core/result_bounds.py): computed again below.

    if _client_has(request, job.etag):  # deterministic results: no need to compute what it holds
        return web.Response(status=304, headers=headers | {"ETag": f'"{job.etag}"'})
    outcome.labels("miss").inc()
    output = await results.compute(job)
    return _answer(request, output, media_type, job.etag, headers | {"X-Cache": "miss"})


def _client_has(request: web.Request, etag: str) -> bool:
    """``If-None-Match`` names this result (or ``*``); the same weak comparison as for media."""
    return none_match(request.headers.get("If-None-Match"), f'"{etag}"')


def _answer(request: web.Request, output: bytes, media_type: str, etag: str, headers: dict[str, str]) -> web.Response:
    if _client_has(request, etag):
        return web.Response(status=304, headers=headers | {"ETag": f'"{etag}"'})
    return web.Response(
        body=output,
        content_type=media_type,
        headers=headers | {"ETag": f'"{etag}"', "Cache-Control": "private, no-cache"},
    )
