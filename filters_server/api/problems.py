"""RFC 9457 problem details: every error the API answers is ``application/problem+json``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from http import HTTPStatus

from aiohttp import web

PROBLEM_JSON = "application/problem+json"


class Problem(Exception):
    """An answer decided in the API layer itself (406, 415 not multipart, ...): raise it below a handler.

    Everything the domain decides is a :class:`filters_server.core.errors.DomainError`, mapped by
    the table in :mod:`filters_server.api.errors`.
    """

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        title: str | None = None,
        headers: Mapping[str, str] | None = None,
        **extra: object,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title or HTTPStatus(status).phrase
        self.headers = dict(headers or {})
        self.extra = extra


def as_sentence(text: str) -> str:
    """``text`` ending with exactly one full stop, whatever its parts ended with.

    Details are assembled from many sources (the PNG validator, marshmallow, aiohttp's reasons,
    messages of other services), some ending with a full stop and some without: one rule here.
    """
    text = text.rstrip()
    return text.rstrip(".") + "." if text else text


def problem_response(
    status: int, detail: str, *, title: str | None = None, headers: Mapping[str, str] | None = None, **extra: object
) -> web.Response:
    body = {
        "type": "about:blank",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": as_sentence(detail),
        **extra,
    }
    return web.Response(status=status, body=json.dumps(body).encode(), content_type=PROBLEM_JSON, headers=headers)


def from_problem(problem: Problem) -> web.Response:
    return problem_response(
        problem.status, problem.detail, title=problem.title, headers=problem.headers, **problem.extra
    )
