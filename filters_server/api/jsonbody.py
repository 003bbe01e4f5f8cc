"""Reading small JSON documents from clients: one path for filter bodies, modality references
and the imageInfo part, so each gets the same limits, timeouts and 400/408/413 answers."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web
from marshmallow import Schema

from filters_server.api import appkeys as keys
from filters_server.api.problems import Problem
from filters_server.api.schemas import load_or_raise
from filters_server.core.errors import BodyStalled

REQUIRED: Any = object()  # default= for documents that must be present


def parse_json(
    raw: bytes, schema: Schema, what: str, *, charset: str | None = None, default: Any = REQUIRED
) -> dict[str, Any]:
    """``raw`` -> the schema's canonical data, or a 400 Problem naming the fault.

    With a ``default``, an empty body or JSON ``null`` stands for it (absent parameters).
    """
    if default is not REQUIRED and not raw.strip():
        document: Any = default
    else:
        try:
            document = json.loads(raw.decode(charset or "utf-8-sig"))
        except (UnicodeDecodeError, LookupError, json.JSONDecodeError) as exc:
            raise Problem(400, f"Not valid JSON in the {what}: {exc}.") from None
        except RecursionError:  # "[" x 100000: deeper than the parser's stack
            raise Problem(400, f"The {what} is nested too deeply.") from None
        except ValueError:  # an integer longer than Python converts (sys.get_int_max_str_digits())
            raise Problem(400, f"The {what} holds a number too long to be read.") from None
        if document is None and default is not REQUIRED:
            document = default
    try:
        return load_or_raise(schema, document, what)
    except ValueError as exc:
        raise Problem(400, str(exc)) from None  # marshmallow's messages are sentences already


async def read_json_body(request: web.Request, schema: Schema, what: str, *, default: Any = REQUIRED) -> dict[str, Any]:
    """The request body through :func:`parse_json`; 413 over ``--max-json-bytes``, 408 if it stalls."""
    timeout = request.app[keys.SETTINGS].body_timeout_seconds
    try:
        # One bound for the whole (small) body: a trickle cannot hold the handler.
        async with asyncio.timeout(timeout):
            raw = await request.read()
    except TimeoutError:
        raise BodyStalled(timeout) from None
    except web.HTTPRequestEntityTooLarge:
        raise Problem(413, f"The request body ({what}) exceeds the JSON size limit.") from None
    return parse_json(raw, schema, what, default=default)
