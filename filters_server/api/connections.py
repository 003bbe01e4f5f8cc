"""A cap on open client connections, for every way the app is served (the CLI and the test server).

Each connection holds a file descriptor and some memory even while idle, so without a cap a
client opening tens of thousands of idle connections exhausts the process's descriptors and
even ``/healthz`` stops answering. Beyond ``--max-connections`` a new connection is answered a
minimal 503 problem at once and closed, before a byte of its request is read.

aiohttp has no such limit; its ``web.Server`` keeps the books of open connections
(``connection_made``/``connection_lost``, called by each connection's protocol), so the cap
wraps that method of the server an :class:`AppRunner` makes, the one place every connection
passes through.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_runner import GracefulExit

from filters_server.api import appkeys as keys
from filters_server.api.problems import PROBLEM_JSON

_BODY = json.dumps(
    {
        "type": "about:blank",
        "title": "Service Unavailable",
        "status": 503,
        "detail": "The server has too many open connections; retry shortly.",
    }
).encode()
REFUSAL = (
    b"HTTP/1.1 503 Service Unavailable\r\n"
    + f"Content-Type: {PROBLEM_JSON}\r\nContent-Length: {len(_BODY)}\r\n".encode()
    + b"Retry-After: 1\r\nConnection: close\r\n\r\n"
    + _BODY
)


log = logging.getLogger(__name__)


class ConnectionCap:
    """At most ``limit`` open connections on one ``web.Server``; more are answered 503 and closed."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.refused = 0

    def install(self, server: web.Server) -> None:
        admit = server.connection_made

        def connection_made(handler: RequestHandler, transport: asyncio.Transport) -> None:
            if len(server.connections) >= self.limit:
                self.refused += 1
                transport.write(REFUSAL)
                transport.pause_reading()  # not a byte of the request is read
                # Closed on the next turn of the loop, after the handler's own start-up (which expects a
                # live connection): then it ends as for a client that hung up at once. Never admitted,
                # its connection_lost leaves the books alone.
                asyncio.get_running_loop().call_soon(transport.close)
                return
            admit(handler, transport)

        setattr(server, "connection_made", connection_made)  # noqa: B010 - replaces a method on this instance


class CappedAppRunner(web.AppRunner):
    """An ``AppRunner`` whose server admits at most the app's ``--max-connections``."""

    def __init__(self, app: web.Application, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.cap = ConnectionCap(app[keys.SETTINGS].max_connections)

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        self.cap.install(server)
        return server


def run_app(app: web.Application, *, host: str, port: int, **site_options: Any) -> None:
    """Serve ``app`` until SIGINT or SIGTERM: ``web.run_app``, with the connection cap."""
    try:
        asyncio.run(_serve(app, host=host, port=port, **site_options))
    except (GracefulExit, KeyboardInterrupt):
        pass


async def _serve(app: web.Application, *, host: str, port: int, **site_options: Any) -> None:
    runner = CappedAppRunner(app, handle_signals=True, access_log=site_options.pop("access_log", None))
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port, **site_options).start()
        log.info("listening on %s:%d", host, port)
        await asyncio.Event().wait()  # until a signal raises GracefulExit out of the loop
    finally:
        await runner.cleanup()
