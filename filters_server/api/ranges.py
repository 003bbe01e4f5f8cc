"""HTTP conditional and range requests (RFC 9110 sections 13 and 14), decided in one pure function.

The media handler asks :func:`plan` what to answer, then streams exactly that
from whichever backend holds the bytes, so every backend behaves alike. We do
this ourselves because aiohttp's ``FileResponse`` honours ``Range`` under a
stale ``If-Range`` ETag and answers 416 to any multi-range request.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime


@dataclasses.dataclass(frozen=True)
class Plan:
    status: int  # 200, 206, 304 or 416
    ranges: tuple[tuple[int, int], ...] = ()  # [start, end) pieces for 206


def http_date(seconds: float) -> str:
    return format_datetime(datetime.fromtimestamp(int(seconds), tz=UTC), usegmt=True)


def _parse_date(value: str) -> float | None:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _etags(header: str) -> list[str]:
    """Entity tags in a list header, with W/ prefixes kept."""
    return [tag.strip() for tag in header.split(",") if tag.strip()]


def _weak_match(tag: str, etag: str) -> bool:
    return tag == "*" or tag.removeprefix("W/") == etag.removeprefix("W/")


def none_match(header: str | None, etag: str) -> bool:
    """``If-None-Match`` names ``etag`` (quoted) or ``*``, by weak comparison: the client holds it."""
    return header is not None and any(_weak_match(tag, etag) for tag in _etags(header))


# RFC 9110 puts no bound on the digits of a position. A position of more than 18 digits lies beyond
# the end of anything this server stores, so it is read as this number instead of being converted
# (Python refuses to convert integers of more than 4300 digits, and slowly converts shorter ones).
_BEYOND_ANY_END = 10**18
_MAX_DIGITS = 18


def _position(digits: str) -> int:
    return _BEYOND_ANY_END if len(digits) > _MAX_DIGITS else int(digits)


def _is_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()  # str.isdigit alone admits "²" and other non-ASCII digits


def parse_range(header: str, size: int) -> list[tuple[int, int]] | None:
    """Satisfiable [start, end) ranges; None if the header is malformed (then it is ignored).

    An empty list means syntactically valid but nothing satisfiable (416). Positions are read as
    RFC 9110 section 14.1.2 says whatever their length: a last-pos beyond the end means "to the
    end", a first-pos beyond the end is unsatisfiable, a suffix longer than the representation
    means all of it.
    """
    unit, sep, spec = header.partition("=")
    if not sep or unit.strip().lower() != "bytes":
        return None
    result: list[tuple[int, int]] = []
    specs = spec.split(",")
    if len(specs) > 1000:  # parsing itself stays bounded whatever max_ranges is
        return None
    for item in specs:
        first, dash, last = item.strip().partition("-")
        first, last = first.strip(), last.strip()
        if not dash or (first and not _is_digits(first)) or (last and not _is_digits(last)) or not (first or last):
            return None
        if not first:  # suffix: the last N bytes
            length = _position(last)
            if length > 0 and size > 0:
                result.append((max(0, size - length), size))
            continue
        start = _position(first)
        end = size if not last else _position(last) + 1
        if last and _position(last) < start:
            return None
        if start < size:
            result.append((start, min(end, size)))
    return result


def _coalesce(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def plan(
    method: str, headers: Mapping[str, str], *, etag: str, last_modified: float, size: int, max_ranges: int
) -> Plan:
    """Decide the answer to a GET or HEAD of a representation. ``etag`` is quoted.

    More than ``max_ranges`` ranges get the whole file: no amplification.
    """
    if_none_match = headers.get("If-None-Match")
    if if_none_match is not None:
        if none_match(if_none_match, etag):
            return Plan(304)
    elif (since := headers.get("If-Modified-Since")) is not None:
        stamp = _parse_date(since)
        if stamp is not None and int(last_modified) <= stamp:
            return Plan(304)

    range_header = headers.get("Range")
    if range_header is None or method not in ("GET", "HEAD"):
        return Plan(200)
    if_range = headers.get("If-Range")
    if if_range is not None:
        if_range = if_range.strip()
        if if_range.startswith(('"', "W/")):
            # Strong comparison: a weak tag never matches.
            if if_range.startswith("W/") or if_range != etag:
                return Plan(200)
        elif _parse_date(if_range) != float(int(last_modified)):
            return Plan(200)

    ranges = parse_range(range_header, size)
    if ranges is None:
        return Plan(200)
    if not ranges:
        return Plan(416)
    merged = _coalesce(ranges)
    if len(ranges) > max_ranges or len(merged) > max_ranges:
        return Plan(200)
    if len(ranges) > 1 and merged == [(0, size)]:
        return Plan(200)  # many pieces that add up to the whole: just send it
    return Plan(206, tuple(merged))
