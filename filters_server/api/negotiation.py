"""Choosing the output format from ``Accept`` (RFC 9110 section 12.5.1), q-values honoured."""

from __future__ import annotations

from collections.abc import Sequence


def _parse(header: str) -> list[tuple[str, str, float]]:
    ranges = []
    for item in header.split(","):
        fields = [f.strip() for f in item.split(";")]
        kind = fields[0].lower()
        if "/" not in kind:
            continue
        main, _, sub = kind.partition("/")
        quality = 1.0
        for param in fields[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    quality = 0.0
        ranges.append((main, sub, quality))
    return ranges


def negotiate(accept: str | None, available: Sequence[str]) -> str | None:
    """The best of ``available`` (in the server's order of preference) for ``accept``; None: 406.

    No header, or one with no parseable media range, means anything (the first type).
    """
    if accept is None or not accept.strip():
        return available[0]
    ranges = _parse(accept)
    if not ranges:
        return available[0]
    best, best_q = None, 0.0
    for candidate in available:
        main, _, sub = candidate.partition("/")
        # The most specific matching range decides the candidate's quality.
        matches = [
            (specificity, q)
            for r_main, r_sub, q in ranges
            for specificity in [
                2
                if (r_main, r_sub) == (main, sub)
                else 1
                if (r_main, r_sub) == (main, "*")
                else 0
                if (r_main, r_sub) == ("*", "*")
                else -1
            ]
            if specificity >= 0
        ]
        if not matches:
            continue
        quality = max(matches)[1]
        if quality > best_q:
            best, best_q = candidate, quality
    return best
