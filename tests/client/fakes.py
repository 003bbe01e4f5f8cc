"""A stand-in server for answers the real one never gives on demand (429, 500, HTML, silence)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from aiohttp import web
from aiohttp.test_utils import TestServer

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def problem(status: int, detail: str, headers: dict[str, str] | None = None) -> web.Response:
    body = {"type": "about:blank", "title": f"Status {status}", "status": status, "detail": detail}
    return web.Response(status=status, body=json.dumps(body), content_type="application/problem+json", headers=headers)


@asynccontextmanager
async def fake_server(routes: dict[tuple[str, str], Handler]) -> AsyncIterator[tuple[str, list[str]]]:
    """(base URL, log of "METHOD path" received) of a server answering ``routes`` under ``/api``."""
    log: list[str] = []

    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        log.append(f"{request.method} {request.path}")
        return await handler(request)

    app = web.Application(middlewares=[record])
    for (method, path), handler in routes.items():
        app.router.add_route(method, "/api" + path, handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("/api")), log
    finally:
        await server.close()


def answer(status: int, headers: dict[str, str] | None = None) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        await request.read()
        return problem(status, f"fake {status}", headers)

    return handler


def stalled(release: asyncio.Event) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        await release.wait()
        return web.Response(text="late")

    return handler
