"""Typed errors: one class per answer a caller may want to handle, each carrying the problem+json.

Every error is a :class:`FiltersError`. HTTP answers carry ``status``, ``title``, ``detail`` and
the whole ``problem`` document; transport failures (:class:`ConnectionFailed`, :class:`Timeout`)
have ``status`` None.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


class FiltersError(Exception):
    """Base of every error this client raises."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        title: str | None = None,
        detail: str | None = None,
        problem: Mapping[str, Any] | None = None,
        method: str | None = None,
        url: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.detail = detail
        self.problem: dict[str, Any] = dict(problem or {})
        self.method = method
        self.url = url
        self.retry_after = retry_after  # seconds the server asked to wait (503, 429), if it said


class ClientRequestError(FiltersError):
    """A 4xx answer: the request was wrong (or not allowed) and retrying it as is will not help."""


class BadRequest(ClientRequestError):
    """400: bad body, bad ImageInfo, degenerate LUT."""


class Unauthorized(ClientRequestError):
    """401: missing or wrong credentials."""


class Forbidden(ClientRequestError):
    """403."""


class NotFound(ClientRequestError):
    """404: unknown, expired or another user's resource."""


class MethodNotAllowed(ClientRequestError):
    """405."""


class NotAcceptable(ClientRequestError):
    """406: the server cannot produce the requested output format."""


class RequestTimeout(ClientRequestError):
    """408: the server waited too long for the request body."""


class Gone(ClientRequestError):
    """410: the media vanished from storage, or the modality session ended."""


class PayloadTooLarge(ClientRequestError):
    """413: body over the server's upload limit, or image over its pixel limit."""


class UnsupportedMedia(ClientRequestError):
    """415: not a 16-bit grayscale PNG, or not multipart."""


class RangeNotSatisfiable(ClientRequestError):
    """416."""


class TooManyRequests(ClientRequestError):
    """429 (retried by the client, honouring ``Retry-After``; raised when retries run out)."""


class ServerError(FiltersError):
    """A 5xx answer."""


class NotImplementedByServer(ServerError):
    """501: e.g. modality resources on a server without ``--modality-url``."""


class BadGateway(ServerError):
    """502: the Modality API failed."""


class ServiceUnavailable(ServerError):
    """503: storage down or every filter worker busy (retried; raised when retries run out)."""


class TransportError(FiltersError):
    """The request got no (complete) answer."""


class ConnectionFailed(TransportError):
    """Could not connect, or the connection broke."""


class TLSError(ConnectionFailed):
    """The TLS handshake failed (certificate not trusted?): never retried."""


class Timeout(TransportError, TimeoutError):
    """Connecting or reading took longer than the configured timeout."""


class ProtocolError(FiltersError):
    """The server answered something this client cannot read (e.g. JSON expected, HTML received)."""


_BY_STATUS: dict[int, type[FiltersError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    405: MethodNotAllowed,
    406: NotAcceptable,
    408: RequestTimeout,
    410: Gone,
    413: PayloadTooLarge,
    415: UnsupportedMedia,
    416: RangeNotSatisfiable,
    429: TooManyRequests,
    501: NotImplementedByServer,
    502: BadGateway,
    503: ServiceUnavailable,
}


def error_class(status: int) -> type[FiltersError]:
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    return ServerError if status >= 500 else ClientRequestError


def from_answer(
    status: int,
    reason: str | None,
    content_type: str,
    body: bytes,
    *,
    method: str,
    url: str,
    retry_after: float | None = None,
) -> FiltersError:
    """The error for an HTTP answer; reads problem+json (or any JSON object), else the text body."""
    problem: dict[str, Any] = {}
    if "json" in content_type:
        try:
            parsed = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            parsed = None
        if isinstance(parsed, dict):
            problem = parsed
    title = problem.get("title") if isinstance(problem.get("title"), str) else reason
    detail = problem.get("detail") if isinstance(problem.get("detail"), str) else None
    if not problem and body:
        detail = body[:500].decode("utf-8", "replace").strip() or None
    message = f"{status} {title or ''}".strip() + (f": {detail}" if detail else "") + f" ({method} {url})"
    return error_class(status)(
        message,
        status=status,
        title=title,
        detail=detail,
        problem=problem,
        method=method,
        url=url,
        retry_after=retry_after,
    )
