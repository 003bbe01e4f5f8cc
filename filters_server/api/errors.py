"""The one place where errors become HTTP answers: the error middleware and its table.

Every exception the domain raises (:mod:`filters_server.core.errors`, the PNG validator's
rejections, storage failures) is answered from :data:`ANSWERS` by its class, so a status code,
title or ``Retry-After`` is written once. Storage failures are answered by kind: unreachable or
failing storage (:class:`backends.StorageUnavailable`: refused connections, timeouts, 5xx,
throttling, a missing bucket, a call past ``--storage-timeout-seconds``) is 503 with
``Retry-After``, because it passes by itself; a full disk (:class:`backends.StorageFull`) is 507
with ``Retry-After``, because it passes once expired resources are swept; storage that answers
but refuses (any other :class:`backends.StorageError`, e.g. S3 AccessDenied) is 500 with one
ERROR log line, because retrying cannot help until an operator fixes the configuration.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.typedefs import Handler, Middleware

from backends import ObjectNotFound, StorageError, StorageFull, StorageUnavailable
from filters_server.api.problems import Problem, from_problem, problem_response
from filters_server.core import errors
from filters_server.core.pngcheck import ImageTooLarge, InvalidPng, UnsupportedImage
from filters_server.imaging import DicomAttributesRejected

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Answer:
    status: int
    detail: str | None = None  # None: the exception's own message; "{exc}" in it stands for that message
    title: str | None = None
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    log_level: int | None = None  # log one line (no traceback) at this level...
    log_hint: str = ""  # ...ending with this advice for the operator
    counts_as_storage_error: bool = False
    retry_after_of: Callable[[BaseException], int] | None = None  # a Retry-After that the exception knows


RETRY_SOON = {"Retry-After": "1"}
STORAGE_RETRY = {"Retry-After": "5"}

ANSWERS: dict[type[BaseException], Answer] = {
    errors.InvalidInput: Answer(400),
    DicomAttributesRejected: Answer(400, "The dicom part is not acceptable: {exc}."),
    errors.UnusableImageInfo: Answer(400),
    InvalidPng: Answer(400),
    errors.ResourceNotFound: Answer(404),
    errors.UpstreamNotFound: Answer(404),
    errors.BodyStalled: Answer(408, headers={"Connection": "close"}),
    errors.UploadTooSlow: Answer(408, headers={"Connection": "close"}),
    errors.LifetimeUsedUp: Answer(408),
    errors.MediaGone: Answer(410),
    errors.SessionEnded: Answer(410, title="Modality session ended"),
    errors.InputTooLarge: Answer(413),
    ImageTooLarge: Answer(413),
    errors.ImageTooLargeForMemory: Answer(413, title="Image too large for this server's memory budget"),
    UnsupportedImage: Answer(415),
    errors.NotConfigured: Answer(501),
    errors.UpstreamFailed: Answer(502),
    errors.PoolFull: Answer(503, headers=RETRY_SOON),
    errors.PixelMemoryBusy: Answer(503, headers=RETRY_SOON),
    # A full disk passes once the sweeper (or an operator) frees room: 507 says why, Retry-After when to retry.
    StorageFull: Answer(
        507,
        "The server's storage is full; retry later.",
        headers=STORAGE_RETRY,
        log_level=logging.WARNING,
        log_hint=" (free space on the storage disk, or lower --ttl-seconds)",
        counts_as_storage_error=True,
    ),
    errors.LoginThrottled: Answer(429, retry_after_of=lambda exc: getattr(exc, "retry_after", 1)),
    errors.AuthenticationBusy: Answer(503, headers=RETRY_SOON),
    StorageUnavailable: Answer(
        503,
        "Storage is temporarily unavailable; retry shortly.",
        headers=STORAGE_RETRY,
        log_level=logging.WARNING,
        counts_as_storage_error=True,
    ),
    StorageError: Answer(
        500,
        "The server's storage refused the request; retrying will not help until its configuration is fixed.",
        log_level=logging.ERROR,
        log_hint=" (not retryable: check the storage configuration, permissions and credentials)",
    ),
}


def answer_for(exc: BaseException) -> Answer | None:
    """The table's answer for ``exc``'s class or its nearest ancestor in the table."""
    for kind in type(exc).__mro__:
        answer = ANSWERS.get(kind)
        if answer is not None:
            return answer
    return None


def error_middleware(on_storage_error: Callable[[], object] | None = None) -> Middleware:
    """Turn every error into a problem document, whatever raised it."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except Problem as problem:
            return from_problem(problem)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            headers = {k: v for k, v in exc.headers.items() if k.lower() not in ("content-type", "content-length")}
            return problem_response(
                exc.status,
                exc.text if exc.text and not exc.text.startswith(str(exc.status)) else exc.reason,
                headers=headers,
            )
        except HttpProcessingError as exc:
            # Bytes aiohttp's parsers refuse while a handler reads the body: the client's fault, never 500.
            return problem_response(400, f"Malformed request: {(exc.message or type(exc).__name__).splitlines()[0]}.")
        except ObjectNotFound:  # absence is answered as 404/410 by the domain; one that escapes is a bug
            log.exception("unhandled error on %s %s", request.method, request.path)
            return problem_response(500, "The server failed to process the request.")
        except ConnectionResetError:  # pragma: no cover - the client went away: nobody to answer
            raise
        except Exception as exc:
            answer = answer_for(exc)
            if answer is None:
                log.exception("unhandled error on %s %s", request.method, request.path)
                return problem_response(500, "The server failed to process the request.")
            if answer.log_level is not None:
                log.log(
                    answer.log_level,
                    "%s %s: %s: %s%s",
                    request.method,
                    request.path,
                    type(exc).__name__,
                    exc,
                    answer.log_hint,
                )
            if answer.counts_as_storage_error and on_storage_error is not None:
                on_storage_error()
            detail = str(exc) if answer.detail is None else answer.detail.replace("{exc}", str(exc).rstrip("."))
            headers = dict(answer.headers)
            if answer.retry_after_of is not None:
                headers["Retry-After"] = str(answer.retry_after_of(exc))
            return problem_response(answer.status, detail, title=answer.title, headers=headers)

    return middleware
