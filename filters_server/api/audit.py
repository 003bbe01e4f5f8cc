"""The audit trail: one access record per request, with a request id the client can quote.

Who read which image, when, and what the server answered: request id, authenticated user (or
``-``), method, route template, resource id (the ``{id}`` of the path), status, response bytes,
duration and client address. Records go to the ``filters_server.access`` logger, text or JSON
(``--log-format``); the process's logging hands them to a thread (``filters_server.logsetup``), so
the event loop never writes a log line itself. :class:`AuditLog` replaces aiohttp's access logger,
so every request is recorded: 401s and errors included, as well as requests refused before routing.
"""

from __future__ import annotations

import logging
import os
import random
import re

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from filters_server.api.auth import USER_KEY
from filters_server.api.metrics import route_label

REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID_KEY = web.RequestKey("request_id", str)
CREATED_KEY = web.RequestKey("created_resource_id", str)  # set by the creating handlers: "who uploaded X"
ACCESS_LOGGER = "filters_server.access"
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
# The text line of an access record: its fields (AuditLog.log) in their order.
_MESSAGE = "%s %s %s %s id=%s %s %sB %.1fms from %s"
# Request ids come from a generator of their own, seeded from the OS: the module-level one belongs
# to whatever process hosts the server (a test suite running the in-process server seeds and replays
# it), and every request would move it on. A forked process (--processes) seeds its copy afresh.
_IDS = random.Random()
os.register_at_fork(after_in_child=_IDS.seed)


def request_id_of(request: web.Request) -> str:
    """The client's ``X-Request-ID`` if it is a sane token, else a new one."""
    offered = request.headers.get(REQUEST_ID_HEADER, "")
    # 128 random bits as 32 hex digits, like a uuid4 without its fixed bits. A correlation id is no
    # secret, and uuid4 asks the kernel for randomness on every request (a tenth of the CPU a
    # metadata request costs, measured).
    return offered if _SANE_REQUEST_ID.fullmatch(offered) else f"{_IDS.getrandbits(128):032x}"


async def send_request_id(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: every answer, streamed or raised, carries ``X-Request-ID``.

    The id is settled here rather than in a middleware (one layer less on every request); the
    access record, written after the answer, reads it from the request.
    """
    request_id = request[REQUEST_ID_KEY] = request_id_of(request)
    response.headers[REQUEST_ID_HEADER] = request_id


class AuditLog(AbstractAccessLogger):
    """aiohttp's access-logger hook, writing one structured record per request.

    Cheap by construction: nothing is formatted here (the record carries its fields, the
    handler thread formats them), and nothing at all is done when INFO is off for the logger.
    """

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        match_info = getattr(request, "_match_info", None)  # None for requests refused before routing
        fields = {
            "request_id": request.get(REQUEST_ID_KEY, "-"),
            "user": request.get(USER_KEY, "-"),
            "method": request.method,
            "route": route_label(request),
            "resource_id": request.get(CREATED_KEY) or (match_info.get("id", "-") if match_info is not None else "-"),
            "status": response.status,
            "bytes": _body_bytes(request, response),
            "duration_ms": round(time * 1000, 3),
            "remote": request.remote or "-",
        }
        # makeRecord + handle is what logger.info() does, minus its walk up the stack for the
        # caller's file and line, which no format of ours prints.
        record = self.logger.makeRecord(
            self.logger.name, logging.INFO, "", 0, _MESSAGE, tuple(fields.values()), None, extra={"audit": fields}
        )
        self.logger.handle(record)


def _body_bytes(request: web.BaseRequest, response: web.StreamResponse) -> int:
    """The answer's body size: its Content-Length (files sent with sendfile() are not counted
    by aiohttp's writer), else what the writer saw, headers included (streams without a length)."""
    if request.method == "HEAD" or response.status in (204, 304):
        return 0
    length = response.content_length
    return length if length is not None else response.body_length


def access_log_args() -> dict[str, object]:
    """Protocol-handler arguments that make :class:`AuditLog` the access logger of any runner."""
    return {"access_log_class": AuditLog, "access_log": logging.getLogger(ACCESS_LOGGER)}
