"""RFC 9457 problem details: every error the API answers is ``application/problem+json``.

Storage failures that escape a handler are answered by kind: unreachable or
failing storage (:class:`StorageUnavailable`: refused connections, timeouts,
5xx, throttling, a missing bucket) is 503 with ``Retry-After``, because it
passes by itself; storage that answers but refuses (any other
:class:`StorageError`, e.g. S3 AccessDenied or missing credentials) is 500 with
one ERROR log line, because retrying cannot help until an operator fixes the
configuration. ``/readyz`` reports both as not ready.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from http import HTTPStatus

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from backends import ObjectNotFound, StorageError, StorageUnavailable

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Problem(Exception):
    """Raise from anywhere below a handler to answer with a problem document."""

    def __init__(self, status: int, detail: str, *, title: str | None = None,
                 headers: Mapping[str, str] | None = None, **extra: object) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title or HTTPStatus(status).phrase
        self.headers = dict(headers or {})
        self.extra = extra


def body_timeout_problem(seconds: float) -> Problem:
    """A client that stopped sending its body: 408, and the connection is not reused."""
    return Problem(408, f"No request body bytes arrived for {seconds:g} seconds.",
                   headers={"Connection": "close"})


def problem_response(status: int, detail: str, *, title: str | None = None,
                     headers: Mapping[str, str] | None = None, **extra: object) -> web.Response:
    body = {
        "type": "about:blank",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        **extra,
    }
    response = web.Response(status=status, body=json.dumps(body).encode(), content_type=PROBLEM_JSON,
                            headers=headers)
    return response


def from_problem(problem: Problem) -> web.Response:
    return problem_response(problem.status, problem.detail, title=problem.title,
                            headers=problem.headers, **problem.extra)


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every error into a problem document, whatever raised it."""
    try:
        return await handler(request)
    except Problem as problem:
        return from_problem(problem)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        headers = {k: v for k, v in exc.headers.items() if k.lower() not in ("content-type", "content-length")}
        return problem_response(exc.status, exc.text if exc.text and not exc.text.startswith(str(exc.status))
                                else exc.reason, headers=headers)
    except HttpProcessingError as exc:
        # Bytes aiohttp's parsers refuse while a handler reads the body: the client's fault, never 500.
        return problem_response(400, f"Malformed request: {(exc.message or type(exc).__name__).splitlines()[0]}.")
    except StorageUnavailable as exc:
        log.warning("storage unavailable: %s", exc)
        from .metrics import METRICS  # late: metrics imports this module

        if METRICS in request.app:
            request.app[METRICS].storage_errors.inc()
        return problem_response(503, "Storage is temporarily unavailable; retry shortly.",
                                headers={"Retry-After": "5"})
    except StorageError as exc:
        if isinstance(exc, ObjectNotFound):  # handlers turn absence into 404/410; one that escapes is a bug
            log.exception("unhandled error on %s %s", request.method, request.path)
        else:
            log.error("storage refused %s %s: %s (not retryable: check the storage configuration, "
                      "permissions and credentials)", request.method, request.path, exc)
        return problem_response(500, "The server's storage refused the request; retrying will not help "
                                     "until its configuration is fixed.")
    except ConnectionResetError:  # pragma: no cover - the client went away: nobody to answer
        raise
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return problem_response(500, "The server failed to process the request.")
